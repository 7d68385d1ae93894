#include "replicator/mirror/list_entry.h"

#include <fcntl.h>
#include <unistd.h>

#include "db/attr_payload.h"

namespace mirrorfs::replicator::mirror {

wire::ListEntry list_entry_of(std::string path, const struct stat& st) {
  wire::ListEntry e;
  e.path = std::move(path);
  e.mode = st.st_mode;
  e.uid = st.st_uid;
  e.gid = st.st_gid;
  e.nlink = static_cast<uint32_t>(st.st_nlink);
  e.ino = st.st_ino;
  e.size = static_cast<uint64_t>(st.st_size);
  e.mtime_ns = db::ns_of(st.st_mtim);
  return e;
}

std::optional<core::ContentHash> hash_if_stable(int dir_fd, const char* name, ino_t ino,
                                                uint64_t* bytes_read) {
  const int fd = ::openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) return std::nullopt;
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat before, after;
  if (::fstat(fd, &before) != 0 || !S_ISREG(before.st_mode) || before.st_ino != ino) {
    return std::nullopt;
  }
  Result<core::ContentHash> h = core::content_hash_fd(fd);
  if (!h.is_ok() || ::fstat(fd, &after) != 0) return std::nullopt;
  if (bytes_read != nullptr) *bytes_read += static_cast<uint64_t>(after.st_size);
  if (after.st_size != before.st_size ||
      db::ns_of(after.st_mtim) != db::ns_of(before.st_mtim) ||
      db::ns_of(after.st_ctim) != db::ns_of(before.st_ctim)) {
    return std::nullopt;
  }
  return *h;
}

}  // namespace mirrorfs::replicator::mirror
