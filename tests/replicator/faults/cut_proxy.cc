#include "tests/replicator/faults/cut_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace mirrorfs::replicator::testing {
namespace {

sockaddr_in loopback(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

}  // namespace

std::unique_ptr<CutProxy> CutProxy::start(uint16_t target, std::string* error) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a = loopback(0);
  socklen_t len = sizeof a;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(fd, 16) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    *error = std::string("proxy cannot listen: ") + std::strerror(errno);
    if (fd >= 0) ::close(fd);
    return nullptr;
  }
  return std::unique_ptr<CutProxy>(new CutProxy(fd, ntohs(a.sin_port), target));
}

CutProxy::CutProxy(int listen_fd, uint16_t port, uint16_t target)
    : listen_fd_(listen_fd), port_(port), target_(target) {
  acceptor_ = std::thread([this] { accept_loop(); });
}

CutProxy::~CutProxy() {
  stop_ = true;
  acceptor_.join();
  ::close(listen_fd_);
  std::vector<std::thread> relays;
  {
    std::lock_guard lock(mu_);
    relays.swap(threads_);
  }
  for (std::thread& t : relays) t.join();
}

void CutProxy::cut_next(std::vector<uint64_t> after_bytes) {
  std::lock_guard lock(mu_);
  cuts_ = std::move(after_bytes);
}

void CutProxy::accept_loop() {
  while (!stop_.load()) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    const int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    const int server = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const sockaddr_in a = loopback(target_);
    if (server < 0 || ::connect(server, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) {
      ::close(client);  // the target is away: so is the relay
      if (server >= 0) ::close(server);
      continue;
    }
    std::lock_guard lock(mu_);
    uint64_t cut = 0;
    if (!cuts_.empty()) {
      cut = cuts_.front();
      cuts_.erase(cuts_.begin());
    }
    threads_.emplace_back([this, client, server, cut] { relay(client, server, cut); });
  }
}

// One thread per direction, each blocking read then send, so a full
// buffer one way never stalls the other. Stopping (or the cut) shuts both
// sockets down, which wakes both threads.
void CutProxy::relay(int a, int b, uint64_t cut_after) {
  std::atomic<uint64_t> passed{0};
  std::atomic<bool> cut{false};
  auto pump = [&](int from, int to) {
    char buf[16384];
    for (;;) {
      pollfd p{from, POLLIN, 0};
      if (stop_.load()) break;
      if (::poll(&p, 1, 100) == 0) continue;
      size_t want = sizeof buf;
      if (cut_after != 0) {
        const uint64_t done = passed.load();
        if (done >= cut_after) break;
        want = std::min<uint64_t>(want, cut_after - done);
      }
      const ssize_t r = ::read(from, buf, want);
      if (r <= 0 || ::send(to, buf, static_cast<size_t>(r), MSG_NOSIGNAL) != r) break;
      relayed_ += static_cast<uint64_t>(r);
      if (cut_after != 0 && passed.fetch_add(static_cast<uint64_t>(r)) + r >= cut_after) {
        if (!cut.exchange(true)) ++cuts_done_;
        break;
      }
    }
    ::shutdown(a, SHUT_RDWR);
    ::shutdown(b, SHUT_RDWR);
  };
  std::thread back([&] { pump(b, a); });
  pump(a, b);
  back.join();
  ::close(a);
  ::close(b);
}

}  // namespace mirrorfs::replicator::testing
