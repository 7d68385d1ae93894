// The mount's log: one line per event on stderr, "mirrorfs mount: ...",
// with the time (core/log.h). Thread-safe.
#pragma once

#include <string_view>

#include "core/log.h"

namespace mirrorfs::fs {

inline void log_info(std::string_view m) { core::log_line("mount", "info", m); }
inline void log_error(std::string_view m) { core::log_line("mount", "error", m); }

}  // namespace mirrorfs::fs
