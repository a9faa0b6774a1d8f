// SPDX-License-Identifier: Apache-2.0
//
// commands.h: the subcommands of the `vlart` binary, one file each (cmd_<name>.cc).
//
// Each Add*Command registers a CLI11 subcommand on `app` whose callback stores the
// process exit code in `*exit_code`: 0 on success, 1 when the input was bad (the
// error is printed as "vlart <cmd>: <message>"), 2 for usage errors (CLI11's own).
#pragma once

#include <CLI/CLI.hpp>

namespace vlart::cli {

void AddVersionCommand(CLI::App& app, int* exit_code);
void AddRunCommand(CLI::App& app, int* exit_code);
void AddBenchCommand(CLI::App& app, int* exit_code);
void AddDemoCommand(CLI::App& app, int* exit_code);
void AddMakeSyntheticCommand(CLI::App& app, int* exit_code);
void AddInspectCommand(CLI::App& app, int* exit_code);

}  // namespace vlart::cli
