#include "tests/replicator/faults/fault_workload.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <random>

#include "tests/replicator/faults/versioned_content.h"

namespace mirrorfs::replicator::testing {
namespace {

uint64_t next_random(uint64_t& s) {  // splitmix64: cheap and seedable
  uint64_t z = (s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Reads all of `fd` from offset 0.
bool read_fd(int fd, std::string* out) {
  out->clear();
  char buf[1 << 16];
  for (off_t off = 0;;) {
    const ssize_t r = ::pread(fd, buf, sizeof buf, off);
    if (r < 0) return false;
    if (r == 0) return true;
    out->append(buf, static_cast<size_t>(r));
    off += r;
  }
}

}  // namespace

FaultWorkload::FaultWorkload(FaultWorkloadOptions opt)
    : opt_(std::move(opt)), rng_state_(opt_.seed), next_id_(uint64_t{opt_.seed} << 24) {}

std::string FaultWorkload::path(const std::string& rel) const {
  return rel.empty() ? opt_.root : opt_.root + "/" + rel;
}

std::string FaultWorkload::fresh(const std::string& dir) {
  return (dir.empty() ? "" : dir + "/") + "n" + std::to_string(fresh_++);
}

uint64_t FaultWorkload::random_size() {
  const uint64_t limit = next_random(rng_state_) % 16 == 0 ? opt_.big_size : opt_.max_size;
  return kVersionHeaderSize + next_random(rng_state_) % (limit - kVersionHeaderSize);
}

int FaultWorkload::write_version(int fd, const std::string& content, uint32_t chunk) {
  for (size_t off = 0; off < content.size(); off += chunk) {
    const size_t n = std::min<size_t>(chunk, content.size() - off);
    if (::pwrite(fd, content.data() + off, n, static_cast<off_t>(off)) !=
        static_cast<ssize_t>(n)) {
      return errno != 0 ? errno : EIO;
    }
  }
  return 0;
}

int FaultWorkload::write_file(const std::string& rel, uint64_t size) {
  Version v;
  v.file_id = next_id_++;
  v.size = std::max<uint64_t>(size, kVersionHeaderSize);
  v.chunk = static_cast<uint32_t>(3000 + next_random(rng_state_) % 60000);
  const std::string dir = rel.find('/') == std::string::npos ? "" : rel.substr(0, rel.rfind('/'));
  struct stat st;
  const bool exists = ::lstat(path(rel).c_str(), &st) == 0;
  const std::string target = exists ? fresh(dir) : rel;
  errno = 0;
  const int fd = ::open(path(target).c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0) return errno;
  int err = write_version(fd, make_content(v), v.chunk);
  if (::close(fd) != 0 && err == 0) err = errno;
  if (err == 0 && exists && ::rename(path(target).c_str(), path(rel).c_str()) != 0) err = errno;
  if (err == 0 && std::find(files_.begin(), files_.end(), rel) == files_.end()) {
    files_.push_back(rel);
  }
  return err;
}

bool FaultWorkload::create() {
  std::string dir = dirs_[next_random(rng_state_) % dirs_.size()];
  return write_file(fresh(dir), random_size()) == 0;
}

bool FaultWorkload::replace_by_rename() {
  const std::string f = files_[next_random(rng_state_) % files_.size()];
  return write_file(f, random_size()) == 0;
}

// Reads the file, and if it holds a complete version, writes the next
// one over it in place; else (a version cut short by a killed mount)
// replaces it whole.
bool FaultWorkload::rewrite_in_place() {
  const std::string f = files_[next_random(rng_state_) % files_.size()];
  const int fd = ::open(path(f).c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return false;
  std::string old;
  Version cur;
  if (!read_fd(fd, &old) || !is_complete(old) || !parse_header(old, &cur)) {
    ::close(fd);
    return write_file(f, random_size()) == 0;
  }
  Version v = cur;
  v.version = cur.version + 1;
  v.prev_version = cur.version;
  v.prev_size = cur.size;
  v.size = random_size();
  v.chunk = static_cast<uint32_t>(3000 + next_random(rng_state_) % 60000);
  int err = write_version(fd, make_content(v), v.chunk);
  if (err == 0 && v.size < cur.size && ::ftruncate(fd, static_cast<off_t>(v.size)) != 0) {
    err = errno;
  }
  if (::close(fd) != 0 && err == 0) err = errno;
  return err == 0;
}

bool FaultWorkload::rename_dir() {
  const std::string d = dirs_[next_random(rng_state_) % dirs_.size()];
  if (d.empty()) return true;
  const std::string to = fresh(dirs_[next_random(rng_state_) % dirs_.size()]);
  if (::rename(path(d).c_str(), path(to).c_str()) != 0) return errno == EINVAL;  // into itself
  auto moved = [&](std::string& p) {
    if (p == d || p.rfind(d + "/", 0) == 0) p = to + p.substr(d.size());
  };
  std::for_each(files_.begin(), files_.end(), moved);
  std::for_each(dirs_.begin(), dirs_.end(), moved);
  return true;
}

bool FaultWorkload::step() {
  auto pick = [&](const std::vector<std::string>& v) {
    return v[next_random(rng_state_) % v.size()];
  };
  const int kind = static_cast<int>(next_random(rng_state_) % 100);
  if (files_.empty() || kind < 20) return create();
  if (static_cast<int>(files_.size()) > opt_.max_files || kind < 28) {  // unlink
    const std::string f = pick(files_);
    if (::unlink(path(f).c_str()) != 0) return false;
    std::erase(files_, f);
    return true;
  }
  if (kind < 48) return rewrite_in_place();
  if (kind < 58) return replace_by_rename();
  if (kind < 66) {  // rename a file, sometimes over another
    const std::string f = pick(files_);
    const std::string to = next_random(rng_state_) % 3 == 0 ? pick(files_) : fresh(pick(dirs_));
    if (to == f) return true;
    if (::rename(path(f).c_str(), path(to).c_str()) != 0) return false;
    std::erase(files_, f);
    std::erase(files_, to);
    files_.push_back(to);
    return true;
  }
  if (kind < 69) return rename_dir();
  if (kind < 74) {  // mkdir
    const std::string d = fresh(pick(dirs_));
    if (::mkdir(path(d).c_str(), 0755) != 0) return false;
    dirs_.push_back(d);
    return true;
  }
  if (kind < 77) {  // rmdir (fails unless empty: that is fine)
    const std::string d = pick(dirs_);
    if (!d.empty() && ::rmdir(path(d).c_str()) == 0) std::erase(dirs_, d);
    return true;
  }
  if (kind < 81) {  // hard link
    const std::string to = fresh(pick(dirs_));
    if (::link(path(pick(files_)).c_str(), path(to).c_str()) != 0) return false;
    files_.push_back(to);
    return true;
  }
  if (kind < 84) {  // symlink (a name the checker does not read)
    return ::symlink(pick(files_).c_str(), path(fresh(pick(dirs_))).c_str()) == 0;
  }
  if (kind < 92) {
    return ::chmod(path(pick(files_)).c_str(), next_random(rng_state_) % 2 ? 0600 : 0664) == 0;
  }
  const timespec t[2] = {
      {static_cast<time_t>(1'600'000'000 + next_random(rng_state_) % 100'000'000),
       static_cast<long>(next_random(rng_state_) % 1'000'000'000)},
      {static_cast<time_t>(1'600'000'000 + next_random(rng_state_) % 100'000'000),
       static_cast<long>(next_random(rng_state_) % 1'000'000'000)}};
  const std::string p = next_random(rng_state_) % 4 == 0 ? pick(dirs_) : pick(files_);
  return ::utimensat(AT_FDCWD, path(p).c_str(), t, AT_SYMLINK_NOFOLLOW) == 0;
}

void FaultWorkload::run_ops(int ops) {
  for (int i = 0; i < ops; ++i) {
    ++ops_;
    if (!step()) ++failed_;
  }
}

void FaultWorkload::run(const std::atomic<bool>& stop) {
  while (!stop.load()) {
    ++ops_;
    if (!step()) {
      ++failed_;
      ::usleep(2000);  // a dead mount fails fast: do not spin
    }
    if (opt_.pause_us > 0) ::usleep(static_cast<useconds_t>(opt_.pause_us));
  }
}

}  // namespace mirrorfs::replicator::testing
