// Bytes a TCP socket carried, from the kernel (TCP_INFO): payload sent
// and acknowledged by the peer, and payload received. Kept apart from the
// Asio code because it needs <linux/tcp.h>, which clashes with the
// <netinet/tcp.h> Asio includes.
#pragma once

#include <cstdint>

namespace mirrorfs::replicator {

// False (and zeros) if fd is not a TCP socket or the kernel is too old.
bool tcp_bytes(int fd, uint64_t* sent_acked, uint64_t* received);

}  // namespace mirrorfs::replicator
