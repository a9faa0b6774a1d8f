// SPDX-License-Identifier: Apache-2.0
//
// run_binary.cc: see run_binary.h.

#include "run_binary.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/check.h"

extern char** environ;

namespace vlart::testing {
namespace {

std::string ReadAll(const std::filesystem::path& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

}  // namespace

std::string ProcessResult::Describe() const {
  std::string how = exited ? "exit " + std::to_string(exit_code)
                           : "signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
  return how + "\n--- stdout ---\n" + out + "--- stderr ---\n" + err;
}

ProcessResult RunProgram(const std::vector<std::string>& argv, const std::filesystem::path& scratch) {
  static int counter = 0;
  const std::string tag = std::to_string(counter++);
  const std::filesystem::path out_path = scratch / ("proc" + tag + ".out");
  const std::filesystem::path err_path = scratch / ("proc" + tag + ".err");

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  VLART_CHECK(rc == 0, "cannot start '{}': {}", argv[0], std::strerror(rc));

  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    VLART_CHECK(errno == EINTR, "waitpid failed: {}", std::strerror(errno));
  }
  ProcessResult r;
  r.exited = WIFEXITED(status);
  if (r.exited) {
    r.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    r.signal = WTERMSIG(status);
  }
  r.out = ReadAll(out_path);
  r.err = ReadAll(err_path);
  return r;
}

}  // namespace vlart::testing
