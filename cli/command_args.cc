#include "cli/command_args.h"

#include <signal.h>

#include <cstdio>

#include "cli/help.h"
#include "cli/report.h"
#include "replicator/tls/identity.h"

namespace mirrorfs::cli {

namespace {

std::atomic<bool> g_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free);

void on_signal(int) { g_stop.store(true); }

}  // namespace

const std::atomic<bool>& install_stop_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(sig, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  return g_stop;
}

int print_help(const char* cmd) {
  const std::string_view text = command_help(cmd);
  std::fwrite(text.data(), 1, text.size(), stdout);
  return kExitOk;
}

Result<std::pair<std::string, uint16_t>> parse_host_port(std::string_view s,
                                                         bool allow_zero) {
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

Result<std::pair<std::string, std::string>> parse_named(std::string_view s,
                                                        const char* what) {
  const size_t eq = s.find('=');
  if (eq == std::string_view::npos || eq == 0 || eq + 1 == s.size()) {
    return Status::invalid_argument("'" + std::string(s) + "' is not NAME=" + what);
  }
  return std::make_pair(std::string(s.substr(0, eq)), std::string(s.substr(eq + 1)));
}

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

std::string MirrorArgs::add_mirror(std::string_view arg) {
  if (arg.find('=') == std::string_view::npos && !arg.empty()) {
    selected_.emplace_back(arg);
    return {};
  }
  auto named = parse_named(arg, "HOST:PORT");
  if (!named.is_ok()) return "--mirror: " + named.status().message();
  auto hp = parse_host_port(named->second);
  if (!hp.is_ok()) return "--mirror: " + hp.status().message();
  if (mirrors_.count(named->first)) return "mirror " + named->first + " given twice";
  order_.push_back(named->first);
  auto& m = mirrors_[named->first];
  m.name = named->first;
  m.host = hp->first;
  m.port = hp->second;
  return {};
}

std::string MirrorArgs::add_pin(std::string_view arg) {
  auto named = parse_named(arg, "FINGERPRINT");
  if (!named.is_ok()) return "--pin: " + named.status().message();
  auto fp = replicator::tls::parse_fingerprint(named->second);
  if (!fp.is_ok()) return "--pin: " + fp.status().message();
  pins_[named->first] = *fp;
  return {};
}

Result<std::vector<replicator::MirrorTarget>> MirrorArgs::all() const {
  if (order_.empty()) return Status::invalid_argument("--mirror NAME=HOST:PORT is required");
  for (const auto& [name, fp] : pins_) {
    if (!mirrors_.count(name)) {
      return Status::invalid_argument("--pin for " + name + ", which no --mirror names");
    }
  }
  std::vector<replicator::MirrorTarget> out;
  for (const std::string& name : order_) {
    auto pin = pins_.find(name);
    if (pin == pins_.end()) {
      return Status::invalid_argument("mirror " + name + " has no --pin " + name +
                                      "=FINGERPRINT (the mirror's 'mirrorfs keygen')");
    }
    replicator::MirrorTarget m = mirrors_.at(name);
    m.fingerprint = pin->second;
    out.push_back(std::move(m));
  }
  return out;
}

Result<replicator::MirrorTarget> MirrorArgs::one() const {
  Result<std::vector<replicator::MirrorTarget>> defined = all();
  if (!defined.is_ok()) return defined.status();
  if (selected_.size() > 1) return Status::invalid_argument("--mirror NAME given more than once");
  if (selected_.empty()) {
    if (defined->size() == 1) return defined->front();
    return Status::invalid_argument("several mirrors are defined; choose one with --mirror NAME");
  }
  for (const replicator::MirrorTarget& m : *defined) {
    if (m.name == selected_.front()) return m;
  }
  return Status::invalid_argument("no mirror named " + selected_.front() +
                                  " is defined (--mirror NAME=HOST:PORT or the config file)");
}

}  // namespace mirrorfs::cli
