// Readiness for a service manager: systemd's Type=notify protocol
// (sd_notify(3)), written here rather than linking libsystemd for one
// datagram.
#pragma once

#include <string_view>

namespace mirrorfs::cli {

// Sends `state` (e.g. "READY=1") as one datagram to the unix socket named
// by $NOTIFY_SOCKET (an abstract socket when the name starts with '@').
// Without $NOTIFY_SOCKET it does nothing. Returns whether it was sent;
// failures are not errors (nobody may be listening).
bool notify_service_manager(std::string_view state);

}  // namespace mirrorfs::cli
