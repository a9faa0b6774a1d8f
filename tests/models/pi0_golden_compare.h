// SPDX-License-Identifier: Apache-2.0
//
// pi0_golden_compare.h: one tiny pi0 / pi0.5 golden run on any backend, compared with
// openpi's tensors stage by stage (shared by the CPU golden test and the CUDA test).
//
// RunPi0AndCompare loads the model on `backend`, runs the golden inputs with `options`,
// and compares in execution order: vision per image, prefix embeddings, positions and
// masks (exact), every VLM layer, the K/V cache, then per denoising step t (bits), the
// time embedding (bits), x_t, suffix embeddings, (pi0.5) adaRMS conditions, the step-0
// expert internals and layers, v_t, and finally x0. With the shortcuts on only the rows
// that still exist are compared (pi0_test_util.h row mapping). Float stages use the
// golden rule of pi0_test_util.h (8 x 4 f32 ulps of the stage's largest magnitude).
// Device buffers are read back through the backend (capture_tracer.h DownloadToHost).
#pragma once

#include <string>
#include <vector>

#include "core/host_tensor.h"
#include "golden_file.h"
#include "models/pi0/pi0_model.h"
#include "ops/backend.h"
#include "pi0_test_util.h"

namespace vlart::testing {

struct Pi0RunResult {
  std::vector<StageResult> stages;
  std::vector<std::string> exact_failures;  // exact-equality checks that failed
  HostTensor x0;                            // F32 [B, H, A]
};

Pi0RunResult RunPi0AndCompare(Pi0Tiny& t, Backend& backend, const pi0::Pi0ModelOptions& options);

// Fails the current test unless every stage is within tolerance and every exact check
// held; prints the stage table on failure (always with VLART_TEST_VERBOSE=1).
void ExpectAllPi0StagesMatch(const Pi0RunResult& r, const std::string& what);

}  // namespace vlart::testing
