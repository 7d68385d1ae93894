// Writes the seed corpus of fuzz_frame: one frame of every type (the
// samples of wire_test_util), a whole conversation in one stream, and a
// few frames each broken in one way. Deterministic for a given zstd.
//   wire_make_corpus tests/fuzz/corpus/frame
#include <zstd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "tests/replicator/wire/wire_test_util.h"

namespace {

using namespace mirrorfs::replicator::wire;
using namespace mirrorfs::replicator::wire::testing;

bool write(const std::string& dir, const std::string& name,
           const std::vector<uint8_t>& bytes) {
  std::ofstream f(dir + "/" + name, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(bytes.data()),
          static_cast<std::streamsize>(bytes.size()));
  return static_cast<bool>(f);
}

// 2 MiB of zeros as one zstd frame with a 1 MiB window and no content
// size: a small bomb that only the output bound stops.
std::vector<uint8_t> small_bomb() {
  ZSTD_CCtx* c = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, 0);
  ZSTD_CCtx_setParameter(c, ZSTD_c_windowLog, 20);
  const std::vector<uint8_t> zeros(2u << 20);
  std::vector<uint8_t> out(4096);
  ZSTD_inBuffer in{zeros.data(), zeros.size(), 0};
  ZSTD_outBuffer o{out.data(), out.size(), 0};
  const size_t ret = ZSTD_compressStream2(c, &o, &in, ZSTD_e_end);
  ZSTD_freeCCtx(c);
  out.resize(ZSTD_isError(ret) || ret != 0 ? 0 : o.pos);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  bool ok = true;
  std::vector<uint8_t> stream;
  int i = 0;
  for (const Message& m : sample_messages()) {
    const std::vector<uint8_t> f = encoded(m);
    char name[64];
    std::snprintf(name, sizeof name, "%02d_%s", i++, type_name(type_of(m)));
    ok = write(dir, name, f) && ok;
    stream.insert(stream.end(), f.begin(), f.end());
  }
  ok = write(dir, "stream_all", stream) && ok;

  std::vector<uint8_t> f = encoded(Message{1, Barrier{3}});
  f.pop_back();
  ok = write(dir, "bad_truncated", f) && ok;
  f = frame(50, 1, Bytes().u64(3).u8(0).bytes());
  ok = write(dir, "bad_trailing_byte", f) && ok;
  f = frame(42, 1, Bytes().u8(2).hash({}).u64(0).bytes());
  ok = write(dir, "bad_bool", f) && ok;
  f = frame(1, 0, Bytes().u32(2).u64(0).str("future").bytes());
  ok = write(dir, "bad_hello_version", f) && ok;
  f = frame(16, 1, Bytes().u64(1).str("a").str("b").u32(3).bytes());
  ok = write(dir, "bad_rename_flags", f) && ok;
  f = frame(31, 1, small_bomb(), kFlagZstd);
  ok = write(dir, "bad_zstd_bomb", f) && ok;
  f = frame(60, 1, {}, 2);
  ok = write(dir, "bad_reserved_flag", f) && ok;
  if (!ok)
    std::fprintf(stderr, "wire_make_corpus: cannot write to %s\n", argv[1]);
  return ok ? 0 : 1;
}
