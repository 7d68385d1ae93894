#include "core/stats.h"

#include <cstdio>
#include <cstring>

namespace mirrorfs::core {

namespace {
using ull = unsigned long long;

void append(std::string& s, const char* fmt, ull a, ull b = 0, ull c = 0) {
  char buf[128];
  std::snprintf(buf, sizeof buf, fmt, a, b, c);
  s += buf;
}
}  // namespace

std::string format_stats(const char* op, const Stats& s) {
  std::string out = std::string(op) + " statistics:";
  const bool is_signature = std::strcmp(op, "signature") == 0;
  if (!is_signature) {
    append(out, " literal[%llu cmds, %llu bytes, %llu cmdbytes]",
           s.literal_cmds, s.literal_bytes, s.literal_cmd_bytes);
    append(out, " copy[%llu cmds, %llu bytes, %llu cmdbytes]", s.copy_cmds,
           s.copy_bytes, s.copy_cmd_bytes);
  }
  if (std::strcmp(op, "delta") == 0) {
    append(out, " false_matches[%llu]", s.false_matches);
  }
  if (s.block_len != 0) {
    append(out, " signature[%llu blocks, %llu bytes per block]", s.sig_blocks,
           s.block_len);
  }
  if (s.cloned_bytes != 0) {
    append(out, " cloned[%llu bytes]", s.cloned_bytes);
  }
  append(out, " in[%llu bytes] out[%llu bytes]", s.in_bytes, s.out_bytes);
  return out;
}

}  // namespace mirrorfs::core
