// Journal rows as short strings for test expectations: "create a/b",
// "rename a>b", "extent @off+len".
#pragma once

#include <string>
#include <vector>

#include "db/journal.h"

namespace mirrorfs::fs::testing {

inline std::string kind_name(db::JournalKind k) {
  static const char* const names[] = {
      "?",        "create",   "mkdir",       "mknod",  "symlink",
      "link",     "unlink",   "rmdir",       "rename", "setattr",
      "truncate", "setxattr", "removexattr", "dirty",  "extent"};
  const auto i = static_cast<size_t>(k);
  return i < std::size(names) ? names[i] : std::to_string(i);
}
inline std::vector<std::string> rows_of(
    const std::vector<db::JournalRecord>& rows) {
  std::vector<std::string> out;
  for (const auto& r : rows) {
    std::string s = kind_name(r.kind) + " ";
    if (r.kind == db::JournalKind::kExtent) {
      s += "@" + std::to_string(r.off) + "+" + std::to_string(r.len);
    } else {
      s += r.path;
      if (!r.path2.empty()) s += ">" + r.path2;
    }
    out.push_back(s);
  }
  return out;
}

}  // namespace mirrorfs::fs::testing
