#include "cli/restore_command.h"

#include <getopt.h>

#include <cstdio>
#include <string>

#include "cli/command_args.h"
#include "cli/report.h"
#include "replicator/progress.h"
#include "replicator/restore.h"

namespace mirrorfs::cli {
namespace {

const struct option kOptions[] = {
    {"state", required_argument, nullptr, 's'},
    {"mirror", required_argument, nullptr, 'm'},
    {"pin", required_argument, nullptr, 'p'},
    {"to", required_argument, nullptr, 't'},
    {"help", no_argument, nullptr, 'h'},
    {nullptr, 0, nullptr, 0},
};

}  // namespace

const CommandSpec& restore_spec() {
  static const CommandSpec spec{"restore", ":h", kOptions, {}, {}, {}};
  return spec;
}

int run_restore_command(int argc, char** argv) {
  replicator::RestoreOptions opt;
  MirrorArgs mirrors;
  const char* hint = "mirrorfs restore --help";
  int rc = parse_options("restore", argc, argv, ":h", kOptions, [&](int c, std::string_view arg) {
    if (c == 's') opt.state_dir = arg;
    if (c == 't') opt.dest = arg;
    std::string err;
    if (c == 'm') err = mirrors.add_mirror(arg);
    if (c == 'p') err = mirrors.add_pin(arg);
    if (!err.empty()) return usage_error("restore", err, hint);
    return -1;
  });
  if (rc >= 0) return rc;
  for (int i = optind; i < argc; ++i) opt.paths.emplace_back(argv[i]);
  if (opt.state_dir.empty()) return usage_error("restore", "--state DIR is required", hint);
  if (opt.dest.empty()) return usage_error("restore", "--to DEST is required", hint);
  Result<replicator::MirrorTarget> target = mirrors.one();
  if (!target.is_ok()) return usage_error("restore", target.status().message(), hint);
  opt.mirror = *target;
  opt.progress.what = "restore";
  opt.progress.tty = replicator::stderr_is_tty();
  if (!opt.progress.tty) {
    opt.progress.write = [](std::string_view l) { std::fprintf(stderr, "mirrorfs restore: %.*s\n",
                                                               static_cast<int>(l.size()), l.data()); };
  }
  Result<replicator::RestoreStats> r = replicator::run_restore(opt, install_stop_handlers());
  if (!r.is_ok()) return fail("restore", r.status());
  const replicator::RestoreStats& s = *r;
  std::printf("restored %llu files, %llu bytes, %llu on the wire (%llu saved by deltas); "
              "%llu directories, %llu symlinks, %llu hard links, %llu other nodes\n",
              static_cast<unsigned long long>(s.files), static_cast<unsigned long long>(s.bytes),
              static_cast<unsigned long long>(s.wire_bytes),
              static_cast<unsigned long long>(s.saved_bytes),
              static_cast<unsigned long long>(s.dirs), static_cast<unsigned long long>(s.symlinks),
              static_cast<unsigned long long>(s.links), static_cast<unsigned long long>(s.nodes));
  std::fflush(stdout);
  if (s.skipped_nodes > 0) {
    std::fprintf(stderr, "mirrorfs restore: %llu device nodes not made (needs root)\n",
                 static_cast<unsigned long long>(s.skipped_nodes));
  }
  if (s.failed > 0) {
    return fail("restore", Status(Code::kIoError, std::to_string(s.failed) +
                                                      " entries not restored; the first: " +
                                                      s.first_error));
  }
  return kExitOk;
}

}  // namespace mirrorfs::cli
