// SPDX-License-Identifier: Apache-2.0
//
// build_info.cc: values baked in at configure time (see src/runtime/CMakeLists.txt).

#include "runtime/build_info.h"

#include <fmt/format.h>

namespace vlart {

const char* BuildCommit() { return VLART_GIT_COMMIT; }

bool BuildHasCuda() { return VLART_BUILD_HAS_CUDA != 0; }

std::string BuildInfoString() {
  if (BuildHasCuda()) {
    return fmt::format("vlart {} (commit {}, CUDA {} for archs {})", VLART_VERSION, BuildCommit(),
                       VLART_CUDA_VERSION, VLART_CUDA_ARCHS_STRING);
  }
  return fmt::format("vlart {} (commit {}, CPU only)", VLART_VERSION, BuildCommit());
}

}  // namespace vlart
