// Statistics of one signature, delta or patch run (rdiff -s).
#pragma once

#include <cstdint>
#include <string>

namespace mirrorfs::core {

struct Stats {
  uint64_t in_bytes = 0;   // bytes consumed from the job's input
  uint64_t out_bytes = 0;  // bytes produced
  uint64_t literal_cmds = 0;
  uint64_t literal_bytes = 0;
  uint64_t literal_cmd_bytes = 0;  // opcode and length bytes of literals
  uint64_t copy_cmds = 0;
  uint64_t copy_bytes = 0;
  uint64_t copy_cmd_bytes = 0;
  uint64_t false_matches = 0;  // weak sum matched, strong sum did not
  uint64_t sig_blocks = 0;     // blocks in the signature made or used
  uint32_t block_len = 0;
  // Patch only: bytes of COPY commands shared with the basis by reflink
  // (FICLONERANGE) instead of being written.
  uint64_t cloned_bytes = 0;
  // Parallel delta only: the new-file offset where the second thread's
  // commands took over (0: the first thread did it all).
  uint64_t splice_at = 0;
};

// One line per kind of statistic, in the manner of rdiff -s, e.g.
// "delta: literal[2 cmds, 4096 bytes, 6 cmdbytes] copy[3 cmds, ...]".
std::string format_stats(const char* op, const Stats& s);

}  // namespace mirrorfs::core
