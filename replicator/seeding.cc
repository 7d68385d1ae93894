#include "replicator/seeding.h"

#include <sys/stat.h>

#include <cassert>
#include <unordered_map>
#include <unordered_set>

namespace mirrorfs::replicator {

Result<std::vector<wire::ListEntry>> listing_of(const std::vector<wire::Message>& answers,
                                                const std::string& path) {
  if (answers.empty()) return Status::corrupt("mirror sent no answer to a ListRequest");
  const wire::Message& last = answers.back();
  if (const auto* err = std::get_if<wire::Error>(&last.body)) {
    return Status(err->code == static_cast<uint32_t>(Code::kNotFound) ? Code::kNotFound
                                                                      : Code::kIoError,
                  "list " + path + " on the mirror: " + err->message, err->err);
  }
  const auto* end = std::get_if<wire::ListEnd>(&last.body);
  if (end == nullptr) return Status::corrupt("mirror answered ListRequest with something else");
  std::vector<wire::ListEntry> out;
  for (const wire::Message& m : answers) {
    if (const auto* d = std::get_if<wire::ListData>(&m.body)) {
      out.insert(out.end(), d->entries.begin(), d->entries.end());
    } else if (&m != &last) {
      return Status::corrupt("mirror sent something else than ListData in a listing");
    }
  }
  if (out.size() != end->count) {
    return Status::corrupt("mirror listed " + std::to_string(out.size()) +
                           " entries but its ListEnd says " + std::to_string(end->count));
  }
  return out;
}

Result<std::vector<wire::ListEntry>> list_mirror(ClientSession& session, const std::string& path,
                                                 std::chrono::milliseconds timeout) {
  MIRRORFS_ASSIGN_OR_RETURN(id, session.request(wire::ListRequest{path}));
  return collect_listing(session, id, path, timeout);
}

Result<std::vector<wire::ListEntry>> collect_listing(ClientSession& session, uint64_t id,
                                                     const std::string& path,
                                                     std::chrono::milliseconds timeout) {
  MIRRORFS_ASSIGN_OR_RETURN(answers, session.wait(id, timeout));
  return listing_of(answers, path);
}

void seed_plan(const std::vector<wire::ListEntry>& mirror, Plan& plan) {
  assert(plan.first_seq >= 1);
  // The file type of every name the source has, as of the plan.
  std::unordered_map<std::string, uint32_t> source;
  for (const wire::EntryOp& op : plan.ops) {
    switch (op.type) {
      case wire::Type::kMkdir:
        source[op.path] = S_IFDIR;
        break;
      case wire::Type::kSymlink:
        source[op.path] = S_IFLNK;
        break;
      case wire::Type::kMknod:
        source[op.path] = op.attrs.mode & S_IFMT;
        break;
      default:
        break;
    }
  }
  for (const ContentJob& job : plan.contents) {
    source[job.path] = S_IFREG;
    for (const std::string& l : job.links) source[l] = S_IFREG;
  }
  std::vector<wire::EntryOp> removals;
  std::unordered_set<std::string> kept_files;
  for (const wire::ListEntry& e : mirror) {
    const uint32_t type = e.mode & S_IFMT;
    const auto it = source.find(e.path);
    if (it != source.end() && it->second == type) {
      if (type == S_IFREG) kept_files.insert(e.path);
      continue;
    }
    wire::EntryOp op;
    op.type = type == S_IFDIR ? wire::Type::kRmdir : wire::Type::kUnlink;
    op.seq = plan.first_seq;
    op.path = e.path;
    removals.push_back(std::move(op));
  }
  // Pre-order reversed: everything in a directory goes before it.
  std::vector<wire::EntryOp> ops(removals.rbegin(), removals.rend());
  ops.insert(ops.end(), std::make_move_iterator(plan.ops.begin()),
             std::make_move_iterator(plan.ops.end()));
  plan.ops = std::move(ops);
  for (ContentJob& job : plan.contents) {
    job.created = kept_files.count(job.path) == 0;
  }
}

}  // namespace mirrorfs::replicator
