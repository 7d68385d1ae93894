#include "replicator/progress.h"

#include <unistd.h>

#include <cstdio>

#include "replicator/log.h"

namespace mirrorfs::replicator {

bool stderr_is_tty() { return ::isatty(STDERR_FILENO) == 1; }

std::string format_bytes(uint64_t n) {
  static const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
  if (n < 1024) return std::to_string(n) + " B";
  double v = static_cast<double>(n) / 1024;
  size_t u = 0;
  while (v >= 1024 && u + 1 < std::size(kUnits)) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %s", v, kUnits[u]);
  return buf;
}

namespace {

std::string format_duration(uint64_t secs) {
  char buf[32];
  if (secs >= 3600) {
    std::snprintf(buf, sizeof buf, "%llu:%02llu:%02llu",
                  static_cast<unsigned long long>(secs / 3600),
                  static_cast<unsigned long long>(secs / 60 % 60),
                  static_cast<unsigned long long>(secs % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%llu:%02llu", static_cast<unsigned long long>(secs / 60),
                  static_cast<unsigned long long>(secs % 60));
  }
  return buf;
}

}  // namespace

std::string format_progress(std::string_view what, const ProgressSnapshot& s) {
  std::string out = std::string(what) + ": " + std::to_string(s.files_done) + "/" +
                    std::to_string(s.files_total) + " files, " + format_bytes(s.bytes_done) +
                    " of " + format_bytes(s.bytes_total);
  if (s.bytes_total > 0) {
    const uint64_t pct = std::min<uint64_t>(100, s.bytes_done * 100 / s.bytes_total);
    out += " (" + std::to_string(pct) + "%)";
  }
  const double secs = std::chrono::duration<double>(s.elapsed).count();
  if (secs <= 0 || s.bytes_done == 0) return out + ", -- /s, ETA --";
  const double rate = static_cast<double>(s.bytes_done) / secs;
  out += ", " + format_bytes(static_cast<uint64_t>(rate)) + "/s";
  const uint64_t left = s.bytes_total > s.bytes_done ? s.bytes_total - s.bytes_done : 0;
  return out + ", ETA " + format_duration(static_cast<uint64_t>(static_cast<double>(left) / rate + 0.5));
}

ProgressMeter::ProgressMeter(ProgressOptions opt, uint64_t files_total, uint64_t bytes_total)
    : opt_(std::move(opt)) {
  if (!opt_.clock) opt_.clock = [] { return std::chrono::steady_clock::now(); };
  if (!opt_.write) {
    if (opt_.tty) {
      opt_.write = [](std::string_view l) { (void)!::write(STDERR_FILENO, l.data(), l.size()); };
    } else {
      opt_.write = [](std::string_view l) { log_info(l); };
    }
  }
  s_.files_total = files_total;
  s_.bytes_total = bytes_total;
  start_ = last_emit_ = opt_.clock();
}

ProgressSnapshot ProgressMeter::snapshot() const { return s_; }

void ProgressMeter::advance(uint64_t files, uint64_t bytes) {
  s_.files_done += files;
  s_.bytes_done += bytes;
  const auto now = opt_.clock();
  const auto every = opt_.tty ? opt_.redraw : opt_.log_every;
  if (now - last_emit_ >= every) emit(false);
}

void ProgressMeter::finish() {
  if (finished_) return;
  finished_ = true;
  emit(true);
}

void ProgressMeter::emit(bool last) {
  last_emit_ = opt_.clock();
  s_.elapsed = last_emit_ - start_;
  const std::string line = format_progress(opt_.what, s_);
  if (opt_.tty) {
    opt_.write("\r" + line + "\x1b[K" + (last ? "\n" : ""));
  } else {
    opt_.write(line);
  }
}

}  // namespace mirrorfs::replicator
