#include "replicator/mirror/install.h"

#include <fcntl.h>
#include <unistd.h>


#include "db/attr_payload.h"
#include "replicator/mirror/applier_impl.h"
#include "replicator/mirror/node_ops.h"

namespace mirrorfs::replicator::mirror {

using db::AttrPayload;

Result<std::vector<Entry>> resolve_links(const MirrorRoot& root,
                                         const std::vector<std::string>& links,
                                         std::string_view self) {
  if (links.size() > wire::kMaxLinks) {
    return Status::invalid_argument("content of " + std::string(self) +
                                    ": over " +
                                    std::to_string(wire::kMaxLinks) + " links");
  }
  std::vector<Entry> out;
  for (const std::string& l : links) {
    if (l == self) continue;
    Result<Entry> e = root.entry(l);
    if (!e.is_ok()) return e.status();
    out.push_back(std::move(*e));
  }
  return out;
}

wire::Attrs keep_unsent(const wire::Attrs& a, const struct stat& old) {
  wire::Attrs out = a;
  if (!(out.valid & AttrPayload::kMode)) {
    out.mode = old.st_mode;
    out.valid |= AttrPayload::kMode;
  }
  if (!(out.valid & AttrPayload::kUid)) {
    out.uid = old.st_uid;
    out.valid |= AttrPayload::kUid;
  }
  if (!(out.valid & AttrPayload::kGid)) {
    out.gid = old.st_gid;
    out.valid |= AttrPayload::kGid;
  }
  return out;
}

Status link_names(ApplierImpl* owner, int fd, std::string_view path,
                  const std::vector<Entry>& links) {
  struct stat self;
  if (::fstat(fd, &self) != 0) {
    return sys_error(errno, "stat new content of", path);
  }
  const std::string src = fd_path(fd);
  Status first;
  for (const Entry& l : links) {
    Result<std::optional<struct stat>> st = stat_entry(l);
    Status s = st.status();
    if (st.is_ok() && st->has_value() && (*st)->st_dev == self.st_dev &&
        (*st)->st_ino == self.st_ino) {
      continue;  // already this file
    }
    if (st.is_ok() && st->has_value() && S_ISDIR((*st)->st_mode)) {
      s = Status(Code::kAlreadyExists,
                 "link " + l.path + ": a directory is in the way", EEXIST);
    } else if (st.is_ok()) {
      s = create_and_replace(
          l,
          [&](int dir, const char* name) {
            return ::linkat(AT_FDCWD, src.c_str(), dir, name,
                            AT_SYMLINK_FOLLOW);
          },
          "link");
      if (s.is_ok() && st->has_value()) owner->note_gone(**st);
    }
    if (!s.is_ok() && first.is_ok()) first = s;
  }
  return first;
}

void note_links(ApplierImpl* owner, int fd, const std::vector<Entry>& links) {
  if (links.empty()) return;
  PendingSync& p = owner->pending();
  p.note_file(fd);
  for (const Entry& e : links) p.note_dir(e.dir.get());
}

}  // namespace mirrorfs::replicator::mirror
