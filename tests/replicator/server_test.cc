// serve's answer to what breaks the protocol after the handshake
// (docs/protocol.md, "Limits and violations"): Error with id 0 naming the
// problem, then the connection closes; a ClientSession reports that
// message as why its session ended. A real mirror in this process.
#include "replicator/server.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "replicator/client_session.h"
#include "replicator/wire/codec.h"
#include "tests/replicator/in_process_serve.h"
#include "tests/replicator/raw_client.h"

namespace mirrorfs::replicator::testing {
namespace {

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(serve_.status().is_ok()) << serve_.status().to_string();
  }

  std::unique_ptr<RawClient> raw(uint64_t capabilities = 0) {
    Result<std::unique_ptr<RawClient>> c =
        RawClient::connect(serve_.client_state(), serve_.mirror_fingerprint(),
                           serve_.port(), std::string(32, 'r'), capabilities);
    EXPECT_TRUE(c.is_ok()) << c.status().to_string();
    return c.is_ok() ? std::move(*c) : nullptr;
  }

  // The next frame is Error (id 0, `code`) whose message holds `says`;
  // then the mirror closes the connection.
  static void expect_error_then_closed(RawClient& c, Code code,
                                       const std::string& says) {
    Result<wire::Message> m = c.receive();
    ASSERT_TRUE(m.is_ok()) << "no Error before the close: "
                           << m.status().to_string();
    const auto* e = std::get_if<wire::Error>(&m->body);
    ASSERT_NE(e, nullptr) << wire::type_name(wire::type_of(*m));
    EXPECT_EQ(m->request_id, 0u);
    EXPECT_EQ(e->code, static_cast<uint32_t>(code)) << e->message;
    EXPECT_NE(e->message.find(says), std::string::npos) << e->message;
    Result<wire::Message> next = c.receive();
    EXPECT_EQ(next.status().code(), Code::kNotFound)
        << next.status().to_string();
  }

  InProcessServe serve_;
};

TEST_F(ServerTest, GarbageAfterTheHandshakeIsAnsweredErrorIdZeroThenClosed) {
  for (const uint64_t caps : {uint64_t{0}, uint64_t{wire::kCapReadOnly}}) {
    SCOPED_TRACE(caps);
    std::unique_ptr<RawClient> c = raw(caps);
    ASSERT_TRUE(c);
    // Far more than the mirror reads before it refuses the first header:
    // the rest must not turn its answer into a reset.
    const std::vector<uint8_t> garbage(256 * 1024, 0xff);
    (void)c->write_raw(garbage);
    ASSERT_NO_FATAL_FAILURE(expect_error_then_closed(*c, Code::kCorrupt, ""));
  }
}

TEST_F(ServerTest, AnOversizedFrameIsAnsweredErrorIdZero) {
  std::unique_ptr<RawClient> c = raw();
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->write_raw(raw_frame(wire::Type::kMkdir, 9, {}, 0,
                                     wire::kMaxFrameBody + 1))
                  .is_ok());
  ASSERT_NO_FATAL_FAILURE(
      expect_error_then_closed(*c, Code::kCorrupt, "over kMaxFrameBody"));
}

TEST_F(ServerTest, ARequestOutOfPlaceIsAnsweredErrorIdZero) {
  std::unique_ptr<RawClient> c = raw();
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->send(wire::Message{7, wire::FileData{{'x'}}}).is_ok());
  ASSERT_NO_FATAL_FAILURE(expect_error_then_closed(
      *c, Code::kCorrupt, "FileData without FileBegin"));
}

TEST_F(ServerTest, AClientSessionReportsWhyTheMirrorEndedIt) {
  Result<std::unique_ptr<ClientSession>> s =
      serve_.connect(std::string(32, 's'));
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  Result<uint64_t> id = (*s)->request(wire::FileData{{'x'}});
  ASSERT_TRUE(id.is_ok());
  Result<std::vector<wire::Message>> answers =
      (*s)->wait(*id, std::chrono::seconds(20));
  ASSERT_FALSE(answers.is_ok());
  EXPECT_NE(answers.status().message().find(
                "ended the session: FileData without FileBegin"),
            std::string::npos)
      << answers.status().to_string();
}

}  // namespace
}  // namespace mirrorfs::replicator::testing
