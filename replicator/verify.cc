// verify_mirror: the source listed and hashed here, the mirror's listing
// with the rehash flag, the journal past the mirror's ack as what is in
// flight, compared (verify_compare.h). Repair: verify_repair.cc.
#include "replicator/verify.h"

#include <sys/stat.h>
#include <unistd.h>

#include <memory>

#include "db/commit_request.h"
#include "replicator/client_session.h"
#include "replicator/read_only_session.h"
#include "replicator/seeding.h"
#include "replicator/verify_compare.h"
#include "replicator/verify_internal.h"
#include "replicator/verify_source.h"

namespace mirrorfs::replicator {

// The one place verify opens a session with a mirror: a read-only one
// (docs/protocol.md), which only lists.
Result<std::unique_ptr<ClientSession>> open_verify_session(const VerifyOptions& opt,
                                                           const VerifyState& st) {
  ReadOnlyHello hello;
  hello.client_suffix = " (verify)";
  hello.journal_id = st.journal_id;
  MIRRORFS_ASSIGN_OR_RETURN(ro, open_read_only(opt.state_dir, opt.mirror, hello));
  return ClientSession::adopt(std::move(ro.channel), ro.hello_ok);
}

namespace {

Status check_path(const std::string& p) {
  if (p == ".") return Status::ok();
  bool bad = p.empty() || p.front() == '/' || p.back() == '/';
  size_t start = 0;
  while (!bad && start <= p.size()) {
    size_t end = p.find('/', start);
    if (end == std::string::npos) end = p.size();
    const std::string part = p.substr(start, end - start);
    bad = part.empty() || part == "." || part == "..";
    start = end + 1;
  }
  if (bad) return Status::invalid_argument("PATH '" + p + "' is not a relative path without '..'");
  return Status::ok();
}

// What the journal holds past `acked`, as paths (PendingPaths). The mount
// is asked to commit first, so what it completed is seen.
Result<PendingPaths> pending_paths(const VerifyOptions& opt, VerifyState& st, uint64_t acked) {
  (void)db::request_commit(opt.state_dir);  // no mount: nothing to wait for
  MIRRORFS_ASSIGN_OR_RETURN(txn, db::Transaction::begin(*st.db, db::Transaction::Kind::kRead));
  MIRRORFS_ASSIGN_OR_RETURN(records, st.journal->read_after(acked, SIZE_MAX / 2));
  PendingPaths out;
  auto add = [&](const std::string& p) {
    if (p.empty()) {
      out.exact.insert("");
      return;
    }
    out.subtrees.insert(p);
    out.exact.insert(parent_path(p));
  };
  for (const db::JournalRecord& r : records) {
    if (!r.path.empty()) add(r.path);
    if (!r.path2.empty() && (r.kind == db::JournalKind::kRename || r.kind == db::JournalKind::kLink))
      add(r.path2);
    if (r.file_id == 0) continue;
    Result<std::vector<std::string>> names = st.catalog->paths_of(r.file_id);
    if (!names.is_ok()) continue;  // gone since
    for (const std::string& n : *names) add(n);
  }
  return out;
}

}  // namespace

Result<VerifyReport> verify_mirror(const VerifyOptions& opt) {
  MIRRORFS_ASSIGN_OR_RETURN(st, VerifyState::open(opt.state_dir));
  std::vector<std::string> roots = opt.paths;
  if (roots.empty()) roots.push_back(".");
  for (const std::string& p : roots) MIRRORFS_RETURN_IF_ERROR(check_path(p));
  VerifyReport report;
  std::vector<wire::ListEntry> source, mirror;
  {
    MIRRORFS_ASSIGN_OR_RETURN(session, open_verify_session(opt, st));
    for (const std::string& p : roots) {
      MIRRORFS_ASSIGN_OR_RETURN(
          id, session->request(wire::ListRequest{p, wire::kListRehash}));
      MIRRORFS_ASSIGN_OR_RETURN(part, collect_listing(*session, id, p, opt.list_timeout));
      for (const wire::ListEntry& e : part) {
        if (S_ISREG(e.mode) && e.has_hash) report.mirror_bytes += e.size;
      }
      mirror.insert(mirror.end(), part.begin(), part.end());
    }
  }
  for (const std::string& p : roots) {
    MIRRORFS_RETURN_IF_ERROR(list_source(st.backing, p, &source, &report.source_bytes));
  }
  MIRRORFS_ASSIGN_OR_RETURN(acked, st.acked_seq_of(opt.mirror.name));
  MIRRORFS_ASSIGN_OR_RETURN(pending, pending_paths(opt, st, acked));
  VerifyReport cmp = compare_listings(source, mirror, pending);
  report.differences = std::move(cmp.differences);
  report.pending = std::move(cmp.pending);
  report.entries = cmp.entries;
  return report;
}

}  // namespace mirrorfs::replicator
