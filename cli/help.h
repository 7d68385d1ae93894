// The help texts of the mirrorfs executable. Each documents every option
// its command accepts; keep them in step with options.cc and docs/cli.md.
#pragma once

#include <string_view>

namespace mirrorfs::cli {

// `mirrorfs --help`: every command, one line each, and the exit codes.
std::string_view top_level_help();

// `mirrorfs CMD --help`; empty for an unknown command.
std::string_view command_help(std::string_view command);

// "mirrorfs 0.1.0 ...", for --version.
std::string_view version_text();

}  // namespace mirrorfs::cli
