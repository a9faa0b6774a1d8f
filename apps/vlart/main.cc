// SPDX-License-Identifier: Apache-2.0
//
// main.cc: the `vlart` binary, one executable with subcommands (commands.h).

#include <CLI/CLI.hpp>

#include "commands.h"

int main(int argc, char** argv) {
  CLI::App app{"vlart: fast, faithful inference for Vision-Language-Action robot policies"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "vlart 0.1.0");
  int exit_code = 0;
  vlart::cli::AddVersionCommand(app, &exit_code);
  vlart::cli::AddInspectCommand(app, &exit_code);
  vlart::cli::AddRunCommand(app, &exit_code);
  vlart::cli::AddBenchCommand(app, &exit_code);
  vlart::cli::AddDemoCommand(app, &exit_code);
  vlart::cli::AddMakeSyntheticCommand(app, &exit_code);
  CLI11_PARSE(app, argc, argv);
  return exit_code;
}
