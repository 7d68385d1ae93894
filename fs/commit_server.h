// The mount's side of the commit rendezvous (db/commit_request.h,
// docs/durability.md): a Unix socket DIR/mount.sock (mode 0600) on which
// a reader asks the mount to commit everything it completed so far, and
// is told "committed up to seq N".
//
// One thread accepts and answers connections one at a time (a request is
// one commit; readers are few: one per mirror of `mirrorfs replicate`).
// A client that sends nothing is dropped after a second; a malformed
// request is logged and the connection closed without an answer.
//
// Thread-safety: start and the destructor from one thread; `commit` is
// called on the server's thread.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "core/status.h"
#include "db/commit_request.h"

namespace mirrorfs::fs {

class CommitServer {
 public:
  // Commits what the mount completed before the call; returns the reply.
  using CommitFn = std::function<db::CommitReply()>;

  // Listens on STATE_DIR/mount.sock, replacing a socket left there by a
  // mount that was killed. REQUIRES: no other mount serves STATE_DIR
  // (the caller checked with db::request_commit).
  static Result<std::unique_ptr<CommitServer>> start(
      const std::string& state_dir, CommitFn commit);
  // Stops the thread, closes and removes the socket.
  ~CommitServer();
  CommitServer(const CommitServer&) = delete;
  CommitServer& operator=(const CommitServer&) = delete;

 private:
  CommitServer(int dir_fd, int listen_fd, int stop_fd, CommitFn commit);
  void run();
  void serve(int conn);

  const int dir_fd_;     // the state directory (O_PATH); owned
  const int listen_fd_;  // owned
  const int stop_fd_;    // eventfd: written to stop the thread; owned
  const CommitFn commit_;
  std::thread thread_;
};

}  // namespace mirrorfs::fs
