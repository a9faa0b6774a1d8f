// SPDX-License-Identifier: Apache-2.0
//
// worker_pool_test.cc: WorkerPool runs every task exactly once per Run, with worker ids
// in range, whatever the number of helpers, over many back-to-back Runs (the pattern of
// a robot loop: helpers asleep between calls, woken for each).

#include "core/worker_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <vector>

namespace vlart {
namespace {

TEST(WorkerPool, EveryTaskRunsOnceWithValidWorkers) {
  for (int helpers : {0, 1, 3}) {
    WorkerPool pool(helpers);
    EXPECT_EQ(pool.num_workers(), helpers + 1);
    for (int run = 0; run < 200; ++run) {
      const int n = run % 37;  // includes 0 and 1 (run on the caller)
      std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
      std::atomic<int> bad_worker{0};
      pool.Run(n, [&](int task, int worker) {
        hits[task].fetch_add(1);
        if (worker < 0 || worker >= pool.num_workers()) bad_worker.fetch_add(1);
      });
      for (int t = 0; t < n; ++t) ASSERT_EQ(hits[t].load(), 1) << "helpers " << helpers << " task " << t;
      ASSERT_EQ(bad_worker.load(), 0);
    }
  }
}

TEST(WorkerPool, HelpersShareTheWork) {
  // With slow tasks, some task lands on a helper (the caller does not run them all).
  WorkerPool pool(2);
  std::atomic<int> on_helpers{0};
  pool.Run(64, [&](int, int worker) {
    volatile double x = 0;
    for (int i = 0; i < 200000; ++i) x = x + 1.0;
    if (worker != 0) on_helpers.fetch_add(1);
  });
  EXPECT_GT(on_helpers.load(), 0);
}

TEST(WorkerPool, WithoutHelpersEverythingRunsOnTheCallerInOrder) {
  // use_helpers = false (a call below the preprocessors' batched threshold): the caller
  // runs every task itself, in task order, even though helpers exist.
  WorkerPool pool(3);
  std::vector<int> order;
  bool only_caller = true;
  pool.Run(40, [&](int task, int worker) {
    order.push_back(task);  // no lock needed: one thread
    if (worker != 0) only_caller = false;
  }, /*use_helpers=*/false);
  ASSERT_TRUE(only_caller);
  ASSERT_EQ(order.size(), 40u);
  for (int t = 0; t < 40; ++t) EXPECT_EQ(order[static_cast<size_t>(t)], t);
}

TEST(WorkerPool, BatchedOnlyHelpersJoinBatchedCallsOnly) {
  WorkerPool any(2);
  EXPECT_TRUE(any.HelpersJoin(6));
  WorkerPool batched(2, /*batched_only=*/true);
  EXPECT_FALSE(batched.HelpersJoin(6));  // batch 1, two views
  EXPECT_TRUE(batched.HelpersJoin(WorkerPool::kBatchedMinPlanes));
  EXPECT_FALSE(WorkerPool::BatchedOnlyFor(0));  // an explicit count: every call
  EXPECT_EQ(WorkerPool::HelpersFor(2), 2);
}

TEST(WorkerPool, DefaultHelpersFollowTheEnvironment) {
  // Unset: up to 3 helpers, woken for batched calls only; set: exactly that many threads,
  // for every call.
  unsetenv("VLART_PREPROCESS_THREADS");
  EXPECT_GE(WorkerPool::DefaultHelpers(), 0);
  EXPECT_LE(WorkerPool::DefaultHelpers(), 3);
  EXPECT_TRUE(WorkerPool::DefaultHelpersBatchedOnly());
  setenv("VLART_PREPROCESS_THREADS", "5", 1);
  EXPECT_EQ(WorkerPool::DefaultHelpers(), 4);
  EXPECT_FALSE(WorkerPool::DefaultHelpersBatchedOnly());
  setenv("VLART_PREPROCESS_THREADS", "1", 1);
  EXPECT_EQ(WorkerPool::DefaultHelpers(), 0);
  setenv("VLART_PREPROCESS_THREADS", "x", 1);  // not a count: the default
  EXPECT_TRUE(WorkerPool::DefaultHelpersBatchedOnly());
  unsetenv("VLART_PREPROCESS_THREADS");
}

}  // namespace
}  // namespace vlart
