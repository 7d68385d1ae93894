// How the mirrorfs executable reports failure: exactly one line
// "mirrorfs: <what>: <why>" on stderr, and an exit code.
#pragma once

#include <string_view>

#include "core/status.h"

namespace mirrorfs::cli {

// Exit codes, the ones rdiff's manual documents (rdiff 2.3.2 itself exits
// with librsync's internal result codes, 100 and up; we keep to the manual).
enum ExitCode : int {
  kExitOk = 0,
  kExitEnvironment = 1,  // usage error, missing file, I/O error, refusal
  kExitCorrupt = 2,      // a corrupt or malformed input file
  kExitInternal = 3,     // a bug or an unhandled situation in mirrorfs
};

// The exit code a failed Status stands for.
int exit_code_for(const Status& st);

// Prints "mirrorfs: <what>: <why>\n" to stderr as one line (newlines in
// either part become spaces). An empty `what` prints "mirrorfs: <why>".
void report(std::string_view what, std::string_view why);

// report(what, st.to_string()) and returns exit_code_for(st).
// REQUIRES: !st.is_ok().
int fail(std::string_view what, const Status& st);

// Writes help, version or result text to stdout and flushes it; a
// failure (e.g. stdout closed) is reported. Returns the exit code.
int print_text(std::string_view text);

// A usage error: the message, then the hint "try '<hint>'". Returns 1.
int usage_error(std::string_view what, std::string_view why,
                std::string_view hint = "mirrorfs --help");

}  // namespace mirrorfs::cli
