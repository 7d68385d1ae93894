// The output file of a command, with rdiff's overwrite rule and our
// atomicity rule: a regular file is written under a temporary name beside
// it and renamed into place by commit(). A run that fails (or is
// interrupted by SIGINT, SIGTERM or SIGHUP) removes the temporary, so
// neither a truncated file that looks valid nor the loss of the file -f
// was to replace can result, and a reader never sees a partial file.
#pragma once

#include <sys/stat.h>

#include <memory>
#include <string>
#include <vector>

#include "core/status.h"

namespace mirrorfs::cli {

class OutputFile {
 public:
  // Opens `path` for writing; "-" is standard output (never closed or
  // removed). Without `force`, refuses an existing regular file (or a
  // symlink to anything), as rdiff does; an existing device or FIFO (e.g.
  // /dev/null) is written without -f. With `force`, truncates an existing
  // file, but only after checking it is none of `inputs` (so
  // `patch -f a d a` cannot destroy its own basis). New files get mode
  // 0666 & ~umask.
  // At most one OutputFile may be open at a time (the signal handler
  // knows one path).
  static Result<std::unique_ptr<OutputFile>> open(
      const std::string& path, bool force,
      const std::vector<struct stat>& inputs);

  // The cheap early form of open()'s overwrite rule, for commands that do
  // long work (loading a signature) before they open their output.
  static Status check_writable(const std::string& path, bool force);

  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;
  // Removes the file unless commit() succeeded (see above).
  ~OutputFile();

  int fd() const { return fd_; }
  const std::string& path() const { return path_; }

  // Closes the file, reporting a failed close (e.g. NFS, quota), and
  // renames a temporary into place. On failure the destructor removes
  // what we wrote.
  Status commit();

 private:
  OutputFile(std::string path, int fd, bool removable);
  void forget_for_signals();
  static Result<std::unique_ptr<OutputFile>> open_temporary(
      const std::string& path, bool replace, mode_t mode);

  std::string path_;
  std::string temp_;      // non-empty: written here, renamed to path_
  bool replace_ = false;  // commit() may replace an existing path_
  int fd_ = -1;
  bool removable_ = false;  // remove (temp_ or path_) unless committed
  bool committed_ = false;
};

// Installs the handlers that remove the current output file on SIGINT,
// SIGTERM and SIGHUP before dying of the signal. Call once, early in main.
void install_output_cleanup_handlers();

}  // namespace mirrorfs::cli
