// `mirrorfs status` and `mirrorfs forget`: per mirror, what it acknowledged, what is pending,
// when it was last reached and how that went, traffic — as text for
// people or as JSON for scripts.
#pragma once

#include <string>

namespace mirrorfs::cli {

// Prints the status of the state in DIR. Returns the exit code.
int print_status(const std::string& state_dir, bool json);

// `mirrorfs forget`: drops mirror `name` from DIR/state.db (what it
// acknowledged and which versions it holds), trims the journal to what the
// remaining mirrors acknowledged and drops signatures nothing refers to.
// Returns the exit code (1 for an unknown name, listing the known ones).
int forget_mirror(const std::string& state_dir, const std::string& name);

}  // namespace mirrorfs::cli
