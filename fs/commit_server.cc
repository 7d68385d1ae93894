#include "fs/commit_server.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "fs/log.h"

namespace mirrorfs::fs {
namespace {

// Owns a descriptor until released.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  int release() {
    const int f = fd;
    fd = -1;
    return f;
  }
};

}  // namespace

Result<std::unique_ptr<CommitServer>> CommitServer::start(
    const std::string& state_dir, CommitFn commit) {
  Fd dir{::open(state_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC)};
  if (dir.fd < 0) return Status::from_errno(errno, "open " + state_dir);
  // A socket left by a mount that was killed (REQUIRES says none is
  // alive).
  if (::unlinkat(dir.fd, db::kMountSocketName, 0) < 0 && errno != ENOENT) {
    return Status::from_errno(errno, "remove stale " + state_dir + "/" +
                                         db::kMountSocketName);
  }
  const std::string addr = db::mount_socket_address(dir.fd);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::memcpy(sa.sun_path, addr.c_str(), addr.size() + 1);  // < 40 bytes

  Fd sock{::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  if (sock.fd < 0) return Status::from_errno(errno, "socket");
  // Only the mount's owner may ask (the directory is 0700 too): the mode
  // is set on the socket before bind gives it a name.
  (void)::fchmod(sock.fd, 0600);
  if (::bind(sock.fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0) {
    return Status::from_errno(errno, "bind " + state_dir + "/" +
                                         db::kMountSocketName);
  }
  if (::fchmodat(dir.fd, db::kMountSocketName, 0600, 0) < 0 ||
      ::listen(sock.fd, 16) < 0) {
    const Status st = Status::from_errno(errno, "listen on " + state_dir +
                                                    "/" + db::kMountSocketName);
    (void)::unlinkat(dir.fd, db::kMountSocketName, 0);
    return st;
  }
  Fd stop{::eventfd(0, EFD_CLOEXEC)};
  if (stop.fd < 0) {
    (void)::unlinkat(dir.fd, db::kMountSocketName, 0);
    return Status::from_errno(errno, "eventfd");
  }
  std::unique_ptr<CommitServer> s(new CommitServer(
      dir.release(), sock.release(), stop.release(), std::move(commit)));
  s->thread_ = std::thread([p = s.get()] { p->run(); });
  return s;
}

CommitServer::CommitServer(int dir_fd, int listen_fd, int stop_fd,
                           CommitFn commit)
    : dir_fd_(dir_fd),
      listen_fd_(listen_fd),
      stop_fd_(stop_fd),
      commit_(std::move(commit)) {}

CommitServer::~CommitServer() {
  const uint64_t one = 1;
  (void)::write(stop_fd_, &one, sizeof one);
  if (thread_.joinable()) thread_.join();
  // Readers from now on find no socket: no mount to wait for.
  (void)::unlinkat(dir_fd_, db::kMountSocketName, 0);
  ::close(listen_fd_);
  ::close(stop_fd_);
  ::close(dir_fd_);
}

void CommitServer::run() {
  for (;;) {
    pollfd fds[2] = {{stop_fd_, POLLIN, 0}, {listen_fd_, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      log_error(Status::from_errno(errno, "commit socket: poll").to_string());
      return;
    }
    if (fds[0].revents != 0) return;
    if (fds[1].revents == 0) continue;
    const int conn = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (conn < 0) continue;  // the client went away meanwhile, or EMFILE
    serve(conn);
    ::close(conn);
  }
}

// One request, one commit, one reply.
void CommitServer::serve(int conn) {
  timeval tv{1, 0};
  (void)::setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  (void)::setsockopt(conn, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  uint8_t req[db::kCommitRequestSize];
  size_t got = 0;
  while (got < sizeof req) {
    const ssize_t r = ::read(conn, req + got, sizeof req - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += static_cast<size_t>(r);
  }
  if (got == 0) return;  // a probe, or a client that gave up
  const Status st = db::decode_commit_request(req, got);
  if (!st.is_ok()) {
    log_error("commit socket: " + st.to_string() + "; connection closed");
    return;
  }
  uint8_t reply[db::kCommitReplySize];
  db::encode_commit_reply(commit_(), reply);
  (void)::send(conn, reply, sizeof reply, MSG_NOSIGNAL);
}

}  // namespace mirrorfs::fs
