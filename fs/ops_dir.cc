// Directory streams: opendir, readdir, readdirplus, releasedir, fsyncdir.
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "fs/passthrough.h"

namespace mirrorfs::fs {
namespace {

// An open directory: the stream and where the kernel's offsets stand in
// it. One per opendir; the kernel serializes readdir calls on a handle.
struct DirHandle : OpenHandle {
  ~DirHandle() override {
    if (dp) ::closedir(dp);
  }
  DIR* dp = nullptr;
  InodeFd dir_fd;  // the directory's own, pinned: readdirplus looks up in it
  off_t offset = 0;
  dirent* entry = nullptr;  // read but not yet returned to the kernel
};

DirHandle* handle_of(fuse_file_info* fi) {
  return static_cast<DirHandle*>(reinterpret_cast<OpenHandle*>(fi->fh));
}

bool is_dot(const char* name) {
  return name[0] == '.' &&
         (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'));
}

void do_opendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  auto d = std::make_unique<DirHandle>();
  d->dir_fd = pin_or_reply(req, ino);
  if (!d->dir_fd.ok()) return;
  const int flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
  int fd = ::openat(d->dir_fd.get(), ".", flags);
  if (fd < 0 && context(req).inodes.make_room(errno)) {
    fd = ::openat(d->dir_fd.get(), ".", flags);
  }
  if (fd < 0) {
    reply_err(req, errno);
    return;
  }
  d->dp = ::fdopendir(fd);
  if (d->dp == nullptr) {
    const int err = errno;
    ::close(fd);
    reply_err(req, err);
    return;
  }
  fi->fh = context(req).add_handle(d.release());
  fuse_reply_open(req, fi);
}

// readdir and readdirplus. With plus, every entry but . and .. is looked
// up (a counted lookup, undone if the entry does not fit the reply).
void read_dir(fuse_req_t req, size_t size, off_t off, fuse_file_info* fi,
              bool plus) {
  FsContext& fs = context(req);
  DirHandle* d = handle_of(fi);
  std::vector<char> buf(size);
  char* p = buf.data();
  size_t rem = size;
  if (off != d->offset) {
    ::seekdir(d->dp, off);
    d->entry = nullptr;
    d->offset = off;
  }
  int err = 0;
  for (;;) {
    if (d->entry == nullptr) {
      errno = 0;
      d->entry = ::readdir(d->dp);
      if (d->entry == nullptr) {
        err = errno;
        break;
      }
    }
    const char* name = d->entry->d_name;
    const off_t next = d->entry->d_off;
    size_t used;
    if (plus && !is_dot(name)) {
      fuse_entry_param e;
      const int r = lookup_entry(fs, d->dir_fd.get(), name, &e);
      if (r == ENOENT) {  // gone since readdir saw it
        d->entry = nullptr;
        d->offset = next;
        continue;
      }
      if (r != 0) {
        err = r;
        break;
      }
      used = fuse_add_direntry_plus(req, p, rem, name, &e, next);
      if (used > rem) {
        fs.inodes.forget(e.ino, 1);
        break;
      }
    } else {
      fuse_entry_param e{};
      e.attr.st_ino = d->entry->d_ino;
      e.attr.st_mode = static_cast<mode_t>(d->entry->d_type) << 12;
      used = plus ? fuse_add_direntry_plus(req, p, rem, name, &e, next)
                  : fuse_add_direntry(req, p, rem, name, &e.attr, next);
      if (used > rem) break;
    }
    p += used;
    rem -= used;
    d->entry = nullptr;
    d->offset = next;
  }
  // An error after some entries: return those; the next call reports it.
  if (err != 0 && rem == size) {
    reply_err(req, err);
  } else {
    fuse_reply_buf(req, buf.data(), size - rem);
  }
}

void do_readdir(fuse_req_t req, fuse_ino_t, size_t size, off_t off,
                fuse_file_info* fi) {
  read_dir(req, size, off, fi, false);
}
void do_readdirplus(fuse_req_t req, fuse_ino_t, size_t size, off_t off,
                    fuse_file_info* fi) {
  read_dir(req, size, off, fi, true);
}

void do_releasedir(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  context(req).drop_handle(handle_of(fi));
  reply_err(req, 0);
}

// fsync(2) of a directory asks for its entries to be durable: the entry
// operations queued so far (those of this directory among them) are
// committed before it returns.
void do_fsyncdir(fuse_req_t req, fuse_ino_t, int datasync,
                 fuse_file_info* fi) {
  const int fd = ::dirfd(handle_of(fi)->dp);
  const int r = datasync ? ::fdatasync(fd) : ::fsync(fd);
  const int err = r < 0 ? errno : 0;
  (void)context(req).recorder->commit_all();
  reply_err(req, err);
}

}  // namespace

void add_dir_ops(fuse_lowlevel_ops& ops) {
  ops.opendir = do_opendir;
  ops.readdir = do_readdir;
  ops.readdirplus = do_readdirplus;
  ops.releasedir = do_releasedir;
  ops.fsyncdir = do_fsyncdir;
}

}  // namespace mirrorfs::fs
