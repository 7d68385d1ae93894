#include "tests/fs/random_workload.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <random>

namespace mirrorfs::fs::testing {

unsigned seed_from_env(const char* env_var) {
  const char* s = std::getenv(env_var);
  return s ? static_cast<unsigned>(std::strtoul(s, nullptr, 10))
           : std::random_device{}();
}

void run_random_workload(const std::string& root, unsigned seed, int ops,
                         WorkloadTree& tree) {
  std::mt19937 rng(seed);
  auto pick = [&](const std::vector<std::string>& v) {
    return v[rng() % v.size()];
  };
  std::vector<std::string>& dirs = tree.dirs;
  std::vector<std::string>& files = tree.files;
  auto m = [&](const std::string& rel) { return rel.empty() ? root : root + "/" + rel; };
  auto fresh = [&](const std::string& dir) {
    return (dir.empty() ? "" : dir + "/") + "n" + std::to_string(rng() % 1000);
  };
  auto forget_under = [&](const std::string& d) {  // after a dir rename
    auto gone = [&](const std::string& p) {
      return p == d || p.rfind(d + "/", 0) == 0;
    };
    std::erase_if(files, gone);
    std::erase_if(dirs, gone);
  };
  std::string buf(70000, '\0');
  for (int i = 0; i < ops; ++i) {
    for (char& c : buf) c = static_cast<char>('A' + rng() % 26);
    const int op = static_cast<int>(rng() % 13);
    if (files.empty() && op > 1) continue;
    const std::string f = files.empty() ? "" : pick(files);
    switch (op) {
      case 0: {  // create and write
        const std::string p = fresh(pick(dirs));
        const int fd = ::open(m(p).c_str(), O_CREAT | O_EXCL | O_WRONLY, 0644);
        if (fd < 0) break;
        (void)!::write(fd, buf.data(), rng() % 20000);
        ::close(fd);
        files.push_back(p);
        break;
      }
      case 1: {  // mkdir
        const std::string p = fresh(pick(dirs));
        if (::mkdir(m(p).c_str(), 0755) == 0) dirs.push_back(p);
        break;
      }
      case 2:
      case 3: {  // scattered writes, some past the end
        const int fd = ::open(m(f).c_str(), O_WRONLY);
        if (fd < 0) break;
        for (int w = 0; w < 3; ++w) {
          (void)!::pwrite(fd, buf.data(), 1 + rng() % 5000, rng() % 80000);
        }
        ::close(fd);
        break;
      }
      case 4:  // truncate
        (void)::truncate(m(f).c_str(), rng() % 60000);
        break;
      case 5: {  // rename a file, maybe over another
        const std::string to =
            rng() % 3 == 0 ? pick(files) : fresh(pick(dirs));
        if (to != f && ::rename(m(f).c_str(), m(to).c_str()) == 0) {
          std::erase(files, f);
          std::erase(files, to);
          files.push_back(to);
        }
        break;
      }
      case 6: {  // rename a directory (never into itself: EINVAL is fine)
        const std::string d = pick(dirs);
        if (d.empty()) break;
        const std::string to = fresh(pick(dirs));
        if (::rename(m(d).c_str(), m(to).c_str()) == 0) {
          forget_under(d);
          // Re-learn what moved by listing it in the mount.
          for (auto& e : std::filesystem::recursive_directory_iterator(m(to))) {
            // (not std::filesystem::relative: it resolves symlinks, and
            // a random symlink may loop)
            const std::string rel = e.path().string().substr(root.size() + 1);
            const auto type = e.symlink_status().type();
            if (type == std::filesystem::file_type::directory) {
              dirs.push_back(rel);
            } else if (type == std::filesystem::file_type::regular) {
              files.push_back(rel);
            }
          }
          dirs.push_back(to);
        }
        break;
      }
      case 7:  // unlink
        if (::unlink(m(f).c_str()) == 0) std::erase(files, f);
        break;
      case 8: {  // rmdir (fails unless empty)
        const std::string d = pick(dirs);
        if (!d.empty() && ::rmdir(m(d).c_str()) == 0) std::erase(dirs, d);
        break;
      }
      case 9: {  // hard link or symlink
        const std::string p = fresh(pick(dirs));
        if (rng() % 2) {
          if (::link(m(f).c_str(), m(p).c_str()) == 0) files.push_back(p);
        } else {
          (void)::symlink(f.c_str(), m(p).c_str());
        }
        break;
      }
      case 10:  // chmod
        (void)::chmod(m(f).c_str(), rng() % 2 ? 0600 : 0664);
        break;
      case 11:  // xattr
        if (rng() % 3) {
          (void)::setxattr(m(f).c_str(), "user.v", buf.data(), rng() % 50, 0);
        } else {
          (void)::removexattr(m(f).c_str(), "user.v");
        }
        break;
      case 12: {  // utimens: times to the nanosecond, on files and dirs
        const struct timespec t[2] = {
            {static_cast<time_t>(1'600'000'000 + rng() % 100'000'000),
             static_cast<long>(rng() % 1'000'000'000)},
            {static_cast<time_t>(1'600'000'000 + rng() % 100'000'000),
             static_cast<long>(rng() % 1'000'000'000)}};
        const std::string p = rng() % 4 == 0 ? pick(dirs) : f;
        (void)::utimensat(AT_FDCWD, m(p).c_str(), t, AT_SYMLINK_NOFOLLOW);
        break;
      }
    }
  }
}

}  // namespace mirrorfs::fs::testing
