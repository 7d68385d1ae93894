// Names and attributes: lookup, forget, getattr, setattr, readlink,
// mknod, mkdir, symlink, link, unlink, rmdir, rename, statfs, access.
#include <fcntl.h>
#include <limits.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "db/attr_payload.h"
#include "fs/catalog_attrs.h"
#include "fs/passthrough.h"

namespace mirrorfs::fs {

using db::JournalKind;

namespace {

void reply_entry_or_err(fuse_req_t req, int err, const fuse_entry_param& e) {
  if (err != 0) {
    reply_err(req, err);
  } else {
    fuse_reply_entry(req, &e);
  }
}

void do_lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  FsContext& fs = context(req);
  const InodeFd dir = pin_or_reply(req, parent);
  if (!dir.ok()) return;
  fuse_entry_param e;
  const int err = lookup_entry(fs, dir.get(), name, &e);
  if (err == ENOENT) {
    // A negative entry: the kernel may remember the name is free. Every
    // create goes through us and invalidates it.
    e = fuse_entry_param{};
    e.entry_timeout = fs.entry_timeout;
    fuse_reply_entry(req, &e);
    return;
  }
  reply_entry_or_err(req, err, e);
}

void do_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  context(req).inodes.forget(ino, nlookup);
  fuse_reply_none(req);
}

void do_forget_multi(fuse_req_t req, size_t count,
                     fuse_forget_data* forgets) {
  FsContext& fs = context(req);
  for (size_t i = 0; i < count; ++i) {
    fs.inodes.forget(forgets[i].ino, forgets[i].nlookup);
  }
  fuse_reply_none(req);
}

void do_getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  FsContext& fs = context(req);
  const InodeFd fd = pin_or_reply(req, ino);
  if (!fd.ok()) return;
  struct stat st;
  if (::fstatat(fd.get(), "", &st,
                AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) {
    reply_err(req, errno);
    return;
  }
  fuse_reply_attr(req, &st, fs.attr_timeout);
}

timespec time_arg(int valid, int set_bit, int now_bit,
                  const timespec& value) {
  if (valid & now_bit) return {0, UTIME_NOW};
  if (valid & set_bit) return value;
  return {0, UTIME_OMIT};
}

// chmod, chown, truncate and utimens, in that order; stops at the first
// failure. What succeeded is journaled either way.
void do_setattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int valid,
                fuse_file_info* fi) {
  FsContext& fs = context(req);
  Inode& inode = fs.inodes.get(ino);
  const InodeFd fd = pin_or_reply(req, ino);
  if (!fd.ok()) return;
  // Only ftruncate sends a file handle (a regular file's).
  const int ofd = fi ? open_file(fi).fd : -1;
  const std::string path = proc_path(fd.get());
  uint32_t done = 0;
  int err = 0;
  if (valid & FUSE_SET_ATTR_MODE) {
    const int r = ofd >= 0 ? ::fchmod(ofd, attr->st_mode)
                           : ::chmod(path.c_str(), attr->st_mode);
    if (r < 0) err = errno;
    else done |= db::AttrPayload::kMode;
  }
  if (err == 0 && (valid & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID))) {
    const uid_t uid = valid & FUSE_SET_ATTR_UID ? attr->st_uid : -1;
    const gid_t gid = valid & FUSE_SET_ATTR_GID ? attr->st_gid : -1;
    if (::fchownat(fd.get(), "", uid, gid,
                   AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) {
      err = errno;
    } else {
      done |= db::AttrPayload::kUid | db::AttrPayload::kGid;
    }
  }
  bool truncated = false;
  if (err == 0 && (valid & FUSE_SET_ATTR_SIZE)) {
    const int r = ofd >= 0 ? ::ftruncate(ofd, attr->st_size)
                           : ::truncate(path.c_str(), attr->st_size);
    if (r < 0) err = errno;
    else truncated = true;
  }
  if (err == 0 && (valid & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME |
                            FUSE_SET_ATTR_ATIME_NOW |
                            FUSE_SET_ATTR_MTIME_NOW))) {
    const timespec tv[2] = {
        time_arg(valid, FUSE_SET_ATTR_ATIME, FUSE_SET_ATTR_ATIME_NOW,
                 attr->st_atim),
        time_arg(valid, FUSE_SET_ATTR_MTIME, FUSE_SET_ATTR_MTIME_NOW,
                 attr->st_mtim)};
    int r;
    if (ofd >= 0) {
      r = ::futimens(ofd, tv);
    } else if (S_ISLNK(inode.type)) {
      r = ::utimensat(fd.get(), "", tv, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
    } else {
      r = ::utimensat(AT_FDCWD, path.c_str(), tv, 0);
    }
    if (r < 0) err = errno;
    else done |= db::AttrPayload::kAtime | db::AttrPayload::kMtime;
  }
  struct stat st;
  const bool have_st = ::fstatat(fd.get(), "", &st,
                                 AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) == 0;
  if (!have_st && err == 0) err = errno;
  if (truncated) {
    Change c;
    c.kind = JournalKind::kTruncate;
    c.ino = inode.ino;
    c.off = static_cast<uint64_t>(attr->st_size);
    c.has_stat = have_st;
    c.st = st;
    fs.recorder->record(std::move(c), /*wait=*/false);
  }
  if (done != 0 && have_st) {
    db::AttrPayload p = payload_from_stat(st);
    p.valid = done;
    Change c;
    c.kind = JournalKind::kSetattr;
    c.ino = inode.ino;
    c.data = p.encode();
    c.has_stat = true;
    c.st = st;
    fs.recorder->record(std::move(c), /*wait=*/false);
  }
  if (err != 0) {
    reply_err(req, err);
  } else {
    fuse_reply_attr(req, &st, fs.attr_timeout);
  }
}

void do_readlink(fuse_req_t req, fuse_ino_t ino) {
  const InodeFd fd = pin_or_reply(req, ino);
  if (!fd.ok()) return;
  char buf[PATH_MAX + 1];
  const ssize_t n = ::readlinkat(fd.get(), "", buf, sizeof buf);
  if (n < 0) {
    reply_err(req, errno);
  } else if (n == sizeof buf) {
    reply_err(req, ENAMETOOLONG);
  } else {
    buf[n] = '\0';
    fuse_reply_readlink(req, buf);
  }
}

// mknod, mkdir and symlink: make the node as the caller, look it up,
// journal it, reply.
void make_node(fuse_req_t req, fuse_ino_t parent_id, const char* name,
               mode_t mode, dev_t rdev, const char* link) {
  FsContext& fs = context(req);
  Inode& parent = fs.inodes.get(parent_id);
  const InodeFd dir = pin_or_reply(req, parent_id);
  if (!dir.ok()) return;
  int r;
  {
    AsCaller as(fs, req);
    if (link != nullptr) {
      r = ::symlinkat(link, dir.get(), name);
    } else if (S_ISDIR(mode)) {
      r = ::mkdirat(dir.get(), name, mode);
    } else {
      r = ::mknodat(dir.get(), name, mode, rdev);
    }
    if (r < 0) r = errno;
  }
  if (r != 0) {
    reply_err(req, r);
    return;
  }
  fuse_entry_param e;
  const int err = lookup_entry(fs, dir.get(), name, &e);
  if (err == 0) {
    Change c;
    c.kind = link            ? JournalKind::kSymlink
             : S_ISDIR(mode) ? JournalKind::kMkdir
             : S_ISREG(mode) ? JournalKind::kCreate
                             : JournalKind::kMknod;
    c.parent = parent.ino;
    c.name = name;
    c.has_stat = true;
    c.st = e.attr;
    if (link) c.text = link;
    fs.recorder->record(std::move(c), /*wait=*/false);
  }
  reply_entry_or_err(req, err, e);
}

void do_mknod(fuse_req_t req, fuse_ino_t parent, const char* name,
              mode_t mode, dev_t rdev) {
  make_node(req, parent, name, mode, rdev, nullptr);
}
void do_mkdir(fuse_req_t req, fuse_ino_t parent, const char* name,
              mode_t mode) {
  make_node(req, parent, name, S_IFDIR | mode, 0, nullptr);
}
void do_symlink(fuse_req_t req, const char* link, fuse_ino_t parent,
                const char* name) {
  make_node(req, parent, name, S_IFLNK, 0, link);
}

void do_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
             const char* newname) {
  FsContext& fs = context(req);
  Inode& inode = fs.inodes.get(ino);
  Inode& parent = fs.inodes.get(newparent);
  const InodeFd fd = pin_or_reply(req, ino);
  if (!fd.ok()) return;
  const InodeFd dir = pin_or_reply(req, newparent);
  if (!dir.ok()) return;
  // Through /proc: linkat(fd, "", AT_EMPTY_PATH) would need
  // CAP_DAC_READ_SEARCH, which an ordinary user's mount lacks.
  if (::linkat(AT_FDCWD, proc_path(fd.get()).c_str(), dir.get(), newname,
               AT_SYMLINK_FOLLOW) < 0) {
    reply_err(req, errno);
    return;
  }
  fuse_entry_param e;
  const int err = lookup_entry(fs, dir.get(), newname, &e);
  if (err == 0) {
    Change c;
    c.kind = JournalKind::kLink;
    c.ino = inode.ino;
    c.parent2 = parent.ino;
    c.name2 = newname;
    c.has_stat = true;
    c.st = e.attr;
    fs.recorder->record(std::move(c), /*wait=*/false);
  }
  reply_entry_or_err(req, err, e);
}

// What `name` in `dir_fd` names, pinned, if the kernel knows it (else an
// empty Victim): taken before an unlink, rmdir or rename replaces it.
struct Victim {
  std::shared_ptr<Inode> inode;
  InodeFd fd;  // declared after `inode`: unpinned first
};
Victim victim_of(FsContext& fs, int dir_fd, const char* name) {
  Victim v;
  struct stat st;
  if (::fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
    v.inode = fs.inodes.find(st.st_dev, st.st_ino);
    if (v.inode) v.fd = pin_fd(*v.inode);
  }
  return v;
}

// After the victim's name went: fills `st` if it lives on under another
// name (a hard link, whose ctime moved). If that was its last name, the
// kernel may still use it (a file held open elsewhere, a working
// directory) though its handle opens no more: its descriptor is kept
// until the kernel forgets it.
bool after_removal(FsContext& fs, Victim& v, struct stat* st) {
  if (!v.fd.ok() ||
      ::fstatat(v.fd.get(), "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) {
    return false;
  }
  if (st->st_nlink > 0) return true;
  fs.inodes.keep(std::move(v.fd));
  return false;
}

void remove_entry(fuse_req_t req, fuse_ino_t parent_id, const char* name,
                  bool dir) {
  FsContext& fs = context(req);
  Inode& parent = fs.inodes.get(parent_id);
  const InodeFd dir_fd = pin_or_reply(req, parent_id);
  if (!dir_fd.ok()) return;
  Victim victim = victim_of(fs, dir_fd.get(), name);
  if (::unlinkat(dir_fd.get(), name, dir ? AT_REMOVEDIR : 0) < 0) {
    reply_err(req, errno);
    return;
  }
  Change c;
  c.kind = dir ? JournalKind::kRmdir : JournalKind::kUnlink;
  c.parent = parent.ino;
  c.name = name;
  // A hard link's other names live on, with a new ctime.
  c.has_stat = after_removal(fs, victim, &c.st);
  fs.recorder->record(std::move(c), /*wait=*/false);
  reply_err(req, 0);
}

void do_unlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  remove_entry(req, parent, name, false);
}
void do_rmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
  remove_entry(req, parent, name, true);
}

void do_rename(fuse_req_t req, fuse_ino_t parent_id, const char* name,
               fuse_ino_t newparent_id, const char* newname,
               unsigned int flags) {
  FsContext& fs = context(req);
  Inode& parent = fs.inodes.get(parent_id);
  Inode& newparent = fs.inodes.get(newparent_id);
  const InodeFd from = pin_or_reply(req, parent_id);
  if (!from.ok()) return;
  const InodeFd to = pin_or_reply(req, newparent_id);
  if (!to.ok()) return;
  // The file a plain rename replaces loses that name.
  Victim replaced;
  if (!(flags & (RENAME_EXCHANGE | RENAME_NOREPLACE))) {
    replaced = victim_of(fs, to.get(), newname);
  }
  if (::renameat2(from.get(), name, to.get(), newname, flags) < 0) {
    reply_err(req, errno);
    return;
  }
  struct stat replaced_st;
  after_removal(fs, replaced, &replaced_st);
  Change c;
  c.kind = JournalKind::kRename;
  c.parent = parent.ino;
  c.name = name;
  c.parent2 = newparent.ino;
  c.name2 = newname;
  c.off = flags;
  // rename moves the ctime of what it moved (both, for an exchange).
  c.has_stat = ::fstatat(to.get(), newname, &c.st,
                         AT_SYMLINK_NOFOLLOW) == 0;
  if (flags & RENAME_EXCHANGE) {
    c.has_stat2 = ::fstatat(from.get(), name, &c.st2, AT_SYMLINK_NOFOLLOW) == 0;
  }
  fs.recorder->record(std::move(c), /*wait=*/false);
  reply_err(req, 0);
}

void do_statfs(fuse_req_t req, fuse_ino_t ino) {
  const InodeFd fd = pin_or_reply(req, ino);
  if (!fd.ok()) return;
  struct statvfs sv;
  if (::fstatvfs(fd.get(), &sv) < 0) {
    reply_err(req, errno);
  } else {
    fuse_reply_statfs(req, &sv);
  }
}

void do_access(fuse_req_t req, fuse_ino_t ino, int mask) {
  const InodeFd fd = pin_or_reply(req, ino);
  if (!fd.ok()) return;
  const std::string path = proc_path(fd.get());
  reply_err(req, ::faccessat(AT_FDCWD, path.c_str(), mask, 0) < 0
                          ? errno
                          : 0);
}

}  // namespace

void add_entry_ops(fuse_lowlevel_ops& ops) {
  ops.lookup = do_lookup;
  ops.forget = do_forget;
  ops.forget_multi = do_forget_multi;
  ops.getattr = do_getattr;
  ops.setattr = do_setattr;
  ops.readlink = do_readlink;
  ops.mknod = do_mknod;
  ops.mkdir = do_mkdir;
  ops.symlink = do_symlink;
  ops.link = do_link;
  ops.unlink = do_unlink;
  ops.rmdir = do_rmdir;
  ops.rename = do_rename;
  ops.statfs = do_statfs;
  ops.access = do_access;
}

}  // namespace mirrorfs::fs
