// What the config file layer (cli/config.h) needs to know of a command's
// command line: its getopt tables and the config keys naming its operands.
// Each command with options exposes one CommandSpec; main.cc lists them.
#pragma once

#include <getopt.h>

#include <string>
#include <vector>

namespace mirrorfs::cli {

// A config key for an option that has only a short form (mount: `options`
// gives -o).
struct ShortKey {
  std::string key;
  char flag = 0;
};

struct CommandSpec {
  std::string name;                 // "mount": also the [mount] section
  std::string shorts;               // getopt short options, e.g. "fho:"
  const struct option* longs = nullptr;  // getopt_long table, zero-terminated
  // Config keys naming the operands, in order (mount: backing, mountpoint).
  std::vector<std::string> operands;
  // Config keys whose option may be given many times: an array of strings
  // in the file becomes one option per element. The user giving any of
  // them on the command line drops the file's values for that key.
  std::vector<std::string> repeatable;
  std::vector<ShortKey> short_keys;
};

}  // namespace mirrorfs::cli
