// SPDX-License-Identifier: Apache-2.0
//
// gemm_refine_plan.h: which of the GEMM tuner's other candidates a Record re-tries inside the
// whole recorded forward (CudaBackend::RefineGemmPicks, recording.cc). Host code only.
//
// The per-shape tuner (GemmConfigFor, linear_op.cc) ranks candidates by graph bursts of the
// GEMM between stand-in neighbours. That ranking is right to a few percent only: inside the
// model a candidate starts behind different kernels, beside the L2 prefetch branch, and some
// cuBLASLt algorithms gain or lose there what they did not in the bursts. Measured: pi0.5's
// expert gate_up (10x8192x1024, 180 calls per forward) on cuBLASLt algorithm 4 ran the
// forward 0.2 ms faster than the burst pick, but 4 was not a burst near-tie in most
// processes, so whether a process found it was a lottery (docs/PERFORMANCE.md).
//
// So a shape is re-tried in proportion to what it weighs: its pick's burst time x its calls
// in the forward ("cost", us per forward).
// - cost >= min_us: the candidates within near_tie of the pick (at most max_near_ties);
// - cost >= heavy_us: every candidate within heavy_window of the pick (at most max_heavy
//   in all, best burst score first).
// Each trial costs one capture, one instantiation and 22 replays of the forward (~0.4-0.6 s
// for a 14 ms forward), once per shape and process, or once per GPU and build with a GEMM
// tuning file.
#pragma once

#include <vector>

#include "backends/cuda/kernels.h"

namespace vlart::cuda {

// Another candidate of a shape, with its burst score over the pick's (>= 1: the pick had the
// lowest score).
struct GemmRefineCandidate {
  float ratio = 1.0f;
  GemmMmaConfig config;
};

struct GemmRefinePolicy {
  float min_us = 200.0f;      // below: the shape is not re-tried at all (< ~1.5% of a forward)
  float near_tie = 0.04f;     // burst scores within 4%: timing noise cannot rank them
  int max_near_ties = 3;
  float heavy_us = 600.0f;    // ~4% of a 14 ms forward (pi0.5's expert GEMMs: 0.9-1.4 ms)
  float heavy_window = 0.25f; // VLART_GEMM_REFINE_WINDOW
  int max_heavy = 6;          // VLART_GEMM_REFINE_MAX
  // Used by RefineGemmPicks itself (recording.cc), not by GemmRefineTrials:
  // A candidate is kept when the forward's median replay beats the current one by this
  // fraction (VLART_GEMM_REFINE_KEEP). Smaller wins are below what a process's later timing
  // repeats: pi0 processes with the same picks ran their denoise 0.1 ms (~0.7% of the
  // forward) apart, and a 0.15% margin gained nothing over 0.3% (H100, 2026-11-24,
  // docs/PERFORMANCE.md).
  double keep = 0.003;
  // Seconds of trials per Record after which no further shape is started
  // (VLART_GEMM_REFINE_BUDGET_S); heaviest shapes go first.
  double budget_s = 20.0;
};

// The configurations to try for one shape, in order. `others` is every other candidate the
// tuner timed, best first; `cost_us` the pick's burst us x its calls in this forward.
std::vector<GemmMmaConfig> GemmRefineTrials(const std::vector<GemmRefineCandidate>& others,
                                            float cost_us, const GemmRefinePolicy& policy);

}  // namespace vlart::cuda
