// Private to wire/: the field-level encoding of frame bodies
// (docs/protocol.md, "Field encoding"). Little-endian integers through
// core/coding.h; strings and byte strings as le32 length + bytes; bools as
// one byte 0/1; a Hash as 32 raw bytes; Attrs as its seven fields.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/coding.h"
#include "core/status.h"
#include "replicator/wire/messages.h"

namespace mirrorfs::replicator::wire {

inline constexpr size_t kAttrsLen = 4 * 4 + 3 * 8;

// Appends fields to a caller-owned vector.
class FieldWriter {
 public:
  explicit FieldWriter(std::vector<uint8_t>& out) : out_(out) {}

  void u8(uint8_t v) { out_.push_back(v); }
  void u32(uint32_t v) { put(v, 4); }
  void u64(uint64_t v) { put(v, 8); }
  void boolean(bool v) { u8(v ? 1 : 0); }
  void raw(std::span<const uint8_t> b) {
    out_.insert(out_.end(), b.begin(), b.end());
  }
  void hash(const Hash& h) { raw(h); }
  // REQUIRES: s.size() <= UINT32_MAX (every limit is far below).
  void str(std::string_view s) {
    u32(static_cast<uint32_t>(s.size()));
    out_.insert(out_.end(), s.begin(), s.end());
  }
  void bytes(std::span<const uint8_t> b) {
    u32(static_cast<uint32_t>(b.size()));
    raw(b);
  }
  void attrs(const Attrs& a) {
    for (uint32_t v : {a.valid, a.mode, a.uid, a.gid}) u32(v);
    u64(static_cast<uint64_t>(a.atime_ns));
    u64(static_cast<uint64_t>(a.mtime_ns));
    u64(a.rdev);
  }

 private:
  void put(uint64_t v, int width) {
    const size_t at = out_.size();
    out_.resize(at + static_cast<size_t>(width));
    put_le(out_.data() + at, v, width);
  }
  std::vector<uint8_t>& out_;
};

// Reads fields from a body, bounds-checked. Failure is sticky: after the
// first read that runs past the end, exceeds its limit or holds a bad
// bool, every read returns a default value and nothing is allocated, so a
// decoder reads all its fields and calls finish() once.
class FieldReader {
 public:
  explicit FieldReader(std::span<const uint8_t> in) : in_(in) {}

  uint8_t u8() {
    const uint8_t* p = take(1);
    return p ? *p : 0;
  }
  uint32_t u32() { return static_cast<uint32_t>(get(4)); }
  uint64_t u64() { return get(8); }
  bool boolean() {
    const uint8_t v = u8();
    if (v > 1) fail("a bool is neither 0 nor 1");
    return v == 1;
  }
  Hash hash() {
    Hash h{};
    if (const uint8_t* p = take(h.size())) copy_bytes(h.data(), p, h.size());
    return h;
  }
  // A le32 length then that many bytes; fails, before allocating, if the
  // length exceeds `max` or the bytes left.
  std::string str(size_t max) {
    const std::span<const uint8_t> b = sized(max);
    return std::string(b.begin(), b.end());
  }
  std::vector<uint8_t> bytes(size_t max) {
    const std::span<const uint8_t> b = sized(max);
    return std::vector<uint8_t>(b.begin(), b.end());
  }
  Attrs attrs() {
    Attrs a;
    a.valid = u32();
    a.mode = u32();
    a.uid = u32();
    a.gid = u32();
    a.atime_ns = static_cast<int64_t>(u64());
    a.mtime_ns = static_cast<int64_t>(u64());
    a.rdev = u64();
    return a;
  }

  bool ok() const { return error_ == nullptr; }
  size_t remaining() const { return in_.size() - pos_; }
  void fail(const char* why) {
    if (!error_) error_ = why;
  }
  // OK if every read succeeded and the body was used exactly; else
  // kCorrupt "<what> body: <why>".
  Status finish(const char* what) const {
    const char* why = error_               ? error_
                      : pos_ != in_.size() ? "trailing bytes"
                                           : nullptr;
    if (!why) return Status::ok();
    return Status::corrupt(std::string(what) + " body: " + why);
  }

 private:
  const uint8_t* take(size_t n) {
    if (error_) return nullptr;
    if (n > remaining()) {
      fail("truncated");
      return nullptr;
    }
    const uint8_t* p = in_.data() + pos_;
    pos_ += n;
    return p;
  }
  uint64_t get(int width) {
    const uint8_t* p = take(static_cast<size_t>(width));
    return p ? get_le(p, width) : 0;
  }
  std::span<const uint8_t> sized(size_t max) {
    const uint32_t len = u32();
    if (error_) return {};
    if (len > max) {
      fail("a field is longer than its limit");
      return {};
    }
    const uint8_t* p = take(len);
    return p ? std::span<const uint8_t>(p, len) : std::span<const uint8_t>();
  }

  std::span<const uint8_t> in_;
  size_t pos_ = 0;
  const char* error_ = nullptr;  // static string; null while all is well
};

}  // namespace mirrorfs::replicator::wire
