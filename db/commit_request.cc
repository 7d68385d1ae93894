#include "db/commit_request.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/coding.h"

namespace mirrorfs::db {
namespace {

constexpr uint8_t kRequestMagic[4] = {'M', 'F', 'C', 'R'};
constexpr uint8_t kReplyMagic[4] = {'M', 'F', 'C', 'A'};

// Closes a descriptor on every path out.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

Status check_header(const uint8_t* in, size_t n, size_t want,
                    const uint8_t magic[4], const char* what) {
  if (n != want) {
    return Status::corrupt(std::string(what) + ": " + std::to_string(n) +
                           " bytes, expected " + std::to_string(want));
  }
  if (std::memcmp(in, magic, 4) != 0) {
    return Status::corrupt(std::string(what) + ": bad magic");
  }
  if (in[4] != kCommitVersion) {
    return Status::corrupt(std::string(what) + ": unknown version " +
                           std::to_string(in[4]));
  }
  return Status::ok();
}

// Reads exactly n bytes unless the peer closes first; returns the count
// read, or -1 with errno set.
ssize_t read_full(int fd, uint8_t* p, size_t n) {
  size_t got = 0;
  while (got < n) {
    const ssize_t r = ::read(fd, p + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -1;
    if (r == 0) break;
    got += static_cast<size_t>(r);
  }
  return static_cast<ssize_t>(got);
}

}  // namespace

void encode_commit_request(uint8_t out[kCommitRequestSize]) {
  std::memset(out, 0, kCommitRequestSize);
  std::memcpy(out, kRequestMagic, 4);
  out[4] = kCommitVersion;
}

Status decode_commit_request(const uint8_t* in, size_t n) {
  MIRRORFS_RETURN_IF_ERROR(check_header(in, n, kCommitRequestSize,
                                        kRequestMagic, "commit request"));
  if (in[5] != 0 || in[6] != 0 || in[7] != 0) {
    return Status::corrupt("commit request: reserved bytes are not zero");
  }
  return Status::ok();
}

void encode_commit_reply(const CommitReply& r, uint8_t out[kCommitReplySize]) {
  std::memset(out, 0, kCommitReplySize);
  std::memcpy(out, kReplyMagic, 4);
  out[4] = kCommitVersion;
  out[5] = static_cast<uint8_t>(r.status);
  put_be(out + 8, r.seq, 8);
}

Result<CommitReply> decode_commit_reply(const uint8_t* in, size_t n) {
  MIRRORFS_RETURN_IF_ERROR(
      check_header(in, n, kCommitReplySize, kReplyMagic, "commit reply"));
  if (in[5] > static_cast<uint8_t>(CommitStatus::kNotJournaling)) {
    return Status::corrupt("commit reply: unknown status " +
                           std::to_string(in[5]));
  }
  if (in[6] != 0 || in[7] != 0) {
    return Status::corrupt("commit reply: reserved bytes are not zero");
  }
  CommitReply r;
  r.status = static_cast<CommitStatus>(in[5]);
  r.seq = get_be(in + 8, 8);
  return r;
}

std::string mount_socket_address(int state_dir_fd) {
  return "/proc/self/fd/" + std::to_string(state_dir_fd) + "/" +
         kMountSocketName;
}

Result<CommitOutcome> request_commit(const std::string& state_dir,
                                     const CommitRequestOptions& opt) {
  Fd dir{::open(state_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC)};
  if (dir.fd < 0) {
    return Status::from_errno(errno, "open state directory " + state_dir);
  }
  const std::string addr = mount_socket_address(dir.fd);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (addr.size() >= sizeof sa.sun_path) {
    return Status::internal("socket address too long: " + addr);
  }
  std::memcpy(sa.sun_path, addr.c_str(), addr.size() + 1);

  Fd sock{::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  if (sock.fd < 0) return Status::from_errno(errno, "socket");
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(opt.timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((opt.timeout.count() % 1000) * 1000);
  (void)::setsockopt(sock.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  (void)::setsockopt(sock.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (::connect(sock.fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0) {
    // No socket: no mount ever ran here or it exited cleanly; refused: a
    // mount that was killed left its socket behind.
    if (errno == ENOENT || errno == ECONNREFUSED) return CommitOutcome{};
    return Status::from_errno(errno, "connect " + state_dir + "/" +
                                         kMountSocketName);
  }
  uint8_t req[kCommitRequestSize];
  encode_commit_request(req);
  if (::send(sock.fd, req, sizeof req, MSG_NOSIGNAL) !=
      static_cast<ssize_t>(sizeof req)) {
    return Status::from_errno(errno, "send commit request");
  }
  uint8_t buf[kCommitReplySize];
  const ssize_t n = read_full(sock.fd, buf, sizeof buf);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      return Status(Code::kIoError,
                    "the mount did not answer the commit request within " +
                        std::to_string(opt.timeout.count()) + " ms",
                    ETIMEDOUT);
    }
    return Status::from_errno(errno, "read commit reply");
  }
  MIRRORFS_ASSIGN_OR_RETURN(reply,
                            decode_commit_reply(buf, static_cast<size_t>(n)));
  return CommitOutcome{true, reply};
}

}  // namespace mirrorfs::db
