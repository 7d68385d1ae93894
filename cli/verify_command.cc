#include "cli/verify_command.h"

#include <cstdio>
#include <string>

#include "cli/command_args.h"
#include "cli/report.h"
#include "replicator/log.h"
#include "replicator/verify.h"

namespace mirrorfs::cli {
namespace {

constexpr int kIdentical = 0, kDiffer = 1, kTrouble = 2;

// A path on one line: newline and backslash escaped.
std::string printable(const std::string& p) {
  std::string out;
  for (char c : p) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void print_report(const replicator::VerifyReport& r) {
  for (const replicator::Difference& d : r.differences) {
    std::printf("%s  %s\n", d.kind.c_str(), printable(d.path).c_str());
  }
  for (const std::string& p : r.pending) std::printf("pending  %s\n", printable(p).c_str());
  std::printf("summary  entries=%llu source_hashed=%llu mirror_hashed=%llu differences=%zu "
              "pending=%zu\n",
              static_cast<unsigned long long>(r.entries),
              static_cast<unsigned long long>(r.source_bytes),
              static_cast<unsigned long long>(r.mirror_bytes), r.differences.size(),
              r.pending.size());
  std::fflush(stdout);
}

}  // namespace

namespace {

const struct option kOptions[] = {
    {"state", required_argument, nullptr, 's'},
    {"mirror", required_argument, nullptr, 'm'},
    {"pin", required_argument, nullptr, 'p'},
    {"repair", no_argument, nullptr, 'r'},
    {"help", no_argument, nullptr, 'h'},
    {nullptr, 0, nullptr, 0},
};

}  // namespace

const CommandSpec& verify_spec() {
  static const CommandSpec spec{"verify", ":h", kOptions, {}, {}, {}};
  return spec;
}

int run_verify_command(int argc, char** argv) {
  replicator::set_log_component("verify");
  replicator::VerifyOptions opt;
  MirrorArgs mirrors;
  bool repair = false;
  const char* hint = "mirrorfs verify --help";
  int rc = parse_options("verify", argc, argv, ":h", kOptions, [&](int c, std::string_view arg) {
    if (c == 's') opt.state_dir = arg;
    if (c == 'r') repair = true;
    std::string err;
    if (c == 'm') err = mirrors.add_mirror(arg);
    if (c == 'p') err = mirrors.add_pin(arg);
    if (!err.empty()) {
      usage_error("verify", err, hint);
      return kTrouble;
    }
    return -1;
  });
  if (rc > 0) return kTrouble;  // a usage error (reported)
  if (rc == 0) return kIdentical;  // --help
  for (int i = optind; i < argc; ++i) opt.paths.emplace_back(argv[i]);
  if (opt.state_dir.empty()) {
    usage_error("verify", "--state DIR is required", hint);
    return kTrouble;
  }
  Result<replicator::MirrorTarget> target = mirrors.one();
  if (!target.is_ok()) {
    usage_error("verify", target.status().message(), hint);
    return kTrouble;
  }
  opt.mirror = *target;
  Result<replicator::VerifyReport> report = replicator::verify_mirror(opt);
  if (!report.is_ok()) {
    fail("verify", report.status());
    return kTrouble;
  }
  print_report(*report);
  if (report->differences.empty()) return kIdentical;
  if (!repair) return kDiffer;
  const Status repaired = replicator::repair_mirror(opt, *report, install_stop_handlers());
  if (!repaired.is_ok()) {
    fail("verify", repaired);
    return kDiffer;
  }
  std::printf("after repair\n");
  report = replicator::verify_mirror(opt);
  if (!report.is_ok()) {
    fail("verify", report.status());
    return kTrouble;
  }
  print_report(*report);
  return report->differences.empty() ? kIdentical : kDiffer;
}

}  // namespace mirrorfs::cli
