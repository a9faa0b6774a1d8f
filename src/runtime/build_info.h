// SPDX-License-Identifier: Apache-2.0
//
// build_info.h: what this build of vlart contains (version, commit, CUDA, archs).
#pragma once

#include <string>

namespace vlart {

// Git commit the build was configured at ("unknown" outside a checkout).
const char* BuildCommit();
// True when the CUDA backend was compiled in.
bool BuildHasCuda();
// "vlart 0.1.0 (commit abc1234, CUDA 13.0 for 90a)" or "... (commit ..., CPU only)".
std::string BuildInfoString();

}  // namespace vlart
