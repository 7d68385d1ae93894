// Reading the config file: the one place that sees toml++. It is compiled
// header-only here, with exceptions off, so a parse error is a value and
// no exception can leave this file.
#define TOML_HEADER_ONLY 1
#define TOML_EXCEPTIONS 0
#define TOML_ENABLE_FORMATTERS 0
#include <toml++/toml.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "cli/config.h"

namespace mirrorfs::cli {
namespace {

constexpr size_t kMaxConfigBytes = 1 << 20;

class Parser {
 public:
  Parser(const std::string& path, const std::vector<const CommandSpec*>& commands)
      : path_(path), commands_(commands) {}

  Result<ConfigFile> run(toml::table& root);

 private:
  Status error(const toml::source_region& where, const std::string& what) const {
    return Status::invalid_argument(path_ + ":" + std::to_string(where.begin.line) + ": " + what);
  }
  const CommandSpec* command(std::string_view name) const {
    for (const CommandSpec* c : commands_) {
      if (c->name == name) return c;
    }
    return nullptr;
  }
  Result<ConfigEntry> entry(const toml::key& key, const toml::node& value, KeyKind kind,
                            const std::string& where) const;
  Status section(const toml::key& key, const toml::node& node, const CommandSpec& cmd,
                 ConfigFile* out) const;
  Status mirrors(const toml::key& key, const toml::node& node, ConfigFile* out) const;

  const std::string& path_;
  const std::vector<const CommandSpec*>& commands_;
};

// toml++ keeps keys sorted; arguments follow the file's order instead.
void sort_by_line(std::vector<ConfigEntry>* entries) {
  std::stable_sort(entries->begin(), entries->end(),
                   [](const ConfigEntry& a, const ConfigEntry& b) { return a.line < b.line; });
}

// One value of a scalar option as text: a string, or an integer in decimal.
std::optional<std::string> scalar(const toml::node& n) {
  if (const auto* s = n.as_string()) return s->get();
  if (const auto* i = n.as_integer()) return std::to_string(i->get());
  return std::nullopt;
}

Result<ConfigEntry> Parser::entry(const toml::key& key, const toml::node& value, KeyKind kind,
                                  const std::string& where) const {
  const std::string name(key.str());
  ConfigEntry e{name, std::nullopt, {}, static_cast<int>(key.source().begin.line)};
  const std::string what = where + "'" + name + "' ";
  switch (kind) {
    case KeyKind::kFlag:
      if (const auto* b = value.as_boolean()) {
        e.flag = b->get();
        return e;
      }
      return error(key.source(), what + "is a flag: true or false");
    case KeyKind::kOperand:
      if (const auto* s = value.as_string()) {
        e.values.push_back(s->get());
        return e;
      }
      return error(key.source(), what + "takes a string");
    case KeyKind::kValue:
    case KeyKind::kRepeatable: {
      if (value.is_boolean()) return error(key.source(), what + "takes a value, not true or false");
      if (const auto* arr = value.as_array()) {
        if (kind != KeyKind::kRepeatable) return error(key.source(), what + "takes one value, not a list");
        for (const toml::node& el : *arr) {
          std::optional<std::string> v = scalar(el);
          if (!v) return error(el.source(), what + "takes a list of strings");
          e.values.push_back(std::move(*v));
        }
        return e;
      }
      std::optional<std::string> v = scalar(value);
      if (!v) return error(key.source(), what + "takes a string or an integer");
      e.values.push_back(std::move(*v));
      return e;
    }
    case KeyKind::kMirrors:
      return error(key.source(), where + "mirrors are given as [mirrors.NAME] address and pin, not '" +
                                     name + "'");
    case KeyKind::kUnknown:
      break;
  }
  return error(key.source(), where + "unknown key '" + name + "'");
}

Status Parser::section(const toml::key& key, const toml::node& node, const CommandSpec& cmd,
                       ConfigFile* out) const {
  const toml::table* tbl = node.as_table();
  if (!tbl) return error(key.source(), "'" + cmd.name + "' must be a section [" + cmd.name + "]");
  const std::string where = "[" + cmd.name + "] ";
  std::vector<ConfigEntry> entries;
  for (const auto& [k, v] : *tbl) {
    MIRRORFS_ASSIGN_OR_RETURN(e, entry(k, v, key_kind(cmd, k.str()), where));
    entries.push_back(std::move(e));
  }
  sort_by_line(&entries);
  out->sections.emplace_back(cmd.name, std::move(entries));
  return Status::ok();
}

Status Parser::mirrors(const toml::key& key, const toml::node& node, ConfigFile* out) const {
  const toml::table* tbl = node.as_table();
  if (!tbl) return error(key.source(), "'mirrors' must be sections [mirrors.NAME]");
  for (const auto& [name, v] : *tbl) {
    const std::string where = "[mirrors." + std::string(name.str()) + "] ";
    const toml::table* m = v.as_table();
    if (!m) return error(name.source(), where + "must be a section with address and pin");
    if (name.str().empty() ||
        name.str().find_first_of("= \t/") != std::string_view::npos) {
      return error(name.source(), where + "a mirror's name has no '=', '/' or blanks");
    }
    ConfigMirror mirror{std::string(name.str()), {}, {}, static_cast<int>(name.source().begin.line)};
    for (const auto& [k, val] : *m) {
      std::string* field = k.str() == "address" ? &mirror.address
                           : k.str() == "pin"   ? &mirror.pin
                                                : nullptr;
      if (!field) return error(k.source(), where + "unknown key '" + std::string(k.str()) + "'");
      const auto* s = val.as_string();
      if (!s || s->get().empty()) return error(k.source(), where + "'" + std::string(k.str()) + "' takes a string");
      *field = s->get();
    }
    if (mirror.address.empty()) return error(name.source(), where + "needs address = \"HOST:PORT\"");
    if (mirror.pin.empty()) return error(name.source(), where + "needs pin = \"FINGERPRINT\"");
    out->mirrors.push_back(std::move(mirror));
  }
  // toml++ keeps keys sorted; the file's order is the one users expect.
  std::stable_sort(out->mirrors.begin(), out->mirrors.end(),
                   [](const ConfigMirror& a, const ConfigMirror& b) { return a.line < b.line; });
  return Status::ok();
}

Result<ConfigFile> Parser::run(toml::table& root) {
  ConfigFile out;
  out.path = path_;
  for (const auto& [k, v] : root) {
    const std::string name(k.str());
    if (name == "mirrors") {
      MIRRORFS_RETURN_IF_ERROR(mirrors(k, v, &out));
      continue;
    }
    if (const CommandSpec* cmd = command(name)) {
      MIRRORFS_RETURN_IF_ERROR(section(k, v, *cmd, &out));
      continue;
    }
    if (v.is_table()) return error(k.source(), "unknown section [" + name + "]");
    // A top-level key: valid for every command that has it.
    std::optional<ConfigEntry> parsed;
    for (const CommandSpec* cmd : commands_) {
      const KeyKind kind = key_kind(*cmd, name);
      if (kind == KeyKind::kUnknown || kind == KeyKind::kMirrors) continue;
      MIRRORFS_ASSIGN_OR_RETURN(e, entry(k, v, kind, ""));
      if (!parsed) parsed = std::move(e);
    }
    if (!parsed) return error(k.source(), "unknown key '" + name + "' (no command has --" + name + ")");
    out.top.push_back(std::move(*parsed));
  }
  sort_by_line(&out.top);
  return out;
}

}  // namespace

KeyKind key_kind(const CommandSpec& cmd, std::string_view key) {
  if (key == "help" || key == "config") return KeyKind::kUnknown;
  const bool repeatable =
      std::find(cmd.repeatable.begin(), cmd.repeatable.end(), key) != cmd.repeatable.end();
  if (std::find(cmd.operands.begin(), cmd.operands.end(), key) != cmd.operands.end()) {
    return KeyKind::kOperand;
  }
  for (const ShortKey& s : cmd.short_keys) {
    if (s.key == key) return repeatable ? KeyKind::kRepeatable : KeyKind::kValue;
  }
  for (const struct option* o = cmd.longs; o && o->name; ++o) {
    if (key != o->name) continue;
    if (key == "mirror" || key == "pin") return KeyKind::kMirrors;
    if (o->has_arg == no_argument) return KeyKind::kFlag;
    return repeatable ? KeyKind::kRepeatable : KeyKind::kValue;
  }
  return KeyKind::kUnknown;
}

Result<ConfigFile> parse_config(std::string_view text, const std::string& path,
                                const std::vector<const CommandSpec*>& commands) {
  toml::parse_result parsed = toml::parse(text, path);
  if (!parsed) {
    const toml::parse_error& e = parsed.error();
    return Status::invalid_argument(path + ":" + std::to_string(e.source().begin.line) + ":" +
                                    std::to_string(e.source().begin.column) + ": " +
                                    std::string(e.description()));
  }
  return Parser(path, commands).run(parsed.table());
}

Result<ConfigFile> load_config(const std::string& path,
                               const std::vector<const CommandSpec*>& commands) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::from_errno(errno, "config file " + path);
  std::string text;
  char buf[16384];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return Status::from_errno(err, "config file " + path);
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > kMaxConfigBytes) {
      ::close(fd);
      return Status::invalid_argument("config file " + path + " is larger than 1 MiB");
    }
  }
  ::close(fd);
  return parse_config(text, path, commands);
}

}  // namespace mirrorfs::cli
