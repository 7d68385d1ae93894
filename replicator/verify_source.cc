#include "replicator/verify_source.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "replicator/mirror/list_entry.h"

namespace mirrorfs::replicator {
namespace {

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
    wire::ListEntry e = mirror::list_entry_of(prefix + de->d_name, st);
    if (S_ISLNK(st.st_mode)) {
      char buf[wire::kMaxPath + 1];
      const ssize_t n = ::readlinkat(::dirfd(d), de->d_name, buf, sizeof buf);
      if (n <= 0) continue;  // gone
      e.target.assign(buf, static_cast<size_t>(n));
    } else if (S_ISREG(st.st_mode)) {
      // Changed while read: no hash, reported as content.
      if (auto h = mirror::hash_if_stable(::dirfd(d), de->d_name, st.st_ino, hashed)) {
        e.has_hash = true;
        std::copy(h->begin(), h->end(), e.hash.begin());
      }
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
