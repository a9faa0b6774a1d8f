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
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help / --version exit 0; every usage error (unknown or repeated flag, a value
    // CLI11 cannot convert or that fails its check) exits 2, as commands.h promises,
    // instead of CLI11's per-error codes (105, 106, 109, 114, ...).
    return app.exit(e) == 0 ? 0 : 2;
  }
  return exit_code;
}
