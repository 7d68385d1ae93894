#include "cli/keygen_command.h"

#include <getopt.h>

#include <string>

#include "cli/help.h"
#include "cli/report.h"
#include "replicator/tls/identity.h"

namespace mirrorfs::cli {
namespace {

const struct option kOptions[] = {
    {"state", required_argument, nullptr, 's'},
    {"help", no_argument, nullptr, 'h'},
    {nullptr, 0, nullptr, 0},
};

constexpr std::string_view kHint = "mirrorfs keygen --help";

}  // namespace

const CommandSpec& keygen_spec() {
  static const CommandSpec spec{"keygen", ":h", kOptions, {}, {}, {}};
  return spec;
}

int run_keygen_command(int argc, char** argv) {
  std::string state_dir;
  opterr = 0;
  optind = 0;
  for (;;) {
    const int c = getopt_long(argc, argv, keygen_spec().shorts.c_str(), kOptions, nullptr);
    if (c == -1) break;
    switch (c) {
      case 's':
        state_dir = optarg;
        break;
      case 'h':
        return print_text(command_help("keygen"));
      case ':':
        return usage_error("keygen",
                           std::string(argv[optind - 1]) + " needs an argument",
                           kHint);
      default:
        return usage_error(
            "keygen", std::string("unknown option ") + argv[optind - 1], kHint);
    }
  }
  if (optind < argc) {
    return usage_error(
        "keygen", std::string("unexpected argument '") + argv[optind] + "'",
        kHint);
  }
  if (state_dir.empty()) {
    return usage_error("keygen", "--state DIR is required", kHint);
  }
  bool created = false;
  auto id = replicator::tls::load_or_create_identity(state_dir, &created);
  if (!id) return fail("keygen", id.status());
  if (created) {
    report("keygen", "created a new identity in " + state_dir);
  }
  return print_text(id->fingerprint + "\n");
}

}  // namespace mirrorfs::cli
