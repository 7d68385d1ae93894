#include "replicator/verify_source.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "core/content_hash.h"
#include "db/attr_payload.h"

namespace mirrorfs::replicator {
namespace {

struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

void hash_file(int dir_fd, const char* name, wire::ListEntry& e, uint64_t* hashed) {
  Fd f{::openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)};
  struct stat before, after;
  if (f.fd < 0 || ::fstat(f.fd, &before) != 0 || before.st_ino != e.ino) return;
  Result<core::ContentHash> h = core::content_hash_fd(f.fd);
  if (!h.is_ok() || ::fstat(f.fd, &after) != 0) return;
  *hashed += static_cast<uint64_t>(after.st_size);
  if (after.st_size != before.st_size || db::ns_of(after.st_mtim) != db::ns_of(before.st_mtim) ||
      db::ns_of(after.st_ctim) != db::ns_of(before.st_ctim)) {
    return;  // changed while read: no hash, reported as content
  }
  e.has_hash = true;
  std::copy(h->begin(), h->end(), e.hash.begin());
}

// Lists the open directory `fd` (taken) whose entries are named prefix+NAME.
Status walk(int fd, const std::string& prefix, std::vector<wire::ListEntry>* out,
            uint64_t* hashed) {
  DIR* d = ::fdopendir(fd);
  if (d == nullptr) {
    const int err = errno;
    ::close(fd);
    return Status::from_errno(err, "list BACKING/" + prefix);
  }
  struct Closer {
    DIR* d;
    ~Closer() { ::closedir(d); }
  } closer{d};
  for (;;) {
    errno = 0;
    const dirent* de = ::readdir(d);
    if (de == nullptr) {
      if (errno != 0) return Status::from_errno(errno, "list BACKING/" + prefix);
      return Status::ok();
    }
    if (std::strcmp(de->d_name, ".") == 0 || std::strcmp(de->d_name, "..") == 0) continue;
    struct stat st;
    if (::fstatat(::dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;  // gone while listed
      return Status::from_errno(errno, "stat BACKING/" + prefix + de->d_name);
    }
    wire::ListEntry e;
    e.path = prefix + de->d_name;
    e.mode = st.st_mode;
    e.uid = st.st_uid;
    e.gid = st.st_gid;
    e.nlink = static_cast<uint32_t>(st.st_nlink);
    e.ino = st.st_ino;
    e.size = static_cast<uint64_t>(st.st_size);
    e.mtime_ns = db::ns_of(st.st_mtim);
    if (S_ISLNK(st.st_mode)) {
      char buf[wire::kMaxPath + 1];
      const ssize_t n = ::readlinkat(::dirfd(d), de->d_name, buf, sizeof buf);
      if (n <= 0) continue;  // gone
      e.target.assign(buf, static_cast<size_t>(n));
    } else if (S_ISREG(st.st_mode)) {
      hash_file(::dirfd(d), de->d_name, e, hashed);
    }
    out->push_back(e);
    if (!S_ISDIR(st.st_mode)) continue;
    const int sub =
        ::openat(::dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub < 0) {
      if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP) continue;
      return Status::from_errno(errno, "list BACKING/" + e.path);
    }
    MIRRORFS_RETURN_IF_ERROR(walk(sub, e.path + "/", out, hashed));
  }
}

}  // namespace

Status list_source(const std::string& backing, const std::string& rel,
                   std::vector<wire::ListEntry>* out, uint64_t* hashed) {
  const std::string where = rel == "." ? backing : backing + "/" + rel;
  const int fd = ::open(where.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP) {
      return Status(Code::kNotFound, where + " is not a directory in BACKING");
    }
    return Status::from_errno(errno, "open " + where);
  }
  return walk(fd, rel == "." ? std::string() : rel + "/", out, hashed);
}

}  // namespace mirrorfs::replicator
