// One log line on stderr: "<UTC time> mirrorfs <component>: <level>:
// <message>", newlines in the message folded, written with one write(2)
// so lines from several threads never interleave and a daemon's log
// (journald, a file) reads on its own. Not part of the algorithm: the
// daemons (fs/, replicator/) share it.
#pragma once

#include <string_view>

namespace mirrorfs::core {

void log_line(std::string_view component, std::string_view level,
              std::string_view message);

}  // namespace mirrorfs::core
