// The config file (docs/config.md): one TOML file holds the settings of
// every command; `--config FILE` turns the part that concerns the running
// command into command-line arguments placed before the user's own, so
// flags given on the command line win.
//
// Only cli/config.cc sees toml++; nothing here throws.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/command_spec.h"
#include "core/status.h"

namespace mirrorfs::cli {

// One key = value of the file, validated against the commands it applies
// to and rendered as text.
struct ConfigEntry {
  std::string key;
  std::optional<bool> flag;          // set for a boolean (a no-argument option)
  std::vector<std::string> values;   // strings, integers in decimal, arrays
  int line = 0;
};

// [mirrors.NAME]: becomes --mirror NAME=ADDRESS --pin NAME=PIN.
struct ConfigMirror {
  std::string name;
  std::string address;
  std::string pin;
  int line = 0;
};

struct ConfigFile {
  std::string path;
  // Everything in file order.
  std::vector<ConfigEntry> top;  // top-level keys: every command that has them
  std::vector<std::pair<std::string, std::vector<ConfigEntry>>> sections;
  std::vector<ConfigMirror> mirrors;
};

// How a command takes a config key.
enum class KeyKind { kUnknown, kFlag, kValue, kRepeatable, kOperand, kMirrors };

// kUnknown for a key `cmd` does not have. `mirror` and `pin` are kMirrors
// (only [mirrors.NAME] sets them); `help` and `config` are never keys.
KeyKind key_kind(const CommandSpec& cmd, std::string_view key);

// Parses and validates config text: every section and key is checked
// against `commands` (all commands, not only the running one). Errors are
// "PATH:LINE: what" (syntax errors "PATH:LINE:COL: what").
Result<ConfigFile> parse_config(std::string_view text, const std::string& path,
                                const std::vector<const CommandSpec*>& commands);

// Reads PATH (at most 1 MiB) and parse_config()s it; a missing or
// unreadable file is an error naming it.
Result<ConfigFile> load_config(const std::string& path,
                               const std::vector<const CommandSpec*>& commands);

// The arguments `cmd` would get from `file`, in the order: top-level keys,
// the [cmd] section (a key there replaces the same top-level key), the
// mirrors. Values the user's arguments define are left out:
// `user_defines` lists the keys whose options the user gave (a repeatable
// key given by the user drops the file's values; "mirror" drops the
// mirrors). Operands are returned separately in `operands`.
std::vector<std::string> config_arguments(const ConfigFile& file, const CommandSpec& cmd,
                                          const std::vector<std::string>& user_defines,
                                          std::vector<std::string>* operands);

// The whole mechanism for one command line: `args` is the command's argv
// (args[0] is the command name). Without --config it is returned as it
// is. With `--config FILE` / `--config=FILE` (anywhere before "--"), the
// file's arguments for `cmd` come first, then the user's arguments without
// --config, then the file's operands if the user gave none. With -h/--help
// the file is not read.
Result<std::vector<std::string>> expand_config(const CommandSpec& cmd,
                                               const std::vector<const CommandSpec*>& commands,
                                               const std::vector<std::string>& args);

}  // namespace mirrorfs::cli
