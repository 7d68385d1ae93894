// The progress meter: its line (counts, rate, ETA) with an injected
// clock, redraws on a terminal at most every redraw interval, plain lines
// otherwise at most every log_every, and always a last line.
#include "replicator/progress.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mirrorfs::replicator {
namespace {

using namespace std::chrono_literals;

struct Fake {
  std::chrono::steady_clock::time_point now{};
  std::vector<std::string> lines;
  ProgressOptions options(bool tty) {
    ProgressOptions o;
    o.tty = tty;
    o.clock = [this] { return now; };
    o.write = [this](std::string_view l) { lines.emplace_back(l); };
    return o;
  }
};

TEST(ProgressTest, FormatsCountsRateAndEta) {
  ProgressSnapshot s;
  s.files_done = 3;
  s.files_total = 10;
  s.bytes_done = 3u << 20;
  s.bytes_total = 10u << 20;
  s.elapsed = 2s;
  EXPECT_EQ(format_progress("restore", s),
            "restore: 3/10 files, 3.0 MiB of 10.0 MiB (30%), 1.5 MiB/s, ETA 0:05");
  s.elapsed = 0s;
  EXPECT_EQ(format_progress("restore", s),
            "restore: 3/10 files, 3.0 MiB of 10.0 MiB (30%), -- /s, ETA --");
  s.bytes_done = 1;
  s.bytes_total = 7200;
  s.elapsed = 1s;  // 1 B/s, 7199 s left
  EXPECT_EQ(format_progress("sync", s), "sync: 3/10 files, 1 B of 7.0 KiB (0%), 1 B/s, ETA 1:59:59");
  EXPECT_EQ(format_bytes(1023), "1023 B");
  EXPECT_EQ(format_bytes(uint64_t{5} << 40), "5.0 TiB");
}

TEST(ProgressTest, NotATerminalWritesPlainLinesEveryInterval) {
  Fake f;
  ProgressOptions o = f.options(false);
  o.log_every = 10s;
  ProgressMeter m(o, 100, 100 << 20);
  for (int i = 0; i < 100; ++i) {  // one file a second
    f.now += 1s;
    m.advance(1, 1 << 20);
  }
  m.finish();
  m.finish();  // once only
  // 100 s at most every 10 s: 10 lines, and the last.
  ASSERT_EQ(f.lines.size(), 11u);
  for (const std::string& l : f.lines) {
    EXPECT_EQ(l.find('\r'), std::string::npos) << l;
    EXPECT_EQ(l.find('\x1b'), std::string::npos) << l;
    EXPECT_EQ(l.find('\n'), std::string::npos) << l;
  }
  EXPECT_EQ(f.lines[0], "restore: 10/100 files, 10.0 MiB of 100.0 MiB (10%), 1.0 MiB/s, ETA 1:30");
  EXPECT_EQ(f.lines.back(), "restore: 100/100 files, 100.0 MiB of 100.0 MiB (100%), 1.0 MiB/s, ETA 0:00");
}

TEST(ProgressTest, TerminalRedrawsOneLineAtMostFourTimesASecond) {
  Fake f;
  ProgressMeter m(f.options(true), 1000, 1000);
  for (int i = 0; i < 1000; ++i) {  // 1000 files in 1 s
    f.now += 1ms;
    m.advance(1, 1);
  }
  m.finish();
  ASSERT_EQ(f.lines.size(), 5u);  // at 250, 500, 750, 1000 ms, and the last
  for (const std::string& l : f.lines) {
    EXPECT_EQ(l.front(), '\r');
    EXPECT_NE(l.find("\x1b[K"), std::string::npos);
  }
  EXPECT_EQ(f.lines.back().back(), '\n');
  EXPECT_EQ(f.lines[0].find('\n'), std::string::npos);
}

}  // namespace
}  // namespace mirrorfs::replicator
