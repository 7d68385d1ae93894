// The replicator's side of one connection to a mirror, after the
// handshake: request ids, and a receiver thread that files every answer
// under its request id so the sending thread can pipeline requests and
// collect the answers later (the mirror answers in order, so the answer
// to a Barrier means every earlier request was answered).
//
// Thread-safety: one thread sends and waits; the receiver thread is
// internal.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/status.h"
#include "replicator/channel.h"
#include "replicator/wire/messages.h"

namespace mirrorfs::replicator {

// The handshake: sends `hello` (request id 0) and waits up to `timeout`
// for HelloOk of our protocol version, which it returns. kUnsupported
// with the mirror's message if it answers Error; kCorrupt for anything
// else. REQUIRES: nothing else sent or received on the channel yet.
Result<wire::HelloOk> say_hello(Channel& channel, const wire::Hello& hello,
                                std::chrono::milliseconds timeout);

class ClientSession {
 public:
  // Says Hello and waits for HelloOk (say_hello). REQUIRES: nothing else
  // received on the channel yet.
  static Result<std::unique_ptr<ClientSession>> start(
      std::unique_ptr<Channel> channel, const wire::Hello& hello,
      std::chrono::milliseconds timeout);
  // A session over a channel whose handshake is done (`ok` its answer).
  // REQUIRES: nothing received on the channel since HelloOk.
  static std::unique_ptr<ClientSession> adopt(std::unique_ptr<Channel> channel,
                                              const wire::HelloOk& ok);
  ~ClientSession();  // closes the channel, joins the receiver

  const wire::HelloOk& hello_ok() const { return hello_ok_; }
  Channel& channel() { return *channel_; }

  uint64_t next_id() { return ++last_id_; }
  // Sends m under a fresh request id, which it returns.
  Result<uint64_t> request(wire::Body body);

  // Everything received for `id` once its final answer (Ok, Error,
  // BasisMismatch, SigEnd, ListEnd, FetchEnd, Ack) arrived: the final answer last. Waits up
  // to `timeout`; the connection's end (its reason) ends the wait too.
  Result<std::vector<wire::Message>> wait(uint64_t id,
                                          std::chrono::milliseconds timeout);

  // The connection's error once it closed; OK while it is open. An Error
  // with id 0 from the mirror (it ended the session) is such an error,
  // naming the mirror's reason.
  Status closed_status();

 private:
  explicit ClientSession(std::unique_ptr<Channel> channel);
  void receive_loop();

  std::unique_ptr<Channel> channel_;
  wire::HelloOk hello_ok_;
  uint64_t last_id_ = 0;

  std::mutex mu_;
  std::condition_variable cv_;
  std::map<uint64_t, std::vector<wire::Message>> partial_;  // GUARDED_BY(mu_)
  std::map<uint64_t, std::vector<wire::Message>> done_;     // GUARDED_BY(mu_)
  Status closed_;                                           // GUARDED_BY(mu_)
  bool stopping_ = false;                                   // GUARDED_BY(mu_)
  std::thread receiver_;
};

// True for the messages that end a request.
bool is_final_answer(const wire::Message& m);

// If `m`, received on `ch` after the handshake, is the mirror ending the
// session (Error with id 0: docs/protocol.md, "Limits and violations"),
// that as a Status naming the mirror's reason (kIoError, ECONNABORTED);
// OK for any other message.
Status ended_by_mirror(const Channel& ch, const wire::Message& m);

}  // namespace mirrorfs::replicator
