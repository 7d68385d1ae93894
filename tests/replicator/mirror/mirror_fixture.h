// Test fixture of replicator/mirror: a fresh base directory per test with
// ROOT (the mirror root), STATE (its state dir) and OUTSIDE (a sentinel
// tree beside ROOT: a file, a directory, an xattr). TearDown checks that
// OUTSIDE is exactly as it was (names, types, contents, modes, owners,
// mtimes to the ns, xattrs): no test may change anything outside ROOT.
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/content_hash.h"
#include "replicator/mirror/applier.h"
#include "replicator/wire/messages.h"

namespace mirrorfs::replicator::mirror::testing {

using Bytes = std::vector<uint8_t>;
inline constexpr const char* kClient = "SHA256:client-one";

Bytes to_bytes(std::string_view s);
Bytes random_bytes(size_t n, uint64_t seed);
wire::Hash hash_of(const Bytes& data);

// The librsync delta of `target` against `basis`, made by core (signature
// with rdiff's defaults, then delta). An empty basis gives literals only.
Bytes delta_of(const Bytes& basis, const Bytes& target);
// Hand-made delta: magic, then the given commands, then END (if end).
struct Cmd {
  bool copy = false;
  uint64_t pos = 0, len = 0;  // COPY
  Bytes literal;              // LITERAL
};
Bytes make_delta(const std::vector<Cmd>& cmds, bool end = true);

class MirrorTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;
  virtual ApplierOptions options() const { return {}; }

  // (Re)opens the applier on ROOT and STATE.
  void reopen();

  std::string root_path(const std::string& rel) const {
    return root_ + "/" + rel;
  }
  void write_file(const std::string& rel, const Bytes& data);
  Bytes read_file(const std::string& rel) const;
  bool exists(const std::string& rel) const;
  struct stat lstat_of(const std::string& rel) const;
  // Names in ROOT/rel (hidden ones included), sorted.
  std::vector<std::string> list(const std::string& rel = "") const;
  std::string xattr(const std::string& rel, const std::string& name) const;

  // An entry op with the next seq.
  wire::EntryOp op(wire::Type type, const std::string& path,
                   const std::string& path2 = "");
  Status apply(const wire::EntryOp& o) { return applier_->apply(kClient, o); }

  // begin_file of `path` with a new size; with a basis when basis_path is
  // not empty, which the client believes has `basis_hash`.
  Result<BeginResult> begin_file(const std::string& path, uint64_t new_size,
                                 const std::string& basis_path = "",
                                 const wire::Hash& basis_hash = {});

  // One whole content update: begin, write the delta (made by core from
  // *basis, or literals only) in pieces of `piece` bytes, finish. A basis
  // mismatch comes back as kInternal "basis mismatch" (call begin_file
  // directly to inspect one).
  Status put_content(const std::string& path, const Bytes& data,
                     const Bytes* basis = nullptr,
                     const std::string& basis_path = "",
                     const wire::Attrs& attrs = {},
                     const std::vector<std::string>& links = {},
                     size_t piece = 4096);

  std::string base_, root_, state_, outside_;
  std::unique_ptr<Applier> applier_;
  uint64_t seq_ = 0;

 private:
  struct Node {
    std::string kind, content;
    mode_t mode = 0;
    uid_t uid = 0;
    gid_t gid = 0;
    int64_t mtime_ns = 0;
    std::map<std::string, std::string> xattrs;
    bool operator==(const Node&) const = default;
  };
  std::map<std::string, Node> snapshot_outside() const;
  std::map<std::string, Node> outside_before_;
};

}  // namespace mirrorfs::replicator::mirror::testing
