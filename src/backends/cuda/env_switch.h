// SPDX-License-Identifier: Apache-2.0
//
// env_switch.h: the environment switches that kernel launchers read for same-call A/B runs
// (scripts/device_session.sh, STEPS=ab AB_ENV=...). Plain C++ (no fmt), so .cu files may
// include it; switches that belong to the backend object are read in cuda_backend.cc instead.
// Read once per process: each caller keeps the answer in a function-local static.
#pragma once

#include <cstdlib>

namespace vlart::cuda {

// True unless the environment variable `name` starts with '0' (a default-on path).
inline bool EnvSwitchOn(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr || v[0] != '0';
}

// True when the environment variable `name` starts with '1' (an opt-in path).
inline bool EnvSwitchSet(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && v[0] == '1';
}

}  // namespace vlart::cuda
