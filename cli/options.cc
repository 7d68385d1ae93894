#include "cli/options.h"

#include <getopt.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <string_view>

namespace mirrorfs::cli {

bool parse_integer(const char* text, long long* out) {
  if (text == nullptr || *text == '\0') return false;
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0') return false;
  *out = v;
  return true;
}

namespace {

using core::StrongKind;
using core::WeakKind;

Status option_error(std::string_view option, std::string_view why) {
  std::string msg(option);
  msg += ": ";
  msg += why;
  return Status::invalid_argument(std::move(msg));
}

std::string quoted(const char* s) { return std::string("'") + s + "'"; }

// The long options; a flag's `val` is its short name.
const struct option kLongOptions[] = {
    {"block-size", required_argument, nullptr, 'b'},
    {"sum-size", required_argument, nullptr, 'S'},
    {"hash", required_argument, nullptr, 'H'},
    {"rollsum", required_argument, nullptr, 'R'},
    {"statistics", no_argument, nullptr, 's'},
    {"force", no_argument, nullptr, 'f'},
    {"verbose", no_argument, nullptr, 'v'},
    {"help", no_argument, nullptr, 'h'},
    {"version", no_argument, nullptr, 'V'},
    {nullptr, 0, nullptr, 0},
};
// Leading ':' : report a missing argument as ':' rather than '?'.
const char kShortOptions[] = ":b:S:H:R:sfvhV";

// Whether `arg` ("--name" or "--name=value", name possibly abbreviated)
// names the long option whose short name is `val`.
bool is_long_spelling_of(std::string_view arg, int val) {
  if (arg.size() < 3 || arg.substr(0, 2) != "--") return false;
  std::string_view name = arg.substr(2, arg.find('=') - 2);
  for (const struct option* o = kLongOptions; o->name != nullptr; ++o) {
    if (o->val == val && std::string_view(o->name).starts_with(name)) {
      return true;
    }
  }
  return false;
}

// The option getopt_long just returned or rejected, as the user spelled
// it: "--name" (without "=value") for a long option, "-x" for a short one.
// A short option may sit inside a group ("-sx"), where optind has not yet
// moved past its element, hence the check against the long names.
std::string spelling(char** argv, int optind_now, int short_name) {
  const char* arg = optind_now > 0 ? argv[optind_now - 1] : nullptr;
  // "--block-size 512": the element before the argument names the option.
  if (arg != nullptr && arg == optarg && optind_now > 1) {
    arg = argv[optind_now - 2];
  }
  std::string_view a = arg != nullptr ? arg : "";
  if (short_name == 0) {  // an unknown long option
    return std::string(a.substr(0, a.find('=')));
  }
  if (is_long_spelling_of(a, short_name)) {
    return std::string(a.substr(0, a.find('=')));
  }
  return std::string("-") + static_cast<char>(short_name);
}

Status parse_block_size(const std::string& opt, const char* text,
                        uint32_t* out) {
  long long v = 0;
  if (!parse_integer(text, &v)) {
    return option_error(opt, quoted(text) + " is not a number");
  }
  if (v < 0) {
    return option_error(opt,
                        "the block size cannot be negative (0 means "
                        "the recommended size), got " +
                            std::to_string(v));
  }
  if (v > static_cast<long long>(core::kMaxBlockLen)) {
    return option_error(opt, "block size " + std::to_string(v) +
                                 " is too large (at most " +
                                 std::to_string(core::kMaxBlockLen) + ")");
  }
  *out = static_cast<uint32_t>(v);
  return Status::ok();
}

Status parse_sum_size(const std::string& opt, const char* text, int* out) {
  long long v = 0;
  if (!parse_integer(text, &v)) {
    return option_error(opt, quoted(text) + " is not a number");
  }
  if (v < -1 || v > static_cast<long long>(core::kMaxStrongLen)) {
    return option_error(opt, "the sum size must be 1.." +
                                 std::to_string(core::kMaxStrongLen) +
                                 ", 0 for the maximum or -1 for the minimum, "
                                 "got " +
                                 std::to_string(v));
  }
  *out = static_cast<int>(v);
  return Status::ok();
}

}  // namespace

core::SigMagic make_magic(WeakKind weak, StrongKind strong) {
  if (weak == WeakKind::kRollsum) {
    return strong == StrongKind::kMd4 ? core::SigMagic::kRollsumMd4
                                      : core::SigMagic::kRollsumBlake2;
  }
  return strong == StrongKind::kMd4 ? core::SigMagic::kRabinKarpMd4
                                    : core::SigMagic::kRabinKarpBlake2;
}

core::SignatureRequest RdiffOptions::signature_request() const {
  core::SignatureRequest req;
  req.magic = make_magic(weak, strong);
  req.block_len = block_len;
  req.strong_len = strong_len;
  return req;
}

Result<CommandLine> parse_command_line(int argc, char** argv) {
  CommandLine cl;
  RdiffOptions& o = cl.rdiff;
  opterr = 0;  // we print our own one-line messages
  optind = 0;  // full re-initialisation (GNU), so tests may call us twice
  for (;;) {
    int c = getopt_long(argc, argv, kShortOptions, kLongOptions, nullptr);
    if (c == -1) break;
    switch (c) {
      case 'b': {
        std::string opt = spelling(argv, optind, 'b');
        MIRRORFS_RETURN_IF_ERROR(parse_block_size(opt, optarg, &o.block_len));
        o.signature_only.push_back(opt);
        break;
      }
      case 'S': {
        std::string opt = spelling(argv, optind, 'S');
        MIRRORFS_RETURN_IF_ERROR(parse_sum_size(opt, optarg, &o.strong_len));
        o.signature_only.push_back(opt);
        break;
      }
      case 'H': {
        std::string opt = spelling(argv, optind, 'H');
        std::string_view v(optarg);
        if (v == "blake2") {
          o.strong = StrongKind::kBlake2;
        } else if (v == "md4") {
          o.strong = StrongKind::kMd4;
        } else {
          return option_error(
              opt, "unknown hash " + quoted(optarg) + " (blake2 or md4)");
        }
        o.signature_only.push_back(opt);
        break;
      }
      case 'R': {
        std::string opt = spelling(argv, optind, 'R');
        std::string_view v(optarg);
        if (v == "rabinkarp") {
          o.weak = WeakKind::kRabinKarp;
        } else if (v == "rollsum") {
          o.weak = WeakKind::kRollsum;
        } else {
          return option_error(opt, "unknown rolling sum " + quoted(optarg) +
                                       " (rabinkarp or rollsum)");
        }
        o.signature_only.push_back(opt);
        break;
      }
      case 's':
        o.statistics = true;
        break;
      case 'f':
        o.force = true;
        break;
      case 'v':
        o.verbose = true;
        break;
      case 'h':
        cl.help = true;
        break;
      case 'V':
        cl.version = true;
        break;
      case ':':
        return option_error(spelling(argv, optind, optopt),
                            "requires an argument");
      default: {  // '?': an unknown option, or an argument to a flag
        std::string opt = spelling(argv, optind, optopt);
        if (optopt != 0 && opt.starts_with("--")) {
          return option_error(opt, "takes no argument");
        }
        return option_error(opt, "unknown option");
      }
    }
  }
  for (int i = optind; i < argc; ++i) {
    if (cl.command.empty() && i == optind) {
      cl.command = argv[i];
    } else {
      cl.args.emplace_back(argv[i]);
    }
  }
  return cl;
}

}  // namespace mirrorfs::cli
