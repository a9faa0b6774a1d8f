// SPDX-License-Identifier: Apache-2.0
//
// gemm_refine_plan_test.cc: which GEMM candidates a Record re-tries inside the forward
// (backends/cuda/gemm_refine_plan.h): nothing for light shapes, the burst near-ties for the
// others, a wider window for the heaviest, in burst order and within the counts. Host code
// only: runs without a GPU (label cpu) in CUDA builds.

#include <gtest/gtest.h>

#include <vector>

#include "backends/cuda/gemm_refine_plan.h"

namespace vlart::cuda {
namespace {

GemmMmaConfig Lt(int algo) { return GemmMmaConfig{-1, 1, algo, false, false}; }

// pi0.5's expert gate_up as call 5 saw it in a slow process, in shape: two near-ties, and
// the algorithm that won in the forward 12% behind in the bursts.
std::vector<GemmRefineCandidate> Others() {
  return {{1.01f, Lt(1)}, {1.03f, GemmMmaConfig{9, 4, 0, false, false}}, {1.07f, Lt(2)},
          {1.12f, Lt(4)}, {1.20f, Lt(3)}, {1.24f, Lt(5)}, {1.31f, Lt(6)}, {2.5f, Lt(7)}};
}

TEST(GemmRefinePlan, ALightShapeIsNotRetried) {
  const GemmRefinePolicy policy;
  EXPECT_TRUE(GemmRefineTrials(Others(), policy.min_us - 1.0f, policy).empty());
}

TEST(GemmRefinePlan, AMiddleShapeTriesItsNearTiesOnly) {
  const GemmRefinePolicy policy;
  const std::vector<GemmMmaConfig> got = GemmRefineTrials(Others(), policy.min_us, policy);
  const std::vector<GemmMmaConfig> want = {Lt(1), GemmMmaConfig{9, 4, 0, false, false}};
  EXPECT_EQ(got, want);
}

TEST(GemmRefinePlan, AHeavyShapeTriesTheWiderWindowInBurstOrder) {
  const GemmRefinePolicy policy;  // window 25%, at most 6
  const std::vector<GemmMmaConfig> got = GemmRefineTrials(Others(), policy.heavy_us, policy);
  const std::vector<GemmMmaConfig> want = {Lt(1), GemmMmaConfig{9, 4, 0, false, false}, Lt(2),
                                           Lt(4), Lt(3), Lt(5)};
  EXPECT_EQ(got, want);
  GemmRefinePolicy four = policy;
  four.max_heavy = 4;
  EXPECT_EQ(GemmRefineTrials(Others(), 1e6f, four).size(), 4u);
  EXPECT_EQ(GemmRefineTrials(Others(), 1e6f, four).back(), Lt(4)) << "the one that won in the forward";
}

TEST(GemmRefinePlan, TheOldPolicyIsTheNearTiesAlone) {
  GemmRefinePolicy old;
  old.heavy_window = old.near_tie;
  old.max_heavy = old.max_near_ties;
  EXPECT_EQ(GemmRefineTrials(Others(), 1e6f, old), GemmRefineTrials(Others(), old.min_us, old));
}

TEST(GemmRefinePlan, NoCandidateTwiceAndNoneBeyondTheWindow) {
  GemmRefinePolicy policy;
  policy.max_heavy = 100;
  std::vector<GemmRefineCandidate> others = Others();
  others.push_back({1.05f, Lt(1)});  // a duplicate
  const std::vector<GemmMmaConfig> got = GemmRefineTrials(others, 1e6f, policy);
  EXPECT_EQ(got.size(), 6u) << "1, tile 9, 2, 4, 3, 5: not 6 (31%) nor 7 (150%), 1 once";
  EXPECT_TRUE(GemmRefineTrials({}, 1e6f, policy).empty());
}

}  // namespace
}  // namespace vlart::cuda
