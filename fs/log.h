// The mount's log: one line per event on stderr, "mirrorfs mount: ...",
// with the time, so a daemon's log (journald, a file) reads on its own.
// Thread-safe (one write(2) per line).
#pragma once

#include <string_view>

namespace mirrorfs::fs {

void log_line(std::string_view level, std::string_view message);
inline void log_info(std::string_view m) { log_line("info", m); }
inline void log_error(std::string_view m) { log_line("error", m); }

}  // namespace mirrorfs::fs
