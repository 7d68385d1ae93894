#include "cli/input_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace mirrorfs::cli {

Result<std::unique_ptr<InputFile>> InputFile::open(const std::string& path) {
  const bool is_stdin = path == "-";
  int fd = is_stdin ? STDIN_FILENO
                    : ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return Status::from_errno(errno, "cannot open");
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    if (!is_stdin) ::close(fd);
    return Status::from_errno(err, "cannot stat");
  }
  if (S_ISDIR(st.st_mode)) {
    if (!is_stdin) ::close(fd);
    return Status::from_errno(EISDIR, "cannot read");
  }
  return std::unique_ptr<InputFile>(new InputFile(path, fd, st));
}

InputFile::~InputFile() {
  if (fd_ >= 0 && !is_stdin()) ::close(fd_);
}

bool InputFile::is_random_access() const {
  return S_ISREG(st_.st_mode) || S_ISBLK(st_.st_mode);
}

std::optional<uint64_t> InputFile::size() const {
  if (!S_ISREG(st_.st_mode)) return std::nullopt;
  return static_cast<uint64_t>(st_.st_size);
}

std::string display_name(const std::string& path, bool output) {
  if (path == "-") return output ? "standard output" : "standard input";
  return path;
}

}  // namespace mirrorfs::cli
