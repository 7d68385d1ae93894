#include "cli/output_file.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace mirrorfs::cli {

namespace {

// The path the signal handler removes; null when there is none. Points
// into the live OutputFile's path_.
std::atomic<const char*> g_cleanup_path{nullptr};

extern "C" void remove_output_and_die(int sig) {
  const char* p = g_cleanup_path.exchange(nullptr);
  if (p != nullptr) ::unlink(p);  // async-signal-safe
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

// Whether writing `a` would destroy the input `b`. Character devices,
// FIFOs and sockets (e.g. /dev/null) are streams, not stored data.
bool same_file(const struct stat& a, const struct stat& b) {
  if (S_ISCHR(a.st_mode) || S_ISFIFO(a.st_mode) || S_ISSOCK(a.st_mode)) {
    return false;
  }
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

}  // namespace

void install_output_cleanup_handlers() {
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
    // A signal ignored by whoever started us (nohup, a background job of
    // a script) stays ignored.
    struct sigaction old;
    if (::sigaction(sig, nullptr, &old) == 0 && old.sa_handler == SIG_IGN) {
      continue;
    }
    struct sigaction sa;
    std::memset(&sa, 0, sizeof sa);
    sa.sa_handler = remove_output_and_die;
    sigemptyset(&sa.sa_mask);
    ::sigaction(sig, &sa, nullptr);
  }
}

OutputFile::OutputFile(std::string path, int fd, bool removable)
    : path_(std::move(path)), fd_(fd), removable_(removable) {
  if (removable_) g_cleanup_path.store(path_.c_str());
}

void OutputFile::forget_for_signals() {
  const char* mine = temp_.empty() ? path_.c_str() : temp_.c_str();
  g_cleanup_path.compare_exchange_strong(mine, nullptr);
}

// A new file ".NAME.mirrorfs-XXXXXX" in the directory of `path`.
Result<std::unique_ptr<OutputFile>> OutputFile::open_temporary(
    const std::string& path, bool replace, mode_t mode) {
  const size_t slash = path.rfind('/');
  const std::string dir =
      slash == std::string::npos ? "" : path.substr(0, slash + 1);
  const std::string base =
      slash == std::string::npos ? path : path.substr(slash + 1);
  std::string temp = dir + "." + base + ".mirrorfs-XXXXXX";
  const int fd = ::mkostemp(temp.data(), O_CLOEXEC);
  if (fd < 0) return Status::from_errno(errno, "cannot create");
  if (::fchmod(fd, mode) != 0) {
    const int err = errno;
    ::close(fd);
    ::unlink(temp.c_str());
    return Status::from_errno(err, "cannot set mode");
  }
  std::unique_ptr<OutputFile> out(new OutputFile(path, fd, false));
  out->temp_ = std::move(temp);
  out->replace_ = replace;
  out->removable_ = true;
  g_cleanup_path.store(out->temp_.c_str());
  return out;
}

Status OutputFile::check_writable(const std::string& path, bool force) {
  if (path == "-" || force) return Status::ok();
  struct stat st;
  if (::lstat(path.c_str(), &st) == 0 &&
      (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode))) {
    return Status(Code::kAlreadyExists, "already exists (use -f to overwrite)");
  }
  return Status::ok();
}

Result<std::unique_ptr<OutputFile>> OutputFile::open(
    const std::string& path, bool force,
    const std::vector<struct stat>& inputs) {
  if (path == "-") {
    return std::unique_ptr<OutputFile>(
        new OutputFile(path, STDOUT_FILENO, false));
  }
  const int kFlags = O_WRONLY | O_CLOEXEC | O_NOCTTY;
  struct stat lst;
  if (::lstat(path.c_str(), &lst) != 0) {
    if (errno != ENOENT) return Status::from_errno(errno, "cannot stat");
    const mode_t mask = ::umask(0);
    ::umask(mask);
    return open_temporary(path, /*replace=*/false, 0666 & ~mask);
  }
  if (S_ISREG(lst.st_mode)) {
    if (!force) {
      return Status(Code::kAlreadyExists,
                    "already exists (use -f to overwrite)");
    }
    for (const struct stat& in : inputs) {
      if (same_file(lst, in)) {
        return Status::invalid_argument("is also an input of this command");
      }
    }
    return open_temporary(path, /*replace=*/true, lst.st_mode & 07777);
  }
  int fd = -1;
  // It exists. Open it without truncating, to see what it is first.
  // O_NONBLOCK: a FIFO without a reader must not hang us here.
  fd = ::open(path.c_str(), kFlags | O_NOFOLLOW | O_NONBLOCK);
  bool via_symlink = false;
  if (fd < 0) {
    int err = errno;
    if (err == ELOOP && !force) {
      return Status(Code::kAlreadyExists,
                    "already exists (use -f to overwrite)");
    }
    if (err != ELOOP) return Status::from_errno(err, "cannot open");
    fd = ::open(path.c_str(), kFlags | O_NONBLOCK);  // -f: follow the link
    if (fd < 0) return Status::from_errno(errno, "cannot open");
    via_symlink = true;
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return Status::from_errno(err, "cannot stat");
  }
  const bool regular = S_ISREG(st.st_mode);
  if (regular && !force) {
    ::close(fd);
    return Status(Code::kAlreadyExists, "already exists (use -f to overwrite)");
  }
  for (const struct stat& in : inputs) {
    if (same_file(st, in)) {
      ::close(fd);
      return Status::invalid_argument("is also an input of this command");
    }
  }
  // Back to blocking writes: the core's writers expect them.
  int fl = ::fcntl(fd, F_GETFL);
  if (fl < 0 || ::fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
    int err = errno;
    ::close(fd);
    return Status::from_errno(err, "cannot set blocking mode");
  }
  if (regular && ::ftruncate(fd, 0) != 0) {
    int err = errno;
    ::close(fd);
    return Status::from_errno(err, "cannot truncate");
  }
  // A failure removes what we truncated, but never a symlink's name.
  return std::unique_ptr<OutputFile>(
      new OutputFile(path, fd, regular && !via_symlink));
}

Status OutputFile::commit() {
  if (fd_ == STDOUT_FILENO) {
    committed_ = true;
    return Status::ok();
  }
  int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) return Status::from_errno(errno, "close");
  if (!temp_.empty()) {
    // Without -f the name must still be free: another process may have
    // created it since open().
    const unsigned flags = replace_ ? 0 : RENAME_NOREPLACE;
    int rc =
        ::renameat2(AT_FDCWD, temp_.c_str(), AT_FDCWD, path_.c_str(), flags);
    if (rc != 0 && errno == EINVAL && !replace_) {
      // A file system without RENAME_NOREPLACE: link() refuses an
      // existing name too.
      rc = ::link(temp_.c_str(), path_.c_str());
      if (rc == 0) ::unlink(temp_.c_str());
    }
    if (rc != 0) {
      const int err = errno;
      if (err == EEXIST) {
        return Status(Code::kAlreadyExists,
                      "already exists (use -f to overwrite)");
      }
      return Status::from_errno(err, "cannot rename into place");
    }
  }
  committed_ = true;
  forget_for_signals();
  return Status::ok();
}

OutputFile::~OutputFile() {
  if (fd_ >= 0 && fd_ != STDOUT_FILENO) ::close(fd_);
  if (!committed_ && removable_) {
    forget_for_signals();
    ::unlink(temp_.empty() ? path_.c_str() : temp_.c_str());
  }
  forget_for_signals();
}

}  // namespace mirrorfs::cli
