#include "tests/replicator/in_process_serve.h"

#include <stdlib.h>

#include <filesystem>
#include <future>

#include "replicator/server.h"
#include "replicator/tls/identity.h"
#include "replicator/tls/tls_context.h"

namespace mirrorfs::replicator::testing {

namespace stdfs = std::filesystem;

InProcessServe::InProcessServe() {
  char tmpl[] = "/tmp/mirrorfs-in-process-serve-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) {
    status_ = Status::from_errno(errno, "mkdtemp");
    return;
  }
  base_ = tmpl;
  for (const char* d : {"/root", "/serve-state", "/client-state"})
    stdfs::create_directory(base_ + d);
  Result<tls::Identity> server =
      tls::load_or_create_identity(base_ + "/serve-state", nullptr);
  Result<tls::Identity> client =
      tls::load_or_create_identity(client_state(), nullptr);
  if (!server.is_ok() || !client.is_ok()) {
    status_ = server.is_ok() ? client.status() : server.status();
    return;
  }
  mirror_fp_ = server->fingerprint;
  ServeOptions opt;
  opt.root = root();
  opt.state_dir = base_ + "/serve-state";
  opt.allowed = {client->fingerprint};
  auto listening = std::make_shared<std::promise<uint16_t>>();
  std::future<uint16_t> port = listening->get_future();
  opt.on_listening = [listening](uint16_t p) { listening->set_value(p); };
  auto ended = std::make_shared<std::promise<Status>>();
  std::future<Status> end = ended->get_future();
  server_ = std::thread(
      [this, opt, ended] { ended->set_value(run_server(opt, stop_)); });
  // Whichever comes first: listening, or run_server's error.
  for (;;) {
    if (port.wait_for(std::chrono::milliseconds(20)) ==
        std::future_status::ready) {
      port_ = port.get();
      return;
    }
    if (end.wait_for(std::chrono::milliseconds(0)) ==
        std::future_status::ready) {
      status_ = end.get();
      if (status_.is_ok())
        status_ = Status::internal("serve stopped before listening");
      return;
    }
  }
}

InProcessServe::~InProcessServe() {
  stop_.store(true);
  if (server_.joinable()) server_.join();
  std::error_code ec;
  if (!base_.empty()) stdfs::remove_all(base_, ec);
}

Result<std::unique_ptr<ClientSession>> InProcessServe::connect(
    const std::string& journal_id) {
  MIRRORFS_ASSIGN_OR_RETURN(client, tls::load_identity(client_state()));
  MIRRORFS_ASSIGN_OR_RETURN(tls, tls::make_client_context(client, mirror_fp_));
  MIRRORFS_ASSIGN_OR_RETURN(ch, Channel::connect("127.0.0.1", port_, tls));
  wire::Hello hello;
  hello.client_name = "test client";
  hello.journal_id = journal_id;
  return ClientSession::start(std::move(ch), hello, std::chrono::seconds(30));
}

}  // namespace mirrorfs::replicator::testing
