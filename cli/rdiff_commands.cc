#include "cli/rdiff_commands.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "cli/input_file.h"
#include "cli/output_file.h"
#include "cli/report.h"
#include "core/signature.h"
#include "core/signature_format.h"
#include "core/stats.h"
#include "core/whole_file.h"

namespace mirrorfs::cli {

namespace {

using Clock = std::chrono::steady_clock;

// The i-th argument, or "-" (standard input or output) when absent.
std::string arg_or_stdio(const std::vector<std::string>& args, size_t i) {
  return i < args.size() ? args[i] : "-";
}

std::string command_hint(const std::string& cmd) {
  return "mirrorfs " + cmd + " --help";
}

// Checks the argument count (`required` names the one mandatory argument,
// or is null) and refuses the signature-only options for the other
// commands. Returns an exit code, or nullopt when all is well.
std::optional<int> check_usage(const std::string& cmd, const RdiffOptions& opt,
                               const std::vector<std::string>& args,
                               const char* required, size_t max_args) {
  if (required != nullptr && args.empty()) {
    return usage_error(cmd, std::string("missing ") + required + " argument",
                       command_hint(cmd));
  }
  if (args.size() > max_args) {
    return usage_error(cmd, "too many arguments ('" + args[max_args] + "')",
                       command_hint(cmd));
  }
  if (cmd != "signature" && !opt.signature_only.empty()) {
    return usage_error(cmd,
                       opt.signature_only.front() +
                           " applies only to 'signature' (a signature file "
                           "records its own parameters)",
                       command_hint(cmd));
  }
  return std::nullopt;
}

// Opens an input, reporting failure as "mirrorfs: <path>: <why>".
std::unique_ptr<InputFile> open_input(const std::string& path, int* code) {
  auto in = InputFile::open(path);
  if (!in) {
    *code = fail(display_name(path, false), in.status());
    return nullptr;
  }
  return std::move(in).value();
}

std::unique_ptr<OutputFile> open_output(const std::string& path, bool force,
                                        const std::vector<struct stat>& inputs,
                                        int* code) {
  auto out = OutputFile::open(path, force, inputs);
  if (!out) {
    *code = fail(display_name(path, true), out.status());
    return nullptr;
  }
  return std::move(out).value();
}

// Closes the output; on success prints the statistics if asked for.
int finish(const char* cmd, const RdiffOptions& opt, OutputFile& out,
           const core::Stats& stats, Clock::time_point start) {
  Status st = out.commit();
  if (!st.is_ok()) return fail(display_name(out.path(), true), st);
  if (opt.statistics) {
    std::string text = core::format_stats(cmd, stats);
    size_t begin = 0;
    while (begin < text.size()) {
      size_t end = text.find('\n', begin);
      if (end == std::string::npos) end = text.size();
      if (end > begin) report("", text.substr(begin, end - begin));
      begin = end + 1;
    }
    const double secs =
        std::chrono::duration<double>(Clock::now() - start).count();
    char line[96];
    // The file the command is about: the input of signature and delta,
    // the output of patch; the larger of the two.
    const double bytes =
        static_cast<double>(std::max(stats.in_bytes, stats.out_bytes));
    std::snprintf(line, sizeof line, "time[%.3f s, %.1f MB/s]", secs,
                  secs > 0 ? bytes / 1e6 / secs : 0.0);
    report(cmd, line);
  }
  return kExitOk;
}

std::string describe(const core::SignatureParams& p) {
  return core::magic_name(p.magic) + ", block length " +
         std::to_string(p.block_len) + ", strong sum " +
         std::to_string(p.strong_len) + " bytes";
}

}  // namespace

int run_signature(const RdiffOptions& opt,
                  const std::vector<std::string>& args) {
  const auto start = Clock::now();
  if (auto code = check_usage("signature", opt, args, nullptr, 2)) return *code;
  const std::string basis_path = arg_or_stdio(args, 0);
  const std::string sig_path = arg_or_stdio(args, 1);
  const core::SignatureRequest req = opt.signature_request();

  int code = kExitOk;
  auto basis = open_input(basis_path, &code);
  if (!basis) return code;
  // Resolve now, as core will, to refuse bad parameters (e.g. -S 20 with
  // md4) before creating the output, and to say what we will do.
  auto params = core::resolve_signature_params(req, basis->size());
  if (!params) return fail("signature", params.status());
  if (opt.verbose) {
    report("signature", display_name(basis_path, false) + " -> " +
                            display_name(sig_path, true) + ": " +
                            describe(*params));
    core::SignatureRequest min_req = req;
    min_req.strong_len = -1;
    auto safe = core::resolve_signature_params(min_req, basis->size());
    if (safe && params->strong_len < safe->strong_len) {
      report("signature",
             "warning: a strong sum of " + std::to_string(params->strong_len) +
                 " bytes is below the safe minimum of " +
                 std::to_string(safe->strong_len) + " for this basis (-S -1)");
    }
  }
  auto out = open_output(sig_path, opt.force, {basis->stat()}, &code);
  if (!out) return code;
  auto stats = core::signature_fd(basis->fd(), out->fd(), req);
  if (!stats) return fail("signature", stats.status());
  return finish("signature", opt, *out, *stats, start);
}

int run_delta(const RdiffOptions& opt, const std::vector<std::string>& args) {
  const auto start = Clock::now();
  if (auto code = check_usage("delta", opt, args, "SIGNATURE", 3)) return *code;
  const std::string sig_path = args[0];
  const std::string new_path = arg_or_stdio(args, 1);
  const std::string delta_path = arg_or_stdio(args, 2);
  if (sig_path == "-" && new_path == "-") {
    return usage_error("delta",
                       "standard input cannot be both SIGNATURE and NEWFILE",
                       command_hint("delta"));
  }

  int code = kExitOk;
  auto sig_in = open_input(sig_path, &code);
  if (!sig_in) return code;
  auto new_in = open_input(new_path, &code);
  if (!new_in) return code;
  // Loading a large signature takes a while: refuse an existing output
  // first, as rdiff would.
  Status writable = OutputFile::check_writable(delta_path, opt.force);
  if (!writable.is_ok()) return fail(display_name(delta_path, true), writable);

  auto sig = core::load_signature_fd(sig_in->fd());
  if (!sig) return fail(display_name(sig_path, false), sig.status());
  if (opt.verbose) {
    report("delta", display_name(sig_path, false) + " (" +
                        std::to_string((*sig)->block_count()) + " blocks, " +
                        describe((*sig)->params()) + "), " +
                        display_name(new_path, false) + " -> " +
                        display_name(delta_path, true));
  }
  auto out = open_output(delta_path, opt.force,
                         {sig_in->stat(), new_in->stat()}, &code);
  if (!out) return code;
  auto stats = core::delta_fd(**sig, new_in->fd(), out->fd());
  if (!stats) return fail("delta", stats.status());
  return finish("delta", opt, *out, *stats, start);
}

int run_patch(const RdiffOptions& opt, const std::vector<std::string>& args) {
  const auto start = Clock::now();
  if (auto code = check_usage("patch", opt, args, "BASIS", 3)) return *code;
  const std::string basis_path = args[0];
  const std::string delta_path = arg_or_stdio(args, 1);
  const std::string new_path = arg_or_stdio(args, 2);
  if (basis_path == "-") {
    return usage_error("patch",
                       "BASIS cannot be standard input: patch needs random "
                       "access to it",
                       command_hint("patch"));
  }

  int code = kExitOk;
  auto basis = open_input(basis_path, &code);
  if (!basis) return code;
  if (!basis->is_random_access()) {
    report(basis_path,
           "not a regular file or block device (patch needs random access "
           "to the basis)");
    return kExitEnvironment;
  }
  auto delta_in = open_input(delta_path, &code);
  if (!delta_in) return code;
  if (opt.verbose) {
    report("patch", display_name(basis_path, false) + " + " +
                        display_name(delta_path, false) + " -> " +
                        display_name(new_path, true));
  }
  auto out = open_output(new_path, opt.force, {basis->stat(), delta_in->stat()},
                         &code);
  if (!out) return code;
  auto stats = core::patch_fd(basis->fd(), delta_in->fd(), out->fd());
  if (!stats) return fail("patch", stats.status());
  return finish("patch", opt, *out, *stats, start);
}

}  // namespace mirrorfs::cli
