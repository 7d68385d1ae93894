// `mirrorfs status`: per mirror, what it acknowledged, what is pending,
// when it was last reached and how that went, traffic — as text for
// people or as JSON for scripts.
#pragma once

#include <string>

namespace mirrorfs::cli {

// Prints the status of the state in DIR. Returns the exit code.
int print_status(const std::string& state_dir, bool json);

}  // namespace mirrorfs::cli
