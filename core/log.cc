#include "core/log.h"

#include <time.h>
#include <unistd.h>

#include <string>

namespace mirrorfs::core {

void log_line(std::string_view component, std::string_view level,
              std::string_view message) {
  char stamp[32] = "";
  struct timespec ts {};
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm {};
  gmtime_r(&ts.tv_sec, &tm);
  strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
  std::string line = stamp;
  line += " mirrorfs ";
  line += component;
  line += ": ";
  line += level;
  line += ": ";
  for (char c : message) line += c == '\n' ? ' ' : c;
  line += '\n';
  [[maybe_unused]] ssize_t n = ::write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace mirrorfs::core
