// The replicator's and the mirror's log (core/log.h): "mirrorfs
// replicate: ..." or "mirrorfs serve: ...", as the command set it.
#pragma once

#include <string_view>

#include "core/log.h"

namespace mirrorfs::replicator {

// Which command logs: "replicate" (the default) or "serve". Set once at
// start, before any thread logs.
void set_log_component(const char* name);
const char* log_component();

inline void log_info(std::string_view m) { core::log_line(log_component(), "info", m); }
inline void log_error(std::string_view m) { core::log_line(log_component(), "error", m); }

}  // namespace mirrorfs::replicator
