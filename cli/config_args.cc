// From a parsed config file and the user's command line to the command
// line the command parses: which of the file's settings apply, and which
// the user's own options replace.
#include <getopt.h>

#include <algorithm>
#include <string>
#include <vector>

#include "cli/config.h"

namespace mirrorfs::cli {
namespace {

constexpr int kConfigOption = 0x10000;  // outside any short option's range

bool contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// The config key an option getopt returned stands for; empty if none.
std::string key_of(const CommandSpec& cmd, int c, const struct option* longs, int longindex) {
  if (longindex >= 0) return longs[longindex].name;
  for (const struct option* o = cmd.longs; o && o->name; ++o) {
    if (o->flag == nullptr && o->val == c) return o->name;
  }
  for (const ShortKey& s : cmd.short_keys) {
    if (s.flag == c) return s.key;
  }
  return {};
}

// What a scan of the user's arguments found.
struct Scan {
  std::string config;               // the --config FILE, or empty
  std::vector<std::string> kept;    // the arguments without --config
  std::vector<std::string> defines; // keys the user gave values for
  bool help = false;
  bool operands = false;            // the user gave operands
  bool dash_dash = false;           // ... after a "--"
};

// Walks `args` with getopt_long in argument order (optstring "-..."), so
// option arguments, clusters, abbreviations and "--" are read exactly as
// the command itself will read them.
Result<Scan> scan(const CommandSpec& cmd, const std::vector<std::string>& args) {
  std::vector<struct option> longs;
  for (const struct option* o = cmd.longs; o && o->name; ++o) longs.push_back(*o);
  longs.push_back({"config", required_argument, nullptr, kConfigOption});
  longs.push_back({nullptr, 0, nullptr, 0});
  std::string shorts = cmd.shorts;
  shorts.erase(0, shorts.find_first_not_of(":+-"));
  shorts = "-:" + shorts;

  std::vector<std::string> copy = args;
  std::vector<char*> argv;
  for (std::string& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  const int argc = static_cast<int>(args.size());

  Scan out;
  out.kept.push_back(args.at(0));
  opterr = 0;
  optind = 0;
  int prev = 1;
  Status error = Status::ok();
  for (;;) {
    int longindex = -1;
    const int c = getopt_long(argc, argv.data(), shorts.c_str(), longs.data(), &longindex);
    const int end = c == -1 ? argc : optind;
    // The tokens this item spans: [prev, end).
    bool keep = true;
    if (c == -1) {
      out.dash_dash = optind > prev && args[optind - 1] == "--";
      if (optind < argc) out.operands = true;
    } else if (c == 1) {
      out.operands = true;
    } else if (c == kConfigOption) {
      if (!out.config.empty()) error = Status::invalid_argument("--config given twice");
      out.config = optarg;
      keep = false;
    } else if (c == 'h') {
      out.help = true;
    } else if (c == ':' && std::string_view(args[optind - 1]).starts_with("--conf")) {
      error = Status::invalid_argument("--config needs a FILE");
    } else if (c != '?' && c != ':') {
      const std::string key = key_of(cmd, c, longs.data(), longindex);
      if (!key.empty() && (key != "mirror" || std::string_view(optarg ? optarg : "").find('=') !=
                                                   std::string_view::npos)) {
        out.defines.push_back(key);
      }
    }
    if (keep) {
      for (int i = prev; i < end; ++i) out.kept.push_back(args[i]);
    }
    prev = std::max(prev, end);
    if (c == -1) break;
  }
  optind = 0;
  if (!error.is_ok()) return error;
  return out;
}

}  // namespace

std::vector<std::string> config_arguments(const ConfigFile& file, const CommandSpec& cmd,
                                          const std::vector<std::string>& user_defines,
                                          std::vector<std::string>* operands) {
  // Top-level keys the command has, then its section's, which replace them.
  std::vector<const ConfigEntry*> entries;
  for (const ConfigEntry& e : file.top) {
    const KeyKind kind = key_kind(cmd, e.key);
    if (kind != KeyKind::kUnknown && kind != KeyKind::kMirrors) entries.push_back(&e);
  }
  for (const auto& [name, section] : file.sections) {
    if (name != cmd.name) continue;
    for (const ConfigEntry& e : section) {
      std::erase_if(entries, [&](const ConfigEntry* p) { return p->key == e.key; });
      entries.push_back(&e);
    }
  }

  std::vector<std::string> out;
  std::vector<std::string> found(cmd.operands.size());
  for (const ConfigEntry* e : entries) {
    if (contains(user_defines, e->key)) continue;  // the command line wins
    const KeyKind kind = key_kind(cmd, e->key);
    if (kind == KeyKind::kOperand) {
      const auto it = std::find(cmd.operands.begin(), cmd.operands.end(), e->key);
      found[static_cast<size_t>(it - cmd.operands.begin())] = e->values.at(0);
      continue;
    }
    if (kind == KeyKind::kFlag) {
      if (e->flag.value_or(false)) out.push_back("--" + e->key);
      continue;
    }
    const auto short_key = std::find_if(cmd.short_keys.begin(), cmd.short_keys.end(),
                                        [&](const ShortKey& s) { return s.key == e->key; });
    for (const std::string& v : e->values) {
      if (short_key != cmd.short_keys.end()) {
        out.push_back(std::string("-") + short_key->flag);
        out.push_back(v);
      } else {
        out.push_back("--" + e->key + "=" + v);
      }
    }
  }
  if (key_kind(cmd, "mirror") == KeyKind::kMirrors && !contains(user_defines, "mirror")) {
    const bool pins = key_kind(cmd, "pin") == KeyKind::kMirrors;
    for (const ConfigMirror& m : file.mirrors) {
      out.push_back("--mirror=" + m.name + "=" + m.address);
      if (pins) out.push_back("--pin=" + m.name + "=" + m.pin);
    }
  }
  // Operands come all together or not at all: half of them would be
  // taken for the wrong ones.
  operands->clear();
  if (std::none_of(found.begin(), found.end(), [](const std::string& s) { return s.empty(); })) {
    *operands = std::move(found);
  }
  return out;
}

Result<std::vector<std::string>> expand_config(const CommandSpec& cmd,
                                               const std::vector<const CommandSpec*>& commands,
                                               const std::vector<std::string>& args) {
  if (args.empty()) return Status::invalid_argument("no command name");
  MIRRORFS_ASSIGN_OR_RETURN(found, scan(cmd, args));
  if (found.config.empty() || found.help) return std::move(found.kept);
  MIRRORFS_ASSIGN_OR_RETURN(file, load_config(found.config, commands));
  std::vector<std::string> operands;
  std::vector<std::string> out{args[0]};
  for (std::string& a : config_arguments(file, cmd, found.defines, &operands)) {
    out.push_back(std::move(a));
  }
  out.insert(out.end(), found.kept.begin() + 1, found.kept.end());
  if (!found.operands && !operands.empty()) {
    if (!found.dash_dash) out.push_back("--");
    out.insert(out.end(), operands.begin(), operands.end());
  }
  return out;
}

}  // namespace mirrorfs::cli
