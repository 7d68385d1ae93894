#include "core/status.h"

#include <cerrno>
#include <cstring>

namespace mirrorfs {

namespace {
const std::string& empty_string() {
  static const std::string* s = new std::string();
  return *s;
}
}  // namespace

Status::Status(Code code, std::string message, int err) {
  if (code != Code::kOk) {
    rep_ = std::make_shared<const Rep>(Rep{code, err, std::move(message)});
  }
}

Status Status::from_errno(int err, std::string_view what) {
  std::string msg(what);
  msg += ": ";
  msg += std::strerror(err);
  return Status(Code::kIoError, std::move(msg), err);
}

int Status::errno_value() const {
  if (!rep_) return 0;
  if (rep_->err != 0) return rep_->err;
  switch (rep_->code) {
    case Code::kInvalidArgument:
      return EINVAL;
    case Code::kNotFound:
      return ENOENT;
    case Code::kAlreadyExists:
      return EEXIST;
    case Code::kUnsupported:
      return EOPNOTSUPP;
    case Code::kOutOfRange:
      return ERANGE;
    default:
      return EIO;
  }
}

const std::string& Status::message() const {
  return rep_ ? rep_->message : empty_string();
}

std::string Status::to_string() const {
  if (!rep_) return "ok";
  std::string s = rep_->message;
  for (char& c : s) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return s;
}

}  // namespace mirrorfs
