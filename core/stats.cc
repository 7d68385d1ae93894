#include "core/stats.h"

#include <cstdio>

namespace mirrorfs::core {

std::string format_stats(const char* op, const Stats& s) {
  char line[512];
  std::snprintf(
      line, sizeof line,
      "%s statistics: literal[%llu cmds, %llu bytes, %llu cmdbytes] "
      "copy[%llu cmds, %llu bytes, %llu cmdbytes] false_matches[%llu] "
      "sig[%llu blocks, %u bytes per block] in[%llu bytes] out[%llu bytes]",
      op, static_cast<unsigned long long>(s.literal_cmds),
      static_cast<unsigned long long>(s.literal_bytes),
      static_cast<unsigned long long>(s.literal_cmd_bytes),
      static_cast<unsigned long long>(s.copy_cmds),
      static_cast<unsigned long long>(s.copy_bytes),
      static_cast<unsigned long long>(s.copy_cmd_bytes),
      static_cast<unsigned long long>(s.false_matches),
      static_cast<unsigned long long>(s.sig_blocks), s.block_len,
      static_cast<unsigned long long>(s.in_bytes),
      static_cast<unsigned long long>(s.out_bytes));
  return line;
}

}  // namespace mirrorfs::core
