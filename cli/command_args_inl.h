// The template part of command_args.h.
#pragma once

#include "cli/report.h"

namespace mirrorfs::cli {

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

}  // namespace mirrorfs::cli
