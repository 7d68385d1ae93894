// Status and Result<T>: the one error currency of mirrorfs.
//
// Everything that can fail across a module boundary returns a Status (or a
// Result<T> holding either a value or a non-OK Status). A Status is cheap
// when OK (no allocation). errno becomes a Status in one place,
// Status::from_errno(); a Status becomes -errno in one place, at the FUSE
// edge, via errno_value().
#pragma once

#include <cassert>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace mirrorfs {

// The numbers are sent on the wire (Error.code, docs/protocol.md): never
// renumber; a new code goes at the end.
enum class Code : int {
  kOk = 0,
  kInvalidArgument,  // caller passed something unusable (bad option, bad size)
  kCorrupt,          // input data violates its format (signature, delta, frame)
  kNotFound,
  kAlreadyExists,
  kIoError,     // the operating system said no; errno is kept
  kOutOfRange,  // e.g. a COPY past the end of the basis
  kUnsupported,
  kInternal,
};

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(Code code, std::string message, int err = 0);

  static Status ok() { return Status(); }
  static Status invalid_argument(std::string msg) {
    return Status(Code::kInvalidArgument, std::move(msg));
  }
  static Status corrupt(std::string msg) {
    return Status(Code::kCorrupt, std::move(msg));
  }
  static Status out_of_range(std::string msg) {
    return Status(Code::kOutOfRange, std::move(msg));
  }
  static Status unsupported(std::string msg) {
    return Status(Code::kUnsupported, std::move(msg));
  }
  static Status internal(std::string msg) {
    return Status(Code::kInternal, std::move(msg));
  }
  // Captures `err` (an errno value) with a message such as "open foo".
  // REQUIRES: err was read before any call that may overwrite errno.
  static Status from_errno(int err, std::string_view what);

  bool is_ok() const { return rep_ == nullptr; }
  explicit operator bool() const { return is_ok(); }
  Code code() const { return rep_ ? rep_->code : Code::kOk; }
  // The positive errno this status maps to (EIO when none was captured).
  int errno_value() const;
  const std::string& message() const;
  // "message" for display: one line, no trailing newline.
  std::string to_string() const;

 private:
  struct Rep {
    Code code;
    int err;
    std::string message;
  };
  std::shared_ptr<const Rep> rep_;  // null when OK; shared so copies are cheap
};

// Either a T or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT
    assert(!status_.is_ok());
  }

  bool is_ok() const { return value_.has_value(); }
  explicit operator bool() const { return is_ok(); }
  const Status& status() const { return status_; }

  T& value() & {
    assert(is_ok());
    return *value_;
  }
  const T& value() const& {
    assert(is_ok());
    return *value_;
  }
  T&& value() && {
    assert(is_ok());
    return std::move(*value_);
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace mirrorfs

// Returns early from the enclosing function if `expr` is a non-OK Status.
#define MIRRORFS_RETURN_IF_ERROR(expr) \
  do {                                 \
    ::mirrorfs::Status _st = (expr);   \
    if (!_st.is_ok()) return _st;      \
  } while (0)

// Declares `lhs` as a reference to the value of the Result `expr`, or
// returns its Status from the enclosing function if it failed.
#define MIRRORFS_ASSIGN_OR_RETURN(lhs, expr)               \
  auto lhs##_result = (expr);                              \
  if (!lhs##_result.is_ok()) return lhs##_result.status(); \
  [[maybe_unused]] auto& lhs = *lhs##_result
