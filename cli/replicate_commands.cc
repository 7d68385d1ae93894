#include "cli/replicate_commands.h"

#include <getopt.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "cli/help.h"
#include "cli/report.h"
#include "cli/status_command.h"
#include "replicator/replicate.h"
#include "replicator/server.h"
#include "replicator/tls/identity.h"

namespace mirrorfs::cli {
namespace {

std::atomic<bool> g_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free);

void on_signal(int) { g_stop.store(true); }

// SIGINT/SIGTERM stop the daemon cleanly (the loops poll g_stop).
void install_stop_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(sig, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
}

int print_help(const char* cmd) {
  const std::string_view text = command_help(cmd);
  std::fwrite(text.data(), 1, text.size(), stdout);
  return kExitOk;
}

// "HOST:PORT" or "[V6]:PORT".
Result<std::pair<std::string, uint16_t>> parse_host_port(std::string_view s,
                                                         bool allow_zero = false) {
  std::string host;
  std::string_view port;
  if (!s.empty() && s.front() == '[') {
    const size_t close = s.find(']');
    if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':') {
      return Status::invalid_argument("'" + std::string(s) + "' is not [ADDRESS]:PORT");
    }
    host = std::string(s.substr(1, close - 1));
    port = s.substr(close + 2);
  } else {
    const size_t colon = s.rfind(':');
    if (colon == std::string_view::npos || colon == 0) {
      return Status::invalid_argument("'" + std::string(s) + "' is not HOST:PORT");
    }
    host = std::string(s.substr(0, colon));
    port = s.substr(colon + 1);
  }
  unsigned long v = 0;
  if (port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string_view::npos ||
      ((v = std::stoul(std::string(port))) == 0 && !allow_zero) || v > 65535) {
    return Status::invalid_argument("'" + std::string(s) + "': bad port");
  }
  return std::make_pair(host, static_cast<uint16_t>(v));
}

// "NAME=VALUE".
Result<std::pair<std::string, std::string>> parse_named(std::string_view s,
                                                        const char* what) {
  const size_t eq = s.find('=');
  if (eq == std::string_view::npos || eq == 0 || eq + 1 == s.size()) {
    return Status::invalid_argument("'" + std::string(s) + "' is not NAME=" + what);
  }
  return std::make_pair(std::string(s.substr(0, eq)), std::string(s.substr(eq + 1)));
}

// "123", "10k", "5M", "1G" (powers of 1024); `what` names it in errors.
Result<uint64_t> parse_bytes(std::string_view s, const std::string& what) {
  uint64_t mult = 1;
  std::string digits(s);
  if (!digits.empty()) {
    switch (digits.back()) {
      case 'k': case 'K': mult = 1ull << 10; digits.pop_back(); break;
      case 'm': case 'M': mult = 1ull << 20; digits.pop_back(); break;
      case 'g': case 'G': mult = 1ull << 30; digits.pop_back(); break;
      default: break;
    }
  }
  if (digits.empty() || digits.size() > 12 ||
      digits.find_first_not_of("0123456789") != std::string::npos) {
    return Status::invalid_argument("'" + std::string(s) + "' is not " + what +
                                    " (e.g. 500k, 10M)");
  }
  return std::stoull(digits) * mult;
}

// Runs getopt_long over argv; `handle` gets each option and returns an
// exit code to stop with, or -1 to go on.
template <typename Fn>
int parse_options(const char* cmd, int argc, char** argv, const char* shorts,
                  const struct option* longs, Fn handle) {
  opterr = 0;
  optind = 0;
  const std::string hint = std::string("mirrorfs ") + cmd + " --help";
  for (;;) {
    const int c = getopt_long(argc, argv, shorts, longs, nullptr);
    if (c == -1) return -1;
    if (c == 'h') return print_help(cmd);
    if (c == ':') {
      return usage_error(cmd, std::string(argv[optind - 1]) + " needs an argument", hint);
    }
    if (c == '?') {
      return usage_error(cmd, std::string("unknown option ") + argv[optind - 1], hint);
    }
    const int rc = handle(c, std::string_view(optarg ? optarg : ""));
    if (rc >= 0) return rc;
  }
}

}  // namespace

int run_serve_command(int argc, char** argv) {
  static const struct option kOptions[] = {
      {"listen", required_argument, nullptr, 'l'},
      {"state", required_argument, nullptr, 's'},
      {"allow", required_argument, nullptr, 'a'},
      {"in-place-min", required_argument, nullptr, 'i'},
      {"help", no_argument, nullptr, 'h'},
      {nullptr, 0, nullptr, 0},
  };
  replicator::ServeOptions opt;
  std::string listen;
  const char* hint = "mirrorfs serve --help";
  int rc = parse_options("serve", argc, argv, ":h", kOptions, [&](int c, std::string_view arg) {
    if (c == 'l') listen = arg;
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
  install_stop_handlers();
  const Status st = replicator::run_server(opt, g_stop);
  return st.is_ok() ? kExitOk : fail("serve", st);
}

int run_replicate_command(int argc, char** argv) {
  static const struct option kOptions[] = {
      {"state", required_argument, nullptr, 's'},
      {"mirror", required_argument, nullptr, 'm'},
      {"pin", required_argument, nullptr, 'p'},
      {"once", no_argument, nullptr, 'o'},
      {"bwlimit", required_argument, nullptr, 'b'},
      {"help", no_argument, nullptr, 'h'},
      {nullptr, 0, nullptr, 0},
  };
  replicator::ReplicateOptions opt;
  std::vector<std::string> order;  // mirrors in the order given
  std::map<std::string, replicator::MirrorTarget> mirrors;
  std::map<std::string, std::string> pins;
  const char* hint = "mirrorfs replicate --help";
  int rc = parse_options("replicate", argc, argv, ":h", kOptions, [&](int c, std::string_view arg) {
    if (c == 's') opt.state_dir = arg;
    if (c == 'o') opt.once = true;
    if (c == 'b') {
      Result<uint64_t> r = parse_bytes(arg, "a rate in bytes/s");
      if (r.is_ok() && *r == 0) r = Status::invalid_argument("--bwlimit must be above 0");
      if (!r.is_ok()) return usage_error("replicate", "--bwlimit: " + r.status().message(), hint);
      opt.bwlimit = *r;
    }
    if (c == 'm') {
      auto named = parse_named(arg, "HOST:PORT");
      if (!named.is_ok()) return usage_error("replicate", "--mirror: " + named.status().message(), hint);
      auto hp = parse_host_port(named->second);
      if (!hp.is_ok()) return usage_error("replicate", "--mirror: " + hp.status().message(), hint);
      if (mirrors.count(named->first)) {
        return usage_error("replicate", "mirror " + named->first + " given twice", hint);
      }
      order.push_back(named->first);
      auto& m = mirrors[named->first];
      m.name = named->first;
      m.host = hp->first;
      m.port = hp->second;
    }
    if (c == 'p') {
      auto named = parse_named(arg, "FINGERPRINT");
      if (!named.is_ok()) return usage_error("replicate", "--pin: " + named.status().message(), hint);
      auto fp = replicator::tls::parse_fingerprint(named->second);
      if (!fp.is_ok()) return usage_error("replicate", "--pin: " + fp.status().message(), hint);
      pins[named->first] = *fp;
    }
    return -1;
  });
  if (rc >= 0) return rc;
  if (optind != argc) return usage_error("replicate", "takes no operands", hint);
  if (opt.state_dir.empty()) return usage_error("replicate", "--state DIR is required", hint);
  if (order.empty()) return usage_error("replicate", "--mirror NAME=HOST:PORT is required", hint);
  for (const auto& [name, fp] : pins) {
    if (!mirrors.count(name)) {
      return usage_error("replicate", "--pin for " + name + ", which no --mirror names", hint);
    }
  }
  for (const std::string& name : order) {
    auto pin = pins.find(name);
    if (pin == pins.end()) {
      return usage_error("replicate", "mirror " + name + " has no --pin " + name +
                                          "=FINGERPRINT (the mirror's 'mirrorfs keygen')",
                         hint);
    }
    mirrors[name].fingerprint = pin->second;
    opt.mirrors.push_back(mirrors[name]);
  }
  install_stop_handlers();
  const Status st = replicator::run_replicate(opt, g_stop);
  return st.is_ok() ? kExitOk : fail("replicate", st);
}

int run_status_command(int argc, char** argv) {
  static const struct option kOptions[] = {
      {"state", required_argument, nullptr, 's'},
      {"json", no_argument, nullptr, 'j'},
      {"help", no_argument, nullptr, 'h'},
      {nullptr, 0, nullptr, 0},
  };
  std::string state;
  bool json = false;
  int rc = parse_options("status", argc, argv, ":h", kOptions, [&](int c, std::string_view arg) {
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

}  // namespace mirrorfs::cli
