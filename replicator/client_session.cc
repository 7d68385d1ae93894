#include "replicator/client_session.h"

namespace mirrorfs::replicator {

bool is_final_answer(const wire::Message& m) {
  return std::holds_alternative<wire::Ok>(m.body) ||
         std::holds_alternative<wire::Error>(m.body) ||
         std::holds_alternative<wire::BasisMismatch>(m.body) ||
         std::holds_alternative<wire::SigEnd>(m.body) ||
         std::holds_alternative<wire::ListEnd>(m.body) ||
         std::holds_alternative<wire::FetchEnd>(m.body) ||
         std::holds_alternative<wire::Ack>(m.body);
}

Status ended_by_mirror(const Channel& ch, const wire::Message& m) {
  const auto* e = std::get_if<wire::Error>(&m.body);
  if (e == nullptr || m.request_id != 0) return Status::ok();
  return Status(Code::kIoError, "mirror " + ch.peer_address() + " ended the session: " + e->message,
                ECONNABORTED);
}

ClientSession::ClientSession(std::unique_ptr<Channel> channel)
    : channel_(std::move(channel)) {}

Result<wire::HelloOk> say_hello(Channel& channel, const wire::Hello& hello,
                                std::chrono::milliseconds timeout) {
  MIRRORFS_RETURN_IF_ERROR(channel.send(wire::Message{0, hello}));
  MIRRORFS_ASSIGN_OR_RETURN(answer, channel.receive(timeout));
  if (const auto* err = std::get_if<wire::Error>(&answer.body)) {
    return Status(Code::kUnsupported,
                  "mirror " + channel.peer_address() + " refused: " + err->message);
  }
  const auto* ok = std::get_if<wire::HelloOk>(&answer.body);
  if (ok == nullptr) {
    return Status::corrupt("mirror " + channel.peer_address() +
                           " answered Hello with something else");
  }
  if (ok->version != wire::kProtocolVersion) {
    return Status::unsupported("mirror speaks protocol version " +
                               std::to_string(ok->version) + ", we speak " +
                               std::to_string(wire::kProtocolVersion));
  }
  return *ok;
}

Result<std::unique_ptr<ClientSession>> ClientSession::start(
    std::unique_ptr<Channel> channel, const wire::Hello& hello,
    std::chrono::milliseconds timeout) {
  MIRRORFS_ASSIGN_OR_RETURN(ok, say_hello(*channel, hello, timeout));
  return adopt(std::move(channel), ok);
}

std::unique_ptr<ClientSession> ClientSession::adopt(std::unique_ptr<Channel> channel,
                                                    const wire::HelloOk& ok) {
  std::unique_ptr<ClientSession> s(new ClientSession(std::move(channel)));
  s->hello_ok_ = ok;
  s->receiver_ = std::thread([p = s.get()] { p->receive_loop(); });
  return s;
}

ClientSession::~ClientSession() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  channel_->close();
  if (receiver_.joinable()) receiver_.join();
}

void ClientSession::receive_loop() {
  for (;;) {
    Result<wire::Message> m = channel_->receive(std::chrono::seconds(1));
    std::lock_guard lock(mu_);
    if (!m.is_ok()) {
      if (m.status().errno_value() == ETIMEDOUT &&
          m.status().code() == Code::kIoError && !stopping_) {
        continue;  // nothing arrived this second
      }
      closed_ = stopping_ ? Status(Code::kIoError, "session closed", ECONNABORTED)
                          : m.status();
      cv_.notify_all();
      return;
    }
    const uint64_t id = m->request_id;
    if (Status ended = ended_by_mirror(*channel_, *m); !ended.is_ok()) {
      closed_ = std::move(ended);  // the mirror's reason, not a bare EOF
      cv_.notify_all();
      return;
    }
    const bool final = is_final_answer(*m);
    partial_[id].push_back(std::move(*m));
    if (final) {
      done_[id] = std::move(partial_[id]);
      partial_.erase(id);
      cv_.notify_all();
    }
  }
}

Result<uint64_t> ClientSession::request(wire::Body body) {
  const uint64_t id = next_id();
  MIRRORFS_RETURN_IF_ERROR(channel_->send(wire::Message{id, std::move(body)}));
  return id;
}

Result<std::vector<wire::Message>> ClientSession::wait(
    uint64_t id, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  const bool got = cv_.wait_for(lock, timeout, [&] {
    return done_.count(id) > 0 || !closed_.is_ok();
  });
  auto it = done_.find(id);
  if (it != done_.end()) {
    std::vector<wire::Message> out = std::move(it->second);
    done_.erase(it);
    return out;
  }
  if (!got) {
    return Status(Code::kIoError,
                  "mirror " + channel_->peer_address() + " did not answer in " +
                      std::to_string(timeout.count() / 1000) + " s",
                  ETIMEDOUT);
  }
  return closed_;
}

Status ClientSession::closed_status() {
  std::lock_guard lock(mu_);
  return closed_;
}

}  // namespace mirrorfs::replicator
