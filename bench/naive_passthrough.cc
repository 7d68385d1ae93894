// The naive reference for bench/fs_bench.py: a minimal passthrough on
// libfuse's high-level (path-based) API with its defaults — what a first
// FUSE filesystem looks like. Not part of mirrorfs; built with the
// benchmarks only.
//
// Usage: naive_passthrough BACKING MOUNTPOINT [FUSE options, e.g. -f]
#define FUSE_USE_VERSION 31
#include <dirent.h>
#include <fcntl.h>
#include <fuse.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {

std::string g_backing;

std::string real(const char* path) { return g_backing + path; }
int neg_errno(int r) { return r < 0 ? -errno : r; }

int nf_getattr(const char* p, struct stat* st, fuse_file_info*) {
  return neg_errno(::lstat(real(p).c_str(), st));
}
int nf_readlink(const char* p, char* buf, size_t size) {
  const ssize_t n = ::readlink(real(p).c_str(), buf, size - 1);
  if (n < 0) return -errno;
  buf[n] = '\0';
  return 0;
}
int nf_mknod(const char* p, mode_t mode, dev_t rdev) {
  return neg_errno(::mknod(real(p).c_str(), mode, rdev));
}
int nf_mkdir(const char* p, mode_t mode) {
  return neg_errno(::mkdir(real(p).c_str(), mode));
}
int nf_unlink(const char* p) { return neg_errno(::unlink(real(p).c_str())); }
int nf_rmdir(const char* p) { return neg_errno(::rmdir(real(p).c_str())); }
int nf_symlink(const char* to, const char* p) {
  return neg_errno(::symlink(to, real(p).c_str()));
}
int nf_rename(const char* a, const char* b, unsigned int flags) {
  return neg_errno(::renameat2(AT_FDCWD, real(a).c_str(), AT_FDCWD,
                               real(b).c_str(), flags));
}
int nf_link(const char* a, const char* b) {
  return neg_errno(::link(real(a).c_str(), real(b).c_str()));
}
int nf_chmod(const char* p, mode_t mode, fuse_file_info*) {
  return neg_errno(::chmod(real(p).c_str(), mode));
}
int nf_chown(const char* p, uid_t u, gid_t g, fuse_file_info*) {
  return neg_errno(::lchown(real(p).c_str(), u, g));
}
int nf_truncate(const char* p, off_t size, fuse_file_info* fi) {
  return neg_errno(fi ? ::ftruncate(fi->fh, size)
                      : ::truncate(real(p).c_str(), size));
}
int nf_utimens(const char* p, const timespec tv[2], fuse_file_info*) {
  return neg_errno(
      ::utimensat(AT_FDCWD, real(p).c_str(), tv, AT_SYMLINK_NOFOLLOW));
}
int nf_open(const char* p, fuse_file_info* fi) {
  const int fd = ::open(real(p).c_str(), fi->flags);
  if (fd < 0) return -errno;
  fi->fh = fd;
  return 0;
}
int nf_create(const char* p, mode_t mode, fuse_file_info* fi) {
  const int fd = ::open(real(p).c_str(), fi->flags, mode);
  if (fd < 0) return -errno;
  fi->fh = fd;
  return 0;
}
int nf_read(const char*, char* buf, size_t size, off_t off,
            fuse_file_info* fi) {
  const ssize_t n = ::pread(fi->fh, buf, size, off);
  return n < 0 ? -errno : static_cast<int>(n);
}
int nf_write(const char*, const char* buf, size_t size, off_t off,
             fuse_file_info* fi) {
  const ssize_t n = ::pwrite(fi->fh, buf, size, off);
  return n < 0 ? -errno : static_cast<int>(n);
}
int nf_statfs(const char* p, struct statvfs* sv) {
  return neg_errno(::statvfs(real(p).c_str(), sv));
}
int nf_release(const char*, fuse_file_info* fi) {
  ::close(fi->fh);
  return 0;
}
int nf_fsync(const char*, int datasync, fuse_file_info* fi) {
  return neg_errno(datasync ? ::fdatasync(fi->fh) : ::fsync(fi->fh));
}
int nf_readdir(const char* p, void* buf, fuse_fill_dir_t fill, off_t,
               fuse_file_info*, fuse_readdir_flags) {
  DIR* dp = ::opendir(real(p).c_str());
  if (dp == nullptr) return -errno;
  while (dirent* d = ::readdir(dp)) {
    struct stat st {};
    st.st_ino = d->d_ino;
    st.st_mode = static_cast<mode_t>(d->d_type) << 12;
    if (fill(buf, d->d_name, &st, 0, static_cast<fuse_fill_dir_flags>(0))) {
      break;
    }
  }
  ::closedir(dp);
  return 0;
}
int nf_access(const char* p, int mask) {
  return neg_errno(::access(real(p).c_str(), mask));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s BACKING MOUNTPOINT [FUSE options]\n",
                 argv[0]);
    return 1;
  }
  char buf[PATH_MAX];
  if (::realpath(argv[1], buf) == nullptr) {
    std::perror(argv[1]);
    return 1;
  }
  g_backing = buf;
  fuse_operations ops{};
  ops.getattr = nf_getattr;
  ops.readlink = nf_readlink;
  ops.mknod = nf_mknod;
  ops.mkdir = nf_mkdir;
  ops.unlink = nf_unlink;
  ops.rmdir = nf_rmdir;
  ops.symlink = nf_symlink;
  ops.rename = nf_rename;
  ops.link = nf_link;
  ops.chmod = nf_chmod;
  ops.chown = nf_chown;
  ops.truncate = nf_truncate;
  ops.utimens = nf_utimens;
  ops.open = nf_open;
  ops.create = nf_create;
  ops.read = nf_read;
  ops.write = nf_write;
  ops.statfs = nf_statfs;
  ops.release = nf_release;
  ops.fsync = nf_fsync;
  ops.readdir = nf_readdir;
  ops.access = nf_access;
  std::vector<char*> args = {argv[0], argv[2]};
  for (int i = 3; i < argc; ++i) args.push_back(argv[i]);
  return fuse_main(static_cast<int>(args.size()), args.data(), &ops, nullptr);
}
