#include "cli/mount_command.h"

#include <getopt.h>
#include <signal.h>

#include <cstdio>
#include <string>

#include "cli/help.h"
#include "cli/metrics_collectors.h"
#include "cli/service_notify.h"
#include "cli/options.h"
#include "cli/report.h"
#include "fs/mount.h"
#include "fs/op_stats.h"

namespace mirrorfs::cli {
namespace {

const struct option kOptions[] = {
    {"state", required_argument, nullptr, 's'},
    {"foreground", no_argument, nullptr, 'f'},
    {"help", no_argument, nullptr, 'h'},
    {"no-journal", no_argument, nullptr, 'J'},
    {"fd-cache", required_argument, nullptr, 'C'},
    {"commit-delay", required_argument, nullptr, 'D'},
    {"metrics", required_argument, nullptr, 'M'},
    {nullptr, 0, nullptr, 0},
};

}  // namespace

const CommandSpec& mount_spec() {
  static const CommandSpec spec{"mount", ":fho:", kOptions, {"backing", "mountpoint"},
                                {"options"}, {{"options", 'o'}}};
  return spec;
}

int run_mount_command(int argc, char** argv) {
  fs::MountOptions opt;
  std::string metrics;
  opterr = 0;
  optind = 0;
  for (;;) {
    const int c = getopt_long(argc, argv, mount_spec().shorts.c_str(), kOptions, nullptr);
    if (c == -1) break;
    switch (c) {
      case 's':
        opt.state_dir = optarg;
        break;
      case 'f':
        opt.foreground = true;
        break;
      case 'J':
        opt.journal = false;
        break;
      case 'C': {
        long long n = 0;
        if (!parse_integer(optarg, &n) || n < 1 || n > 1000000) {
          return usage_error("mount",
                             std::string("--fd-cache: '") + optarg +
                                 "' is not a number from 1 to 1000000",
                             "mirrorfs mount --help");
        }
        opt.fd_cache = static_cast<size_t>(n);
        break;
      }
      case 'D': {
        long long n = 0;
        if (!parse_integer(optarg, &n) || n < 0 || n > 3600000) {
          return usage_error("mount",
                             std::string("--commit-delay: '") + optarg +
                                 "' is not a number of ms from 0 to 3600000",
                             "mirrorfs mount --help");
        }
        opt.commit_delay = std::chrono::milliseconds(n);
        break;
      }
      case 'M':
        metrics = optarg;
        break;
      case 'o':
        opt.fuse_options.emplace_back(optarg);
        break;
      case 'h': {
        const std::string_view text = command_help("mount");
        std::fwrite(text.data(), 1, text.size(), stdout);
        return kExitOk;
      }
      case ':':
        return usage_error("mount", std::string(argv[optind - 1]) +
                                        " needs an argument",
                           "mirrorfs mount --help");
      default:
        return usage_error("mount",
                           std::string("unknown option ") + argv[optind - 1],
                           "mirrorfs mount --help");
    }
  }
  if (argc - optind != 2) {
    return usage_error("mount", "needs BACKING and MOUNTPOINT",
                       "mirrorfs mount --help");
  }
  opt.backing = argv[optind];
  opt.mountpoint = argv[optind + 1];
  if (opt.state_dir.empty()) {
    return usage_error("mount", "--state DIR is required",
                       "mirrorfs mount --help");
  }
  // libfuse installs its unmount-on-signal handlers only over the default
  // disposition; the output-file cleanup handlers of main() have no
  // business here.
  for (int sig : {SIGHUP, SIGINT, SIGTERM}) ::signal(sig, SIG_DFL);
  // --metrics: bound here (a busy address fails now, on the terminal),
  // served from the daemon once mounted (fs/mount.h on_mounted).
  fs::OpStats op_stats;
  std::unique_ptr<StateReader> state;
  std::unique_ptr<MetricsServer> server;  // stopped before state goes
  if (!metrics.empty()) {
    if (Status s = bind_metrics("mount", metrics, &server); !s.is_ok()) return fail("mount", s);
    opt.op_stats = &op_stats;
    opt.on_mounted = [&](const fs::MountOptions& checked) {
      state = std::make_unique<StateReader>(checked.state_dir);
      return server->start([&] { return render_mount_metrics(op_stats, *state); });
    };
  }
  // Once mounted, tell a service manager (mirrorfs-mount@.service is
  // Type=notify), so that what is ordered after the unit, and the command
  // that started it, find the mount in place.
  opt.on_mounted = [metrics_hook = std::move(opt.on_mounted)](const fs::MountOptions& checked) {
    if (metrics_hook) MIRRORFS_RETURN_IF_ERROR(metrics_hook(checked));
    notify_service_manager("READY=1");
    return Status::ok();
  };
  const Status st = fs::run_mount(opt);
  return st.is_ok() ? kExitOk : fail("mount", st);
}

}  // namespace mirrorfs::cli
