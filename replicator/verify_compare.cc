#include "replicator/verify_compare.h"

#include <sys/stat.h>

#include <algorithm>
#include <map>
#include <unordered_map>

namespace mirrorfs::replicator {
namespace {

using Index = std::unordered_map<std::string, const wire::ListEntry*>;

Index index_of(const std::vector<wire::ListEntry>& v) {
  Index out;
  for (const wire::ListEntry& e : v) out.emplace(e.path, &e);
  return out;
}

// For each regular file with several links, the sorted names of its
// inode in this listing.
std::unordered_map<std::string, std::vector<std::string>> link_groups(
    const std::vector<wire::ListEntry>& v) {
  std::map<uint64_t, std::vector<std::string>> by_ino;
  for (const wire::ListEntry& e : v) {
    if (S_ISREG(e.mode) && e.nlink > 1) by_ino[e.ino].push_back(e.path);
  }
  std::unordered_map<std::string, std::vector<std::string>> out;
  for (auto& [ino, names] : by_ino) {
    std::sort(names.begin(), names.end());
    for (const std::string& n : names) out[n] = names;
  }
  return out;
}

bool owners_comparable(const std::vector<wire::ListEntry>& source,
                       const std::vector<wire::ListEntry>& mirror) {
  if (mirror.empty()) return false;
  const uint32_t uid = mirror.front().uid, gid = mirror.front().gid;
  for (const wire::ListEntry& e : mirror) {
    if (e.uid != uid || e.gid != gid) return true;
  }
  for (const wire::ListEntry& e : source) {
    if (e.uid != uid || e.gid != gid) return false;
  }
  return true;
}

}  // namespace

std::string parent_path(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash);
}

VerifyReport compare_listings(const std::vector<wire::ListEntry>& source,
                              const std::vector<wire::ListEntry>& mirror,
                              const PendingPaths& pending) {
  VerifyReport r;
  const Index src = index_of(source), dst = index_of(mirror);
  const auto src_links = link_groups(source), dst_links = link_groups(mirror);
  const bool owners = owners_comparable(source, mirror);
  auto in_flight = [&](std::string p) {
    if (pending.exact.count(p) != 0) return true;
    for (;;) {
      if (pending.subtrees.count(p) != 0) return true;
      if (p.empty()) return false;
      p = parent_path(p);
    }
  };
  auto differ = [&](const char* kind, const std::string& path) {
    const auto m = dst.find(path);
    const uint32_t mirror_mode = m == dst.end() ? 0 : m->second->mode;
    if (in_flight(path)) {
      if (r.pending.empty() || r.pending.back() != path) r.pending.push_back(path);
      return;
    }
    r.differences.push_back(Difference{kind, path, mirror_mode});
  };
  const std::vector<std::string> none;
  for (const wire::ListEntry& s : source) {
    ++r.entries;
    const auto it = dst.find(s.path);
    if (it == dst.end()) {
      differ("missing", s.path);
      continue;
    }
    const wire::ListEntry& m = *it->second;
    if ((s.mode & S_IFMT) != (m.mode & S_IFMT)) {
      differ("type", s.path);
      continue;
    }
    if (S_ISREG(s.mode) &&
        (!s.has_hash || !m.has_hash || s.hash != m.hash || s.size != m.size)) {
      differ("content", s.path);
    }
    if (S_ISLNK(s.mode) && s.target != m.target) differ("target", s.path);
    if (!S_ISLNK(s.mode) && (s.mode & 07777) != (m.mode & 07777)) differ("mode", s.path);
    if (s.mtime_ns != m.mtime_ns) differ("mtime", s.path);
    if (owners && (s.uid != m.uid || s.gid != m.gid)) differ("owner", s.path);
    if (S_ISREG(s.mode)) {
      const auto a = src_links.find(s.path), b = dst_links.find(s.path);
      const std::vector<std::string>& x = a == src_links.end() ? none : a->second;
      const std::vector<std::string>& y = b == dst_links.end() ? none : b->second;
      if (x != y) differ("link", s.path);
    }
  }
  for (const wire::ListEntry& m : mirror) {
    if (src.count(m.path) != 0) continue;
    ++r.entries;
    differ("extra", m.path);
  }
  return r;
}

}  // namespace mirrorfs::replicator
