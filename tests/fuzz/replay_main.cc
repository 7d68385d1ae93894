// A main() for fuzz targets built without libFuzzer (e.g. with gcc): runs
// LLVMFuzzerTestOneInput once over every file named on the command line or
// found (recursively) in a directory named there. Files whose names start
// with '.' or "README" are skipped; a directory that does not exist is
// noted and skipped, so an empty regressions/ folder is not an error.
// A failing input aborts inside the target; the name printed last is it.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

namespace fs = std::filesystem;

bool skipped(const fs::path& p) {
  const std::string name = p.filename().string();
  return name.empty() || name[0] == '.' || name.rfind("README", 0) == 0;
}

bool run_file(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::error_code ec;
  const auto size = fs::file_size(p, ec);
  if (!f || ec) {
    std::fprintf(stderr, "replay: cannot read %s\n", p.c_str());
    return false;
  }
  // Exactly the file's size on the heap, so ASan sees reads past the end.
  auto data = std::make_unique<uint8_t[]>(size);
  if (!f.read(reinterpret_cast<char*>(data.get()),
              static_cast<std::streamsize>(size))) {
    std::fprintf(stderr, "replay: short read of %s\n", p.c_str());
    return false;
  }
  std::fprintf(stderr, "replay: %s (%zu bytes)\n", p.c_str(),
               static_cast<size_t>(size));
  LLVMFuzzerTestOneInput(data.get(), size);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  size_t files = 0;
  bool ok = true;
  for (int i = 1; i < argc; ++i) {
    const fs::path arg(argv[i]);
    std::error_code ec;
    if (fs::is_directory(arg, ec)) {
      std::vector<fs::path> paths;
      for (const auto& e : fs::recursive_directory_iterator(arg)) {
        if (e.is_regular_file() && !skipped(e.path()))
          paths.push_back(e.path());
      }
      std::sort(paths.begin(), paths.end());  // a stable order for logs
      for (const auto& p : paths) {
        ok = run_file(p) && ok;
        ++files;
      }
    } else if (fs::is_regular_file(arg, ec)) {
      ok = run_file(arg) && ok;
      ++files;
    } else {
      std::fprintf(stderr, "replay: %s does not exist, skipped\n", argv[i]);
    }
  }
  std::printf("replay: %zu inputs, %s\n", files, ok ? "all passed" : "FAILED");
  return ok ? 0 : 1;
}
