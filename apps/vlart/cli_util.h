// SPDX-License-Identifier: Apache-2.0
//
// cli_util.h: small helpers shared by the subcommands: parsing "v1,v2,..." lists,
// printing a Status as "vlart <cmd>: <message>", and formatting action tables.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "core/host_tensor.h"
#include "core/status.h"
#include "vlart/policy.h"

namespace vlart::cli {

// "0.1,-2,3e-4" -> {0.1, -2, 0.0003}. Every element must be a finite number.
Result<std::vector<double>> ParseNumberList(const std::string& text, const std::string& flag);
// Prints "vlart <command>: <message>" to stderr and returns 1 (the exit code).
int Fail(const std::string& command, const Status& status);
// Actions [A, D] as JSON rows, full float precision.
std::string ActionsJson(const HostTensor& actions);
// Per-stage times as a JSON object.
std::string TimingsJson(const CallTimings& t);
// "vision 12.3 ms | encoder ... | total ..." for humans.
std::string TimingsLine(const CallTimings& t);
// The --tuning-cache flag on a subcommand (default DefaultTuningCache(); "none": no file).
void AddTuningCacheOption(CLI::App* sub, std::string* path);
// The flag's value as PolicyOptions::tuning_cache ("none" -> "").
std::string TuningCachePath(const std::string& flag);
// The file a CUDA load of `po` uses (VLART_GEMM_TUNING_FILE wins), "none" on the CPU or when
// there is none: for benchmark headers.
std::string EffectiveTuningCache(const PolicyOptions& po);

}  // namespace vlart::cli
