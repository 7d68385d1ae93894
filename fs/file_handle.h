// A backing file's handle (name_to_handle_at(2)): a few bytes (8 to 40 on
// common file systems) that name an inode on its file system, so the
// mount can reopen the inode (open_by_handle_at(2)) without a path and
// without keeping a descriptor open for it.
//
// Opening a handle needs CAP_DAC_READ_SEARCH (root, usually) and a file
// system that decodes handles (ext4, xfs, btrfs, tmpfs...): InodeTable
// probes both once and otherwise keeps one descriptor per inode.
//
// Thread-safety: a FileHandle is immutable once made; any thread may open
// it.
#pragma once

#include <fcntl.h>

#include <cstdlib>
#include <memory>

namespace mirrorfs::fs {

class FileHandle {
 public:
  FileHandle() = default;  // empty: names nothing

  // The handle of the file `fd` names (an O_PATH fd will do; a symlink is
  // not followed) and the id of the mount it sits on. Returns 0 or an
  // errno: EOPNOTSUPP where the file system has no handles, EOVERFLOW for
  // a handle longer than MAX_HANDLE_SZ.
  static int of(int fd, FileHandle* out, int* mount_id);

  // open_by_handle_at(mount_fd, handle, flags | O_CLOEXEC): a new
  // descriptor, or -1 with errno set (ESTALE: the file was deleted; EPERM:
  // no CAP_DAC_READ_SEARCH). mount_fd: any descriptor on the mount the
  // handle came from. REQUIRES: !empty().
  int open(int mount_fd, int flags) const;

  bool empty() const { return h_ == nullptr; }
  // Same type and bytes: the same inode (on one file system).
  bool operator==(const FileHandle& o) const;
  size_t size() const;  // bytes of handle data (0 if empty)

 private:
  struct Free {
    void operator()(file_handle* p) const { std::free(p); }
  };
  std::unique_ptr<file_handle, Free> h_;
};

}  // namespace mirrorfs::fs
