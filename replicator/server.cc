#include "replicator/server.h"

#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <list>
#include <mutex>
#include <thread>

#include "replicator/channel.h"
#include "replicator/fetch_serve.h"
#include "replicator/log.h"
#include "replicator/mirror/applier.h"
#include "replicator/tls/identity.h"
#include "replicator/tls/tls_context.h"
#include "replicator/wire/codec.h"

namespace mirrorfs::replicator {
namespace {

wire::Message error_message(uint64_t id, const Status& s) {
  wire::Error e;
  e.code = static_cast<uint32_t>(s.code());
  e.err = s.errno_value();
  e.message = s.message().substr(0, wire::kMaxText);
  return wire::Message{id, std::move(e)};
}

Result<int> listen_on(const std::string& host, uint16_t port, uint16_t* bound) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  const std::string where = host + ":" + std::to_string(port);
  const int gai = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res);
  if (gai != 0) {
    return Status::invalid_argument("listen address " + where + ": " + ::gai_strerror(gai));
  }
  int fd = -1, err = 0;
  for (addrinfo* a = res; a != nullptr && fd < 0; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      err = errno;
      continue;
    }
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, a->ai_addr, a->ai_addrlen) != 0 || ::listen(fd, 64) != 0) {
      err = errno;
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(res);
  if (fd < 0) return Status::from_errno(err, "listen on " + where);
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  *bound = ntohs(ss.ss_family == AF_INET6
                     ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                     : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  return fd;
}

// One lock per client (key and journal): a client's new connection waits
// until its previous one has applied what it had received and ended, so
// two sessions of one client never interleave (a replay racing the tail
// of the connection it replaces would undo attribute fixes).
class ClientLocks {
 public:
  std::shared_ptr<std::mutex> of(const std::string& client) {
    std::lock_guard lock(mu_);
    std::shared_ptr<std::mutex>& m = locks_[client];
    if (!m) m = std::make_shared<std::mutex>();
    return m;
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<std::mutex>> locks_;
};

// One replicator's connection, after the handshake.
class Session {
 public:
  Session(Channel& ch, mirror::Applier& applier, std::mutex& applier_mu, ClientLocks& clients,
          const std::atomic<bool>& stop, ServeStats& stats)
      : ch_(ch),
        applier_(applier),
        mu_(applier_mu),
        clients_(clients),
        stop_(stop),
        stats_(stats),
        fetch_(applier, [&ch](const wire::Message& m) { return ch.send(m); }) {}

  void run() {
    Result<wire::Message> first = ch_.receive(std::chrono::seconds(30));
    if (!first.is_ok()) return end_refused(first.status());
    const auto* hello = std::get_if<wire::Hello>(&first->body);
    if (hello == nullptr || hello->version != wire::kProtocolVersion) {
      (void)ch_.send(error_message(0, Status::unsupported(
                                          "expected Hello with protocol version " +
                                          std::to_string(wire::kProtocolVersion))));
      (void)ch_.drain(std::chrono::seconds(5));
      return log_end(Status::unsupported("no valid Hello"));
    }
    client_ = ch_.peer_fingerprint() + "/" + hello->journal_id;
    // A read-only session (restore, verify) changes nothing, so it runs
    // beside the client's replicating session instead of waiting for it.
    read_only_ = (hello->capabilities & wire::kCapReadOnly) != 0;
    const std::shared_ptr<std::mutex> mine = clients_.of(client_);
    std::unique_lock<std::mutex> one_session(*mine, std::defer_lock);
    if (!read_only_) one_session.lock();
    wire::HelloOk ok;
    ok.capabilities = hello->capabilities & wire::kCapReadOnly;
    {
      std::lock_guard lock(mu_);
      ok.mirror_id = applier_.mirror_id();
      Result<uint64_t> applied = applier_.applied_seq(client_);
      if (!applied.is_ok()) return log_end(applied.status());
      ok.applied_seq = *applied;
    }
    log_info((read_only_ ? "read-only client " : "replicator ") + hello->client_name + " (" +
             ch_.peer_address() + ", key " + ch_.peer_fingerprint() +
             ") connected; applied up to seq " + std::to_string(ok.applied_seq));
    if (Status s = ch_.send(wire::Message{0, ok}); !s.is_ok()) return log_end(s);
    stats_.sessions_total.fetch_add(1, std::memory_order_relaxed);
    stats_.sessions_open.fetch_add(1, std::memory_order_relaxed);
    struct Open {
      Session& s;
      ~Open() {
        s.count_received();
        s.stats_.sessions_open.fetch_sub(1, std::memory_order_relaxed);
      }
    } open{*this};
    while (!stop_.load()) {
      Result<wire::Message> m = ch_.receive(std::chrono::seconds(1));
      if (!m.is_ok()) {
        if (m.status().code() == Code::kIoError && m.status().errno_value() == ETIMEDOUT) {
          continue;
        }
        return end_refused(m.status());
      }
      Status s = handle(*m);
      if (!s.is_ok()) return end_refused(s);  // a protocol violation
    }
  }

 private:
  // Adds what arrived since the last call to the bytes received.
  void count_received() {
    const uint64_t now = ch_.wire_bytes().received;
    stats_.bytes_received.fetch_add(now - counted_received_, std::memory_order_relaxed);
    counted_received_ = now;
  }

  // Ends the session for `why`. A frame the codec refused or a protocol
  // violation is answered Error (id 0) naming it before the connection
  // closes (docs/protocol.md, "Limits and violations"); a connection that
  // closed or broke (kNotFound, kIoError) has nobody to tell.
  void end_refused(const Status& why) {
    if (why.code() != Code::kNotFound && why.code() != Code::kIoError) {
      (void)ch_.send(error_message(0, why));
      (void)ch_.drain(std::chrono::seconds(5));
    }
    log_end(why);
  }

  void log_end(const Status& why) {
    if (why.code() == Code::kNotFound) {
      log_info("replicator " + ch_.peer_address() + " disconnected");
    } else {
      stats_.session_errors.fetch_add(1, std::memory_order_relaxed);
      log_error("replicator " + ch_.peer_address() + ": " + why.to_string());
    }
  }

  Status answer(uint64_t id, const Status& s) {
    if (s.is_ok()) return ch_.send(wire::Message{id, wire::Ok{}});
    log_error(s.to_string());
    return ch_.send(error_message(id, s));
  }

  // Returns an error only for protocol violations (the connection ends);
  // an operation that fails is answered with Error and the session goes on.
  Status handle(const wire::Message& m) {
    const uint64_t id = m.request_id;
    // Fetches only read beneath ROOT (Applier::open_read is safe from any
    // thread): no lock, so a restore never stalls a replicating session.
    if (const auto* fb = std::get_if<wire::FetchBegin>(&m.body)) return fetch_.begin(id, *fb);
    if (const auto* fs = std::get_if<wire::FetchSig>(&m.body)) return fetch_.sig(id, *fs);
    if (std::holds_alternative<wire::FetchSigEnd>(m.body)) return fetch_.sig_end(id);
    if (read_only_) return handle_read_only(m);
    std::lock_guard lock(mu_);
    if (const auto* op = std::get_if<wire::EntryOp>(&m.body)) {
      if (first_failed_ != UINT64_MAX && !(op->flags & wire::kOpStateFix)) {
        // After a failed operation none of the later ones is applied until
        // the next Barrier: the tree stays a prefix of the journal, which
        // the client replays from the failed one.
        return ch_.send(error_message(
            id, Status(Code::kIoError,
                       "not applied: operation seq " + std::to_string(first_failed_) +
                           " failed before it",
                       ECANCELED)));
      }
      Status s = applier_.apply(client_, *op);
      if (!s.is_ok()) first_failed_ = std::min(first_failed_, op->seq);
      (s.is_ok() ? stats_.operations_applied : stats_.entry_errors)
          .fetch_add(1, std::memory_order_relaxed);
      return answer(id, s);
    }
    if (const auto* fb = std::get_if<wire::FileBegin>(&m.body)) {
      if (writer_) return Status::corrupt("FileBegin inside another file's update");
      Result<mirror::BeginResult> r = applier_.begin_file(client_, *fb);
      if (!r.is_ok()) return skip(id, error_message(id, r.status()), r.status());
      if (r->mismatch) {
        // Changed or removed on the mirror behind our back: worth a line,
        // the replicator repairs it from the mirror's own signature.
        log_info("basis mismatch: " + (fb->has_basis ? fb->basis_path : fb->path) +
                 (r->mismatch->exists ? " is not" : " is missing, not") +
                 " the version the replicator has; it resends against what is here");
        return skip(id, wire::Message{id, *r->mismatch}, Status::ok());
      }
      writer_ = std::move(r->writer);
      writer_id_ = id;
      return Status::ok();
    }
    if (const auto* d = std::get_if<wire::FileData>(&m.body)) {
      if (id == skip_id_) return Status::ok();
      if (!writer_ || id != writer_id_) return Status::corrupt("FileData without FileBegin");
      Status s = writer_->write(d->bytes);
      if (s.is_ok()) return s;
      writer_.reset();  // removes the temporary
      return skip(id, error_message(id, s), s);
    }
    if (const auto* end = std::get_if<wire::FileEnd>(&m.body)) {
      if (id == skip_id_) return end_skip();
      if (!writer_ || id != writer_id_) return Status::corrupt("FileEnd without FileBegin");
      Status s = writer_->finish(*end);
      if (s.is_ok() && writer_->in_place()) {
        stats_.in_place_updates.fetch_add(1, std::memory_order_relaxed);
      }
      (s.is_ok() ? stats_.content_updates : stats_.content_errors)
          .fetch_add(1, std::memory_order_relaxed);
      writer_.reset();
      return answer(id, s);
    }
    if (std::holds_alternative<wire::FileAbort>(m.body)) {
      if (id == skip_id_) return end_skip();
      if (!writer_ || id != writer_id_) return Status::corrupt("FileAbort without FileBegin");
      writer_.reset();
      return answer(id, Status::ok());
    }
    if (const auto* sr = std::get_if<wire::SigRequest>(&m.body)) return signature(id, sr->path);
    if (const auto* lr = std::get_if<wire::ListRequest>(&m.body)) {
      // A client lists before it seeds: its next operations are made from
      // the tree's state, not replays of its journal. A rehash listing
      // (verify) only reads: the progress record stays.
      const bool rehash = (lr->flags & wire::kListRehash) != 0;
      if (!rehash) applier_.forget_progress(client_);
      return list(id, lr->path, rehash);
    }
    if (const auto* b = std::get_if<wire::Barrier>(&m.body)) {
      const uint64_t seq = std::min(b->seq, first_failed_ - 1);
      first_failed_ = UINT64_MAX;
      Status s = applier_.barrier(client_, seq);
      count_received();
      if (!s.is_ok()) return answer(id, s);
      return ch_.send(wire::Message{id, wire::Ack{seq}});
    }
    return Status::corrupt(std::string("unexpected ") + wire::type_name(wire::type_of(m)));
  }

  // A read-only session: listings and signatures (the Applier's reads
  // are safe beside another session's writes, so no lock), and an Error
  // for every operation that would change the tree or the client's
  // progress. A refused content update's frames are dropped until its
  // end, which gets the Error, as the protocol orders.
  Status handle_read_only(const wire::Message& m) {
    const uint64_t id = m.request_id;
    if (const auto* lr = std::get_if<wire::ListRequest>(&m.body)) {
      return list(id, lr->path, (lr->flags & wire::kListRehash) != 0);
    }
    if (const auto* sr = std::get_if<wire::SigRequest>(&m.body)) return signature(id, sr->path);
    const Status refused(Code::kInvalidArgument,
                         std::string(wire::type_name(wire::type_of(m))) +
                             " refused: this is a read-only session",
                         EROFS);
    if (std::holds_alternative<wire::FileBegin>(m.body)) {
      return skip(id, error_message(id, refused), Status::ok());
    }
    if (id == skip_id_ && std::holds_alternative<wire::FileData>(m.body)) return Status::ok();
    if (id == skip_id_ && (std::holds_alternative<wire::FileEnd>(m.body) ||
                           std::holds_alternative<wire::FileAbort>(m.body))) {
      return end_skip();
    }
    if (std::holds_alternative<wire::EntryOp>(m.body) ||
        std::holds_alternative<wire::Barrier>(m.body)) {
      return answer(id, refused);
    }
    return Status::corrupt(std::string("unexpected ") + wire::type_name(wire::type_of(m)));
  }

  Status signature(uint64_t id, const std::string& path) {
    Result<wire::SigEnd> end = applier_.signature(path, [&](std::span<const uint8_t> b) {
      return ch_.send(wire::Message{id, wire::SigData{std::vector<uint8_t>(b.begin(), b.end())}});
    });
    if (!end.is_ok()) return answer(id, end.status());
    return ch_.send(wire::Message{id, *end});
  }

  // Answers a ListRequest: ListData frames of at most kMaxListEntries
  // entries and about kListFrameBytes each, as the walk finds them (the
  // listing is never held whole), then ListEnd; or Error if the walk
  // fails (what was sent stays sent: the client drops it on Error).
  Status list(uint64_t id, const std::string& path, bool rehash) {
    constexpr size_t kListFrameBytes = 256 * 1024;
    // An entry's size on the wire, within a few bytes (fixed fields 85).
    auto wire_size = [](const wire::ListEntry& e) { return 96 + e.path.size() + e.target.size(); };
    wire::ListData batch;
    size_t batch_bytes = 0;
    uint64_t count = 0;
    auto flush = [&]() -> Status {
      if (batch.entries.empty()) return Status::ok();
      Status s = ch_.send(wire::Message{id, std::move(batch)});
      batch = wire::ListData{};
      batch_bytes = 0;
      return s;
    };
    Status walked = applier_.list(path, rehash, [&](const wire::ListEntry& e) -> Status {
      if (batch.entries.size() == wire::kMaxListEntries ||
          batch_bytes + wire_size(e) > kListFrameBytes) {
        MIRRORFS_RETURN_IF_ERROR(flush());
      }
      batch_bytes += wire_size(e);
      batch.entries.push_back(e);
      ++count;
      return Status::ok();
    });
    if (walked.is_ok()) walked = flush();
    if (!walked.is_ok()) return answer(id, walked);
    return ch_.send(wire::Message{id, wire::ListEnd{count}});
  }

  // A content update that already failed (or found another basis): its
  // remaining frames are dropped, and the answer goes when it ends, as
  // the protocol orders.
  Status skip(uint64_t id, wire::Message answer, const Status& why) {
    if (!why.is_ok()) {
      stats_.content_errors.fetch_add(1, std::memory_order_relaxed);
      log_error(why.to_string());
    }
    skip_id_ = id;
    skip_answer_ = std::move(answer);
    return Status::ok();
  }
  Status end_skip() {
    skip_id_ = 0;
    return ch_.send(skip_answer_);
  }

  Channel& ch_;
  mirror::Applier& applier_;
  std::mutex& mu_;
  ClientLocks& clients_;
  const std::atomic<bool>& stop_;
  ServeStats& stats_;
  uint64_t counted_received_ = 0;  // of ch_.wire_bytes().received
  std::string client_;
  std::unique_ptr<mirror::ContentWriter> writer_;
  uint64_t writer_id_ = 0, skip_id_ = 0;
  wire::Message skip_answer_;
  uint64_t first_failed_ = UINT64_MAX;  // entry op seq, since the last Barrier
  bool read_only_ = false;  // Hello had kCapReadOnly
  FetchServer fetch_;
};

}  // namespace

Status run_server(const ServeOptions& opt, const std::atomic<bool>& stop) {
  set_log_component("serve");
  bool created = false;
  MIRRORFS_ASSIGN_OR_RETURN(identity, tls::load_or_create_identity(opt.state_dir, &created));
  if (opt.allowed.empty()) {
    return Status::invalid_argument("no --allow FINGERPRINT: nobody could connect");
  }
  MIRRORFS_ASSIGN_OR_RETURN(ctx, tls::make_server_context(identity, opt.allowed));
  MIRRORFS_ASSIGN_OR_RETURN(applier, mirror::Applier::open(opt.root, opt.state_dir, opt.applier));
  uint16_t port = 0;
  MIRRORFS_ASSIGN_OR_RETURN(listen_fd, listen_on(opt.host, opt.port, &port));
  log_info(std::string(created ? "created key " : "key ") + identity.fingerprint +
           "; serving " + opt.root + " on " + opt.host + ":" + std::to_string(port));
  if (opt.on_listening) opt.on_listening(port);

  std::mutex applier_mu;
  ClientLocks clients;
  ServeStats unused_stats;
  ServeStats& stats = opt.stats != nullptr ? *opt.stats : unused_stats;
  struct Running {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::list<Running> sessions;
  while (!stop.load()) {
    pollfd p{listen_fd, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;
    const int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    sessions.remove_if([](Running& r) {
      if (!r.done->load()) return false;
      r.thread.join();
      return true;
    });
    auto done = std::make_shared<std::atomic<bool>>(false);
    std::thread t([&, fd, done] {
      Result<std::unique_ptr<Channel>> ch = Channel::accept(fd, ctx);
      if (!ch.is_ok()) {
        stats.session_errors.fetch_add(1, std::memory_order_relaxed);
        log_error("refused a connection: " + ch.status().message());
      } else {
        Session(**ch, *applier, applier_mu, clients, stop, stats).run();
      }
      done->store(true);
    });
    sessions.push_back(Running{std::move(t), done});
  }
  ::close(listen_fd);
  for (Running& r : sessions) r.thread.join();
  log_info("stopped");
  return Status::ok();
}

}  // namespace mirrorfs::replicator
