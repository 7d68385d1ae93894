// The rdiff-compatible commands: signature, delta, patch. Each takes the
// parsed options and its arguments, does the work through core's fd API,
// reports any failure as one line on stderr, and returns the exit code
// (see cli/report.h).
#pragma once

#include <string>
#include <vector>

#include "cli/options.h"

namespace mirrorfs::cli {

// mirrorfs signature [OPTIONS] [BASIS [SIGNATURE]]
int run_signature(const RdiffOptions& opt,
                  const std::vector<std::string>& args);

// mirrorfs delta [OPTIONS] SIGNATURE [NEWFILE [DELTA]]
int run_delta(const RdiffOptions& opt, const std::vector<std::string>& args);

// mirrorfs patch [OPTIONS] BASIS [DELTA [NEWFILE]]
int run_patch(const RdiffOptions& opt, const std::vector<std::string>& args);

}  // namespace mirrorfs::cli
