// An input file of a command: a path opened read-only, or "-" for
// standard input. Closes what it opened.
#pragma once

#include <sys/stat.h>

#include <memory>
#include <optional>
#include <string>

#include "core/status.h"

namespace mirrorfs::cli {

class InputFile {
 public:
  // Opens `path` ("-": standard input, never closed). Refuses a directory.
  static Result<std::unique_ptr<InputFile>> open(const std::string& path);

  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;
  ~InputFile();

  int fd() const { return fd_; }
  const std::string& path() const { return path_; }
  bool is_stdin() const { return path_ == "-"; }
  const struct stat& stat() const { return st_; }
  // Supports pread: a regular file or a block device.
  bool is_random_access() const;
  // The size when it is a regular file; nullopt for pipes and terminals.
  std::optional<uint64_t> size() const;

 private:
  InputFile(std::string path, int fd, const struct stat& st)
      : path_(std::move(path)), fd_(fd), st_(st) {}

  std::string path_;
  int fd_ = -1;
  struct stat st_ {};
};

// "standard input" / "standard output" for "-", else the path itself.
std::string display_name(const std::string& path, bool output);

}  // namespace mirrorfs::cli
