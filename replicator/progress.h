// A progress meter for long transfers (restore, a mirror's initial sync):
// files and bytes done of a total, the average rate and the time left.
// On a terminal it redraws one line in place at most every `redraw`; not
// on one (a daemon's log, a pipe) it writes a plain line at most every
// `log_every`; finish() always writes a last line.
//
// Thread-safety: one thread at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace mirrorfs::replicator {

struct ProgressOptions {
  std::string what = "restore";  // the label each line starts with
  bool tty = false;              // redraw in place (see stderr_is_tty)
  std::chrono::milliseconds redraw{250};
  std::chrono::milliseconds log_every{10000};
  // Where lines go. A tty line comes with "\r" first and "\x1b[K" after
  // (and a "\n" at finish); a plain one is a whole line without "\n".
  // Unset: tty lines to stderr, plain lines through the log (log_info).
  std::function<void(std::string_view)> write;
  // Unset: std::chrono::steady_clock::now (tests inject a fake clock).
  std::function<std::chrono::steady_clock::time_point()> clock;
};

// True when standard error is a terminal.
bool stderr_is_tty();

struct ProgressSnapshot {
  uint64_t files_done = 0, files_total = 0;
  uint64_t bytes_done = 0, bytes_total = 0;
  std::chrono::nanoseconds elapsed{0};
};

// "restore: 12/40 files, 3.0 MiB of 10.0 MiB (30%), 1.5 MiB/s, ETA 0:04"
// (the rate and ETA as "--" before any time passed or bytes moved).
std::string format_progress(std::string_view what, const ProgressSnapshot& s);

// "1023 B", "1.5 KiB", "3.0 MiB", "2.0 GiB", "1.0 TiB".
std::string format_bytes(uint64_t n);

class ProgressMeter {
 public:
  ProgressMeter(ProgressOptions opt, uint64_t files_total, uint64_t bytes_total);

  // `files` more files and `bytes` more bytes are done; may write a line.
  void advance(uint64_t files, uint64_t bytes);
  // Writes the last line (once).
  void finish();
  ProgressSnapshot snapshot() const;

 private:
  void emit(bool last);

  ProgressOptions opt_;
  ProgressSnapshot s_;
  std::chrono::steady_clock::time_point start_, last_emit_;
  bool finished_ = false;
};

}  // namespace mirrorfs::replicator
