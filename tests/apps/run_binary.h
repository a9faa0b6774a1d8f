// SPDX-License-Identifier: Apache-2.0
//
// run_binary.h: runs a program (the built `vlart` binary) in a child process and
// reports how it ended, for tests of the CLI as a user sees it.
//
// stdout and stderr go to files under `scratch` and are read back, so output of any
// size is captured without pipes. A process killed by a signal (a crash, an abort
// from VLART_CHECK) is reported as such, never as an exit code: tests of bad input
// require `exited && exit_code == 1`.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace vlart::testing {

struct ProcessResult {
  bool exited = false;  // ended through exit(); false when a signal ended it
  int exit_code = -1;   // valid when exited
  int signal = 0;       // valid when !exited
  std::string out;      // everything written to stdout
  std::string err;      // everything written to stderr
  std::string Describe() const;  // "exit 1" / "signal 11 (Segmentation fault)" + the output
};

// Runs `argv[0]` with `argv` (no shell), stdin from /dev/null, output captured in
// files under `scratch` (which must exist). Aborts the test binary only if the child
// cannot be started at all.
ProcessResult RunProgram(const std::vector<std::string>& argv, const std::filesystem::path& scratch);

}  // namespace vlart::testing
