#include "cli/metrics_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>

namespace mirrorfs::cli {
namespace {

using Clock = std::chrono::steady_clock;

int connect_to(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ADD_FAILURE() << "connect to port " << port << ": " << strerror(errno);
  }
  return fd;
}

// Reads until the peer closes, or `ms` pass; "<timeout>" is appended then.
std::string read_all(int fd, int ms) {
  std::string out;
  const auto until = Clock::now() + std::chrono::milliseconds(ms);
  for (;;) {
    const int left =
        static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                             until - Clock::now())
                             .count());
    pollfd p{fd, POLLIN, 0};
    if (left <= 0 || ::poll(&p, 1, left) <= 0) return out + "<timeout>";
    char buf[4096];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

std::string request(uint16_t port, const std::string& req, int ms = 3000) {
  const int fd = connect_to(port);
  EXPECT_EQ(::send(fd, req.data(), req.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(req.size()));
  std::string out = read_all(fd, ms);
  ::close(fd);
  return out;
}

std::string get(uint16_t port, const std::string& path) {
  return request(port, "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n");
}

class MetricsServerTest : public ::testing::Test {
 protected:
  void start(MetricsServerOptions opt = {}) {
    opt.host = "127.0.0.1";
    opt.port = 0;
    Result<std::unique_ptr<MetricsServer>> s = MetricsServer::bind(opt);
    ASSERT_TRUE(s.is_ok()) << s.status().to_string();
    server_ = std::move(*s);
    ASSERT_TRUE(server_
                    ->start([this] {
                      ++scrapes_;
                      return std::string("m_total 7\n");
                    })
                    .is_ok());
  }
  std::unique_ptr<MetricsServer> server_;
  std::atomic<int> scrapes_{0};
};

TEST_F(MetricsServerTest, MetricsAnswers200WithTheExposition) {
  start();
  const std::string r = get(server_->port(), "/metrics");
  EXPECT_EQ(r.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << r;
  EXPECT_NE(r.find("Content-Type: text/plain; version=0.0.4"),
            std::string::npos)
      << r;
  EXPECT_NE(r.find("\r\n\r\nm_total 7\n"), std::string::npos) << r;
  EXPECT_EQ(r.find("<timeout>"), std::string::npos)
      << "the server must close after answering";
  EXPECT_EQ(scrapes_.load(), 1);
}

TEST_F(MetricsServerTest, OtherPathsAre404AndOtherMethods405) {
  start();
  EXPECT_EQ(get(server_->port(), "/").rfind("HTTP/1.1 404", 0), 0u);
  EXPECT_EQ(get(server_->port(), "/metricsx").rfind("HTTP/1.1 404", 0), 0u);
  const std::string post =
      request(server_->port(),
              "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(post.rfind("HTTP/1.1 405", 0), 0u) << post;
  EXPECT_EQ(scrapes_.load(), 0);
}

TEST_F(MetricsServerTest, OversizedRequestIsRejected) {
  MetricsServerOptions opt;
  opt.max_request_bytes = 1024;
  start(opt);
  const std::string big =
      "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(4000, 'a') +
      "\r\n\r\n";
  const std::string r = request(server_->port(), big);
  EXPECT_EQ(r.rfind("HTTP/1.1 431", 0), 0u) << r.substr(0, 200);
  EXPECT_EQ(scrapes_.load(), 0);
  // Still serving.
  EXPECT_EQ(get(server_->port(), "/metrics").rfind("HTTP/1.1 200", 0), 0u);
}

TEST_F(MetricsServerTest, SilentClientDoesNotBlockAScrapeAndIsDropped) {
  MetricsServerOptions opt;
  opt.timeout = std::chrono::milliseconds(500);
  start(opt);
  const int idle = connect_to(server_->port());
  ASSERT_TRUE(::send(idle, "GET /met", 8, MSG_NOSIGNAL) ==
              8);  // and then nothing
  const auto t0 = Clock::now();
  EXPECT_EQ(get(server_->port(), "/metrics").rfind("HTTP/1.1 200", 0), 0u);
  EXPECT_LT(Clock::now() - t0, std::chrono::milliseconds(400));
  // The idle one is closed at its deadline, unanswered.
  EXPECT_EQ(read_all(idle, 3000), "");
  EXPECT_GE(Clock::now() - t0, std::chrono::milliseconds(400));
  ::close(idle);
}

TEST_F(MetricsServerTest, BusyAddressFailsAtBindNamingIt) {
  start();
  MetricsServerOptions opt;
  opt.host = "127.0.0.1";
  opt.port = server_->port();
  Result<std::unique_ptr<MetricsServer>> again = MetricsServer::bind(opt);
  ASSERT_FALSE(again.is_ok());
  EXPECT_NE(
      again.status().message().find("127.0.0.1:" + std::to_string(opt.port)),
      std::string::npos)
      << again.status().message();
  EXPECT_NE(again.status().message().find("in use"), std::string::npos)
      << again.status().message();
}

}  // namespace
}  // namespace mirrorfs::cli
