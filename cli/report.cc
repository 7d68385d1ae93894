#include "cli/report.h"

#include <unistd.h>

#include <cassert>
#include <cstdio>
#include <string>

namespace mirrorfs::cli {

namespace {

void append_one_line(std::string& out, std::string_view s) {
  for (char c : s) out += (c == '\n' || c == '\r') ? ' ' : c;
}

}  // namespace

int exit_code_for(const Status& st) {
  switch (st.code()) {
    case Code::kOk:
      return kExitOk;
    case Code::kCorrupt:
    case Code::kOutOfRange:  // e.g. a COPY past the end of the basis
      return kExitCorrupt;
    case Code::kInternal:
      return kExitInternal;
    case Code::kInvalidArgument:
    case Code::kNotFound:
    case Code::kAlreadyExists:
    case Code::kIoError:
    case Code::kUnsupported:
      return kExitEnvironment;
  }
  return kExitInternal;
}

void report(std::string_view what, std::string_view why) {
  std::string line = "mirrorfs: ";
  if (!what.empty()) {
    append_one_line(line, what);
    line += ": ";
  }
  append_one_line(line, why);
  line += '\n';
  // One write so that concurrent writers to the same stderr do not
  // interleave inside the line. A failure to report has nowhere to go.
  size_t done = 0;
  while (done < line.size()) {
    ssize_t n = ::write(STDERR_FILENO, line.data() + done, line.size() - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
}

int fail(std::string_view what, const Status& st) {
  assert(!st.is_ok());
  report(what, st.to_string());
  int code = exit_code_for(st);
  return code == kExitOk ? kExitInternal : code;
}

int print_text(std::string_view text) {
  if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() ||
      std::fflush(stdout) != 0) {
    report("standard output", "write failed");
    return kExitEnvironment;
  }
  return kExitOk;
}

int usage_error(std::string_view what, std::string_view why,
                std::string_view hint) {
  std::string msg(why);
  msg += "; try '";
  msg += hint;
  msg += "'";
  report(what, msg);
  return kExitEnvironment;
}

}  // namespace mirrorfs::cli
