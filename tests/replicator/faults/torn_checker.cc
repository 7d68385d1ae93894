#include "tests/replicator/faults/torn_checker.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace mirrorfs::replicator::testing {
namespace {

constexpr char kTempPrefix[] = ".mirrorfs-tmp-";

// The whole content of `path`, read through one descriptor (the mirror
// replaces files by rename, so one open sees one version). False if it
// vanished or is not a regular file any more.
bool read_regular(const std::string& path, std::string* out) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return false;
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return false;
  }
  out->clear();
  char buf[1 << 16];
  ssize_t r;
  while ((r = ::read(fd, buf, sizeof buf)) > 0) out->append(buf, static_cast<size_t>(r));
  ::close(fd);
  return r == 0;
}

std::string walk(const std::string& dir, const CheckOptions& opt, bool finished,
                 uint64_t* checked, const std::atomic<bool>* stop) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return "";  // renamed or removed meanwhile
  std::vector<std::pair<std::string, unsigned char>> entries;
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") entries.emplace_back(name, e->d_type);
  }
  ::closedir(d);
  std::string content;
  for (const auto& [name, type] : entries) {
    if (stop != nullptr && stop->load()) return "";
    const std::string path = dir + "/" + name;
    if (name.rfind(kTempPrefix, 0) == 0) {
      if (finished) return path + ": a temporary file left in the mirror";
      continue;
    }
    if (type == DT_DIR) {
      std::string r = walk(path, opt, finished, checked, stop);
      if (!r.empty()) return r;
    } else if (type == DT_REG && opt.contents && read_regular(path, &content)) {
      if (checked != nullptr) ++*checked;
      std::string why = check_content(content, opt);
      if (!why.empty()) return path + ": " + why;
    }
  }
  return "";
}

}  // namespace

std::string check_tree(const std::string& root, const CheckOptions& opt, bool finished,
                       uint64_t* checked) {
  return walk(root, opt, finished, checked, nullptr);
}

void TornChecker::start() {
  stop_ = false;
  failure_.clear();
  thread_ = std::thread([this] {
    while (!stop_.load() && failure_.empty()) {
      uint64_t n = 0;
      failure_ = walk(root_, opt_, /*finished=*/false, &n, &stop_);
      checked_ += n;
      if (n == 0) ::usleep(2000);  // an empty mirror: do not spin
    }
  });
}

std::string TornChecker::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  return failure_;
}

}  // namespace mirrorfs::replicator::testing
