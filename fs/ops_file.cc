// Open files: open, create, read, write, flush, release, fsync,
// fallocate, copy_file_range, lseek.
#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cerrno>
#include <new>
#include <string>
#include <utility>

#include "fs/passthrough.h"

namespace mirrorfs::fs {
namespace {

using db::JournalKind;

// The flags the backing file is opened with. O_DIRECT is dropped: FUSE
// hands us data at unaligned addresses, which O_DIRECT refuses (EINVAL);
// the kernel already bypasses its FUSE page cache for an O_DIRECT open.
// O_APPEND is dropped: the kernel resolves appends to an offset itself,
// and the journal must record where the data really went. O_NOFOLLOW:
// we open an inode through /proc, which is a (magic) link.
int backing_flags(int flags) {
  return (flags & ~(O_DIRECT | O_APPEND | O_NOFOLLOW | O_CREAT | O_EXCL)) |
         O_CLOEXEC;
}

void record_truncate(FsContext& fs, Inode& inode, int fd) {
  Change c;
  c.kind = JournalKind::kTruncate;
  c.ino = inode.ino;
  c.off = 0;
  c.has_stat = ::fstat(fd, &c.st) == 0;
  fs.recorder->record(std::move(c), /*wait=*/false);
}

// fuse_file_info::fh for the backing descriptor `fd` (owned: closed if
// there is no memory for the OpenFile; then 0).
uint64_t new_open_file(FsContext& fs, int fd, InodeFd inode_fd) {
  auto* f = new (std::nothrow) OpenFile(fd, std::move(inode_fd));
  if (f == nullptr) {
    ::close(fd);
    return 0;
  }
  return fs.add_handle(f);
}

// What a successful fallocate(fd, mode, off, len) changed, as journal
// rows whose extents (and sizes) cover every byte that reads differently
// now (docs/fs.md, "What the journal promises about content").
// - plain, KEEP_SIZE, PUNCH_HOLE, ZERO_RANGE: [off, off + len) reads as
//   zeros (or keeps its data; over-reporting is safe). Past the end of
//   the file nothing can be read, and an extent there would claim bytes
//   the file lacks: clipped to the size.
// - COLLAPSE_RANGE, INSERT_RANGE: everything from off on moved: the
//   extent runs to the new end. A collapse also shrinks the file, which
//   a truncate row records (bytes that later reappear past the shrunken
//   end read as zeros, not as the old data).
void record_fallocate(FsContext& fs, Inode& inode, int fd, int mode,
                      uint64_t off, uint64_t len) {
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    // Cannot tell the size: an extent over the whole file covers any
    // change (readers clip extents to the size, as they must anyway for
    // a write followed by a truncate).
    fs.recorder->wrote(inode, 0, uint64_t{1} << 62);
    return;
  }
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  const bool shifts = mode & (FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_INSERT_RANGE);
  if (mode & FALLOC_FL_COLLAPSE_RANGE) {
    Change c;
    c.kind = JournalKind::kTruncate;
    c.ino = inode.ino;
    c.off = size;
    c.has_stat = true;
    c.st = st;
    fs.recorder->record(std::move(c), /*wait=*/false);
  }
  const uint64_t end = shifts ? size : std::min(off + len, size);
  if (end > off) fs.recorder->wrote(inode, off, end - off);
}

bool truncates(int flags) {
  return (flags & O_TRUNC) && (flags & O_ACCMODE) != O_RDONLY;
}

void do_open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  FsContext& fs = context(req);
  Inode& inode = fs.inodes.get(ino);
  InodeFd inode_fd = pin_or_reply(req, ino);
  if (!inode_fd.ok()) return;
  const std::string path = proc_path(inode_fd.get());
  int fd = ::open(path.c_str(), backing_flags(fi->flags));
  if (fd < 0 && fs.inodes.make_room(errno)) {
    fd = ::open(path.c_str(), backing_flags(fi->flags));
  }
  if (fd < 0) {
    reply_err(req, errno);
    return;
  }
  if (truncates(fi->flags)) record_truncate(fs, inode, fd);
  fi->fh = new_open_file(fs, fd, std::move(inode_fd));
  if (fi->fh == 0) {
    reply_err(req, ENOMEM);
    return;
  }
  // Every change goes through this mount, so cached pages stay true
  // (and auto_inval_data drops them if the backing mtime moves).
  fi->keep_cache = 1;
  fuse_reply_open(req, fi);
}

void do_create(fuse_req_t req, fuse_ino_t parent_id, const char* name,
               mode_t mode, fuse_file_info* fi) {
  FsContext& fs = context(req);
  Inode& parent = fs.inodes.get(parent_id);
  const InodeFd dir = pin_or_reply(req, parent_id);
  if (!dir.ok()) return;
  const int flags = backing_flags(fi->flags);
  int fd;
  int open_err = 0;
  bool created = true;
  {
    AsCaller as(fs, req);
    fd = ::openat(dir.get(), name, flags | O_CREAT | O_EXCL, mode);
    if (fd < 0 && fs.inodes.make_room(errno)) {  // nothing was created
      fd = ::openat(dir.get(), name, flags | O_CREAT | O_EXCL, mode);
    }
    if (fd < 0 && errno == EEXIST && !(fi->flags & O_EXCL)) {
      // It appeared meanwhile (behind the mount): open it as it is.
      created = false;
      fd = ::openat(dir.get(), name, flags);
    }
    if (fd < 0) open_err = errno;
  }
  if (fd < 0) {
    reply_err(req, open_err);
    return;
  }
  fuse_entry_param e;
  const int err = lookup_entry(fs, dir.get(), name, &e);
  if (err != 0) {
    ::close(fd);
    reply_err(req, err);
    return;
  }
  if (created) {
    Change c;
    c.kind = JournalKind::kCreate;
    c.parent = parent.ino;
    c.name = name;
    c.has_stat = true;
    c.st = e.attr;
    fs.recorder->record(std::move(c), /*wait=*/false);
  } else if (truncates(fi->flags)) {
    record_truncate(fs, fs.inodes.get(e.ino), fd);
  }
  // The new inode's descriptor was cached by the lookup: a hit. Should it
  // fail all the same, the file is open without the pin (see OpenFile).
  fi->fh = new_open_file(fs, fd, pin_fd(fs.inodes.get(e.ino)));
  if (fi->fh == 0) {
    fs.inodes.forget(e.ino, 1);  // the kernel never hears of it
    reply_err(req, ENOMEM);
    return;
  }
  fi->keep_cache = 1;
  fuse_reply_create(req, &e, fi);
}

void do_read(fuse_req_t req, fuse_ino_t, size_t size, off_t off,
             fuse_file_info* fi) {
  fuse_bufvec buf = FUSE_BUFVEC_INIT(size);
  buf.buf[0].flags =
      static_cast<fuse_buf_flags>(FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK);
  buf.buf[0].fd = open_file(fi).fd;
  buf.buf[0].pos = off;
  // Spliced from the backing file to /dev/fuse where the kernel allows.
  fuse_reply_data(req, &buf, FUSE_BUF_SPLICE_MOVE);
}

void do_write_buf(fuse_req_t req, fuse_ino_t ino, fuse_bufvec* in, off_t off,
                  fuse_file_info* fi) {
  fuse_bufvec out = FUSE_BUFVEC_INIT(fuse_buf_size(in));
  out.buf[0].flags =
      static_cast<fuse_buf_flags>(FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK);
  out.buf[0].fd = open_file(fi).fd;
  out.buf[0].pos = off;
  const ssize_t n = fuse_buf_copy(&out, in, static_cast<fuse_buf_copy_flags>(0));
  if (n < 0) {
    reply_err(req, static_cast<int>(-n));
    return;
  }
  context(req).recorder->wrote(inode_of(req, ino), static_cast<uint64_t>(off),
                               static_cast<uint64_t>(n));
  fuse_reply_write(req, static_cast<size_t>(n));
}

// close(2) of one descriptor: the synchronous hook. What was written
// through it is queued before close returns, and committed within the
// group commit's bound; a replicator starting afterwards sees it because
// it asks the mount to commit first (the commit rendezvous). A crash of
// the mount in between loses the rows, not the change: the file's kDirty
// row, or else the start-up scan (its size, mtime and ctime moved),
// re-syncs it in full (docs/durability.md).
void do_flush(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  // A close of a duplicate: releases POSIX locks and reports delayed
  // write errors of the backing filesystem, as a local close would. If
  // the daemon has no descriptor to spare (EMFILE), there is nothing to
  // report: close(dup()) would fail the application's close with EBADF.
  const int dup_fd = ::dup(open_file(fi).fd);
  const int err = dup_fd >= 0 && ::close(dup_fd) < 0 ? errno : 0;
  context(req).recorder->sync(inode_of(req, ino), /*wait=*/false);
  reply_err(req, err);
}

void do_release(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  // Writes after the last flush (mmap writeback) are queued, not waited
  // for: nobody waits on a release. Before the file goes: its pin makes
  // the inode's descriptor at hand for the attributes.
  context(req).recorder->sync(inode_of(req, ino), /*wait=*/false);
  context(req).drop_handle(&open_file(fi));
  reply_err(req, 0);
}

// fsync(2) asks for durability: the file's extents, and every change
// queued before them, are committed before it returns, so a crash of the
// mount afterwards costs no journal row of it.
void do_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
              fuse_file_info* fi) {
  const int fd = open_file(fi).fd;
  const int r = datasync ? ::fdatasync(fd) : ::fsync(fd);
  const int err = r < 0 ? errno : 0;
  context(req).recorder->sync(inode_of(req, ino), /*wait=*/true);
  reply_err(req, err);
}

void do_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off,
                  off_t len, fuse_file_info* fi) {
  const int fd = open_file(fi).fd;
  if (::fallocate(fd, mode, off, len) < 0) {
    reply_err(req, errno);
    return;
  }
  record_fallocate(context(req), inode_of(req, ino), fd, mode,
                   static_cast<uint64_t>(off), static_cast<uint64_t>(len));
  reply_err(req, 0);
}

void do_copy_file_range(fuse_req_t req, fuse_ino_t, off_t off_in,
                        fuse_file_info* fi_in, fuse_ino_t ino_out,
                        off_t off_out, fuse_file_info* fi_out, size_t len,
                        int flags) {
  const off_t start = off_out;
  const ssize_t n = ::copy_file_range(open_file(fi_in).fd, &off_in,
                                      open_file(fi_out).fd, &off_out,
                                      len, static_cast<unsigned>(flags));
  if (n < 0) {
    reply_err(req, errno);
    return;
  }
  context(req).recorder->wrote(inode_of(req, ino_out),
                               static_cast<uint64_t>(start),
                               static_cast<uint64_t>(n));
  fuse_reply_write(req, static_cast<size_t>(n));
}

void do_lseek(fuse_req_t req, fuse_ino_t, off_t off, int whence,
              fuse_file_info* fi) {
  const off_t r = ::lseek(open_file(fi).fd, off, whence);
  if (r < 0) {
    reply_err(req, errno);
  } else {
    fuse_reply_lseek(req, r);
  }
}

}  // namespace

void add_file_ops(fuse_lowlevel_ops& ops) {
  ops.open = do_open;
  ops.create = do_create;
  ops.read = do_read;
  ops.write_buf = do_write_buf;
  ops.flush = do_flush;
  ops.release = do_release;
  ops.fsync = do_fsync;
  ops.fallocate = do_fallocate;
  ops.copy_file_range = do_copy_file_range;
  ops.lseek = do_lseek;
}

}  // namespace mirrorfs::fs
