#include "replicator/tcp_bytes.h"

#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>

namespace mirrorfs::replicator {

bool tcp_bytes(int fd, uint64_t* sent_acked, uint64_t* received) {
  *sent_acked = *received = 0;
  struct tcp_info info {};
  socklen_t len = sizeof info;
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return false;
  if (len < offsetof(struct tcp_info, tcpi_bytes_received) +
                sizeof info.tcpi_bytes_received) {
    return false;
  }
  *sent_acked = info.tcpi_bytes_acked;
  *received = info.tcpi_bytes_received;
  return true;
}

}  // namespace mirrorfs::replicator
