// SPDX-License-Identifier: Apache-2.0
//
// gemm_tuning_file.h: the GEMM tuner's picks (and LinearResidualLayerNorm's) as a text file,
// so that a later process on the same GPU and build starts with them
// (CudaBackendOptions::gemm_tuning_file).
//
// Why: the tuner times every candidate per GEMM shape and then settles near-ties inside the
// recorded forward (CudaBackend::Record). Processes running the same code can pick
// differently: X-VLA's policy stage moved by 0.2 ms between them in one device call
// (docs/PERFORMANCE.md). Tuning also takes 5-25 s per model plan. A file of the settled picks
// makes every later process run the same kernels, starts it faster, and lets an A/B compare
// the same picks on both sides.
//
// What must match: a pick names a tile of vlart's kernel tables (their indices change between
// builds) or a cuBLASLt algorithm number (an index into cuBLASLt's heuristic answer for the
// problem, stable for one cuBLASLt version on one GPU). So picks live in sections, each under
// a stamp (GPU name, SM count, cuBLASLt version, vlart build), and a process uses only the
// section with its own stamp. Other sections are kept when the file is rewritten (newest
// first, at most kMaxGemmTuningSections), so one cache file serves several GPU types or
// builds without each one's runs wiping the others' picks.
//
// Format (one record per line, '#' starts a comment line):
//   vlart-gemm-tuning 3
//   stamp <device name> | <sms> | <cublasLt version> | <build>
//   <m> <n> <k> <dtype> <bias> <act> <residual> <ldd_odd> <sealed> -> <tile> <splits> <lt_algo> <lt_fused> <lt_gelu>
//   linear_norm <m> <n> <k> <dtype> <bias> -> <splits> <lt_algo>
//   stamp ...   (the next section)
// A GEMM line's key fields are CudaBackend's GemmTuneKey in order (bools as 0 / 1, dtype as
// its DType number), its pick GemmMmaConfig's; a linear_norm line's are LinearNormKey's and
// LinearNormPick's (splits 0: Linear then LayerNorm). Versions 1 (GEMM lines only) and 2 (one
// section) are still read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "backends/cuda/kernels.h"
#include "core/status.h"

namespace vlart::cuda {

// m, n, k, dtype, bias?, act, residual?, ldd % 2, weights sealed?: everything that changes a
// GEMM's speed (CudaBackend::GemmConfigFor).
using GemmTuneKey = std::tuple<int, int, int, int, bool, int, bool, int, bool>;

// LinearResidualLayerNorm's tuner (linear_norm_op.cc): M, N, K, dtype, bias?; its pick is
// `splits` K slices whose f32 partials one strided-batched cuBLASLt call (algorithm `algo`)
// writes and one kernel sums with the norm (splits 0: Linear then LayerNorm).
using LinearNormKey = std::tuple<int64_t, int64_t, int64_t, int, bool>;
struct LinearNormPick {
  int splits = 0;
  int algo = 0;
  bool operator==(const LinearNormPick&) const = default;
};

// What a tuning file holds.
struct GemmTuning {
  std::map<GemmTuneKey, GemmMmaConfig> gemm;
  std::map<LinearNormKey, LinearNormPick> linear_norm;
  bool empty() const { return gemm.empty() && linear_norm.empty(); }
  bool operator==(const GemmTuning&) const = default;
};

struct GemmTuningStamp {
  std::string device;       // cudaDeviceProp::name, e.g. "NVIDIA H100 80GB HBM3"
  int sms = 0;              // multiprocessors
  long cublaslt_version = 0;  // cublasLtGetVersion()
  std::string build;        // the vlart build's commit (BuildCommit())
  bool operator==(const GemmTuningStamp&) const = default;
};

struct GemmTuningSection {
  GemmTuningStamp stamp;
  GemmTuning picks;
  bool operator==(const GemmTuningSection&) const = default;
};
inline constexpr size_t kMaxGemmTuningSections = 8;

// The file's text for `sections`, in that order.
std::string FormatGemmTuningFile(const std::vector<GemmTuningSection>& sections);
// Every section of a file's text, in file order. A malformed file (anywhere, in any section)
// is an error naming the line, what was expected and what was found; so are two sections
// with one stamp.
Result<std::vector<GemmTuningSection>> ParseGemmTuningFile(std::string_view text);

// The picks of the section of `sections` stamped `stamp`, or null.
const GemmTuning* FindGemmTuningSection(const std::vector<GemmTuningSection>& sections,
                                        const GemmTuningStamp& stamp);


}  // namespace vlart::cuda
