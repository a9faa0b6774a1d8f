// SPDX-License-Identifier: Apache-2.0
//
// cmd_version.cc: `vlart version`, what this binary was built with.

#include <cstdio>

#include "commands.h"
#include "runtime/build_info.h"

namespace vlart::cli {

void AddVersionCommand(CLI::App& app, int* exit_code) {
  CLI::App* sub = app.add_subcommand("version", "Print the version and what this build contains");
  sub->callback([exit_code] {
    std::printf("%s\n", BuildInfoString().c_str());
    *exit_code = 0;
  });
}

}  // namespace vlart::cli
