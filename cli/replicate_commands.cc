#include "cli/replicate_commands.h"

#include <getopt.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "cli/command_args.h"
#include "cli/help.h"
#include "cli/metrics_collectors.h"
#include "cli/report.h"
#include "cli/status_command.h"
#include "replicator/replicate.h"
#include "replicator/server.h"
#include "replicator/tls/identity.h"

namespace mirrorfs::cli {

namespace {

const struct option kServeOptions[] = {
    {"listen", required_argument, nullptr, 'l'},
    {"state", required_argument, nullptr, 's'},
    {"allow", required_argument, nullptr, 'a'},
    {"in-place-min", required_argument, nullptr, 'i'},
    {"metrics", required_argument, nullptr, 'M'},
    {"help", no_argument, nullptr, 'h'},
    {nullptr, 0, nullptr, 0},
};

const struct option kReplicateOptions[] = {
    {"state", required_argument, nullptr, 's'},
    {"mirror", required_argument, nullptr, 'm'},
    {"pin", required_argument, nullptr, 'p'},
    {"once", no_argument, nullptr, 'o'},
    {"bwlimit", required_argument, nullptr, 'b'},
    {"metrics", required_argument, nullptr, 'M'},
    {"help", no_argument, nullptr, 'h'},
    {nullptr, 0, nullptr, 0},
};

const struct option kStatusOptions[] = {
    {"state", required_argument, nullptr, 's'},
    {"json", no_argument, nullptr, 'j'},
    {"help", no_argument, nullptr, 'h'},
    {nullptr, 0, nullptr, 0},
};

const struct option kForgetOptions[] = {
    {"state", required_argument, nullptr, 's'},
    {"help", no_argument, nullptr, 'h'},
    {nullptr, 0, nullptr, 0},
};

}  // namespace

const CommandSpec& serve_spec() {
  static const CommandSpec spec{"serve", ":h", kServeOptions, {"root"}, {"allow"}, {}};
  return spec;
}

const CommandSpec& replicate_spec() {
  static const CommandSpec spec{"replicate", ":h", kReplicateOptions, {}, {}, {}};
  return spec;
}

const CommandSpec& status_spec() {
  static const CommandSpec spec{"status", ":h", kStatusOptions, {}, {}, {}};
  return spec;
}

const CommandSpec& forget_spec() {
  static const CommandSpec spec{"forget", ":h", kForgetOptions, {}, {}, {}};
  return spec;
}

int run_serve_command(int argc, char** argv) {
  replicator::ServeOptions opt;
  std::string listen, metrics;
  const char* hint = "mirrorfs serve --help";
  int rc = parse_options("serve", argc, argv, ":h", kServeOptions, [&](int c, std::string_view arg) {
    if (c == 'l') listen = arg;
    if (c == 'M') metrics = arg;
    if (c == 's') opt.state_dir = arg;
    if (c == 'a') {
      Result<std::string> fp = replicator::tls::parse_fingerprint(arg);
      if (!fp.is_ok()) return usage_error("serve", fp.status().message(), hint);
      opt.allowed.push_back(*fp);
    }
    if (c == 'i') {
      Result<uint64_t> v = parse_bytes(arg, "a size in bytes");
      if (!v.is_ok()) return usage_error("serve", "--in-place-min: " + v.status().message(), hint);
      opt.applier.in_place_min_size = *v;
    }
    return -1;
  });
  if (rc >= 0) return rc;
  if (argc - optind != 1) return usage_error("serve", "needs ROOT", hint);
  opt.root = argv[optind];
  if (listen.empty()) return usage_error("serve", "--listen HOST:PORT is required", hint);
  if (opt.state_dir.empty()) return usage_error("serve", "--state DIR is required", hint);
  if (opt.allowed.empty()) {
    return usage_error("serve", "--allow FINGERPRINT is required (see mirrorfs keygen)", hint);
  }
  Result<std::pair<std::string, uint16_t>> hp = parse_host_port(listen, true);
  if (!hp.is_ok()) return usage_error("serve", "--listen: " + hp.status().message(), hint);
  opt.host = hp->first;
  opt.port = hp->second;
  replicator::ServeStats stats;
  std::unique_ptr<MetricsServer> server;
  if (!metrics.empty()) {
    Status s = bind_metrics("serve", metrics, &server);
    if (s.is_ok()) s = server->start([&] { return render_serve_metrics(stats); });
    if (!s.is_ok()) return fail("serve", s);
    opt.stats = &stats;
  }
  const Status st = replicator::run_server(opt, install_stop_handlers());
  return st.is_ok() ? kExitOk : fail("serve", st);
}

int run_replicate_command(int argc, char** argv) {
  replicator::ReplicateOptions opt;
  MirrorArgs mirrors;
  std::string metrics;
  const char* hint = "mirrorfs replicate --help";
  int rc = parse_options("replicate", argc, argv, ":h", kReplicateOptions, [&](int c, std::string_view arg) {
    if (c == 's') opt.state_dir = arg;
    if (c == 'o') opt.once = true;
    if (c == 'M') metrics = arg;
    if (c == 'b') {
      Result<uint64_t> r = parse_bytes(arg, "a rate in bytes/s");
      if (r.is_ok() && *r == 0) r = Status::invalid_argument("--bwlimit must be above 0");
      if (!r.is_ok()) return usage_error("replicate", "--bwlimit: " + r.status().message(), hint);
      opt.bwlimit = *r;
    }
    std::string err;
    if (c == 'm') err = mirrors.add_mirror(arg);
    if (c == 'p') err = mirrors.add_pin(arg);
    if (!err.empty()) return usage_error("replicate", err, hint);
    return -1;
  });
  if (rc >= 0) return rc;
  if (optind != argc) return usage_error("replicate", "takes no operands", hint);
  if (opt.state_dir.empty()) return usage_error("replicate", "--state DIR is required", hint);
  Result<std::vector<replicator::MirrorTarget>> all = mirrors.all();
  if (!all.is_ok()) return usage_error("replicate", all.status().message(), hint);
  opt.mirrors = std::move(*all);
  replicator::ReplicateStats stats(opt.mirrors.size());
  std::unique_ptr<StateReader> state;
  std::unique_ptr<MetricsServer> server;  // stopped before state goes
  if (!metrics.empty()) {
    Status s = bind_metrics("replicate", metrics, &server);
    if (!s.is_ok()) return fail("replicate", s);
    state = std::make_unique<StateReader>(opt.state_dir);
    opt.stats = &stats;
    s = server->start([&] { return render_replicate_metrics(opt.mirrors, stats, *state); });
    if (!s.is_ok()) return fail("replicate", s);
  }
  const Status st = replicator::run_replicate(opt, install_stop_handlers());
  return st.is_ok() ? kExitOk : fail("replicate", st);
}

int run_status_command(int argc, char** argv) {
  std::string state;
  bool json = false;
  int rc = parse_options("status", argc, argv, ":h", kStatusOptions, [&](int c, std::string_view arg) {
    if (c == 's') state = arg;
    if (c == 'j') json = true;
    return -1;
  });
  if (rc >= 0) return rc;
  const char* hint = "mirrorfs status --help";
  if (optind != argc) return usage_error("status", "takes no operands", hint);
  if (state.empty()) return usage_error("status", "--state DIR is required", hint);
  return print_status(state, json);
}

int run_forget_command(int argc, char** argv) {
  std::string state;
  int rc = parse_options("forget", argc, argv, ":h", kForgetOptions, [&](int c, std::string_view arg) {
    if (c == 's') state = arg;
    return -1;
  });
  if (rc >= 0) return rc;
  const char* hint = "mirrorfs forget --help";
  if (state.empty()) return usage_error("forget", "--state DIR is required", hint);
  if (argc - optind != 1) return usage_error("forget", "takes one operand, the mirror's NAME", hint);
  return forget_mirror(state, argv[optind]);
}

}  // namespace mirrorfs::cli
