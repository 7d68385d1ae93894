// What both content writers (the temporary-file writer of
// content_writer.cc and the in-place writer of in_place_writer.cc) do
// once the new content is in place and checked: attributes the update
// does not send kept from the old file, FileEnd.links made hard links,
// links and directories noted for the next barrier. Private to replicator/mirror/.
#pragma once

#include <sys/stat.h>

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "replicator/mirror/mirror_root.h"
#include "replicator/wire/messages.h"

namespace mirrorfs::replicator::mirror {

class ApplierImpl;

// Resolves end.links (other names of the file at `self`, which is
// skipped) beneath ROOT, before anything changes, so a bad one refuses
// the whole update. kInvalidArgument for more than wire::kMaxLinks.
Result<std::vector<Entry>> resolve_links(const MirrorRoot& root,
                                         const std::vector<std::string>& links,
                                         std::string_view self);

// `a` with mode, uid and gid filled in from `old` where a does not set
// them: what a content update itself does not send, the old file keeps.
wire::Attrs keep_unsent(const wire::Attrs& a, const struct stat& old);

// Makes each link a hard link to the open file fd (named `path` in
// messages), atomically, replacing what is there (never a directory);
// notes replaced inodes gone. Tries them all; returns the first error.
Status link_names(ApplierImpl* owner, int fd, std::string_view path,
                  const std::vector<Entry>& links);

// Notes for the next barrier (ApplierImpl::pending) what link_names
// changed: the directories of links and, if there are any, the open
// file fd (its link count). Call after link_names, whatever it returned
// (after: a barrier racing from another thread then either holds them
// already or finds them noted anew).
void note_links(ApplierImpl* owner, int fd, const std::vector<Entry>& links);

}  // namespace mirrorfs::replicator::mirror
