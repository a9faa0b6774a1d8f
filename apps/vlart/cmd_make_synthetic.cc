// SPDX-License-Identifier: Apache-2.0
//
// cmd_make_synthetic.cc: `vlart make-synthetic --arch xvla --size tiny|full --seed N --out DIR`:
// a random-weight checkpoint folder with the real names, shapes, dtypes and side files.

#include <cstdio>

#include "cli_util.h"
#include "commands.h"
#include "runtime/synthetic_checkpoint.h"

namespace vlart::cli {

void AddMakeSyntheticCommand(CLI::App& app, int* exit_code) {
  auto spec = std::make_shared<SyntheticSpec>();
  auto out = std::make_shared<std::string>();
  CLI::App* sub = app.add_subcommand(
      "make-synthetic", "Write a random-weight checkpoint with the real names, shapes and files");
  sub->add_option("--arch", spec->arch, "xvla, pi0 or pi05")->required();
  sub->add_option("--size", spec->size, "tiny (a few MB) or full (the released architecture)");
  sub->add_option("--seed", spec->seed, "Seed of the random weights");
  sub->add_option("--out", *out, "Folder to write (created if needed)")->required();
  sub->callback([spec, out, exit_code] {
    const Status s = WriteSyntheticCheckpoint(*spec, *out, [](std::string_view line) {
      std::printf("wrote %.*s\n", static_cast<int>(line.size()), line.data());
      std::fflush(stdout);
    });
    *exit_code = s.ok() ? 0 : Fail("make-synthetic", s);
  });
}

}  // namespace vlart::cli
