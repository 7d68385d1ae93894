// The mirrorfs command line: `mirrorfs [OPTIONS] COMMAND [OPTIONS] [ARGS]`.
// Options may come before or after the command (GNU getopt_long permutes);
// `--` ends them, and `-` is an argument (standard input or output).
#pragma once

#include <string>
#include <vector>

#include "core/signature_format.h"
#include "core/status.h"

namespace mirrorfs::cli {

// The options of the rdiff-compatible commands, with rdiff 2.3's defaults.
struct RdiffOptions {
  core::WeakKind weak = core::WeakKind::kRabinKarp;     // -R/--rollsum
  core::StrongKind strong = core::StrongKind::kBlake2;  // -H/--hash
  uint32_t block_len = 0;   // -b/--block-size; 0: recommended for the size
  int strong_len = 0;       // -S/--sum-size; 0: maximum, -1: minimum safe
  bool statistics = false;  // -s/--statistics: print statistics to stderr
  bool force = false;       // -f/--force: overwrite an existing output file
  bool verbose = false;     // -v/--verbose: say what is being done

  // The signature-only options given (as spelled, e.g. "-b"), so that the
  // other commands can refuse them instead of silently ignoring them.
  std::vector<std::string> signature_only;

  // The signature request these options make (magic from -H and -R).
  core::SignatureRequest signature_request() const;
};

struct CommandLine {
  std::string command;            // empty when none was given
  std::vector<std::string> args;  // the arguments after the command
  RdiffOptions rdiff;
  bool help = false;     // -h/--help
  bool version = false;  // -V/--version
};

// Parses all of `text` as a base-10 integer; false if it is not one (or
// out of range).
bool parse_integer(const char* text, long long* out);

// Parses argv. A usage error is a kInvalidArgument Status whose message is
// "<what>: <why>" (e.g. "--block-size: 'x' is not a number").
Result<CommandLine> parse_command_line(int argc, char** argv);

// The signature magic for a weak and a strong sum.
core::SigMagic make_magic(core::WeakKind weak, core::StrongKind strong);

}  // namespace mirrorfs::cli
