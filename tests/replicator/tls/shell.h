// Test helpers: run a shell command and capture what it printed; read and
// write whole small files.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

namespace mirrorfs::replicator::tls::testing {

struct ShellResult {
  int exit_code = -1;  // -1 if it did not exit normally
  std::string out, err;
};

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline void spit(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
  ASSERT_TRUE(out.good()) << path;
}

// Runs `command` with /bin/sh, standard input from /dev/null; `scratch`
// is a directory for the captured standard error.
inline ShellResult run_shell(const std::string& command,
                             const std::string& scratch) {
  const std::string err_file = scratch + "/.stderr";
  ShellResult r;
  FILE* p = ::popen(
      ("exec </dev/null 2>'" + err_file + "'; " + command).c_str(), "r");
  if (p == nullptr) {
    ADD_FAILURE() << "popen failed: " << command;
    return r;
  }
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int status = ::pclose(p);
  if (status != -1 && WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  r.err = slurp(err_file);
  std::remove(err_file.c_str());
  return r;
}

}  // namespace mirrorfs::replicator::tls::testing
