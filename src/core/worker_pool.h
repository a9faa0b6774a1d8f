// SPDX-License-Identifier: Apache-2.0
//
// worker_pool.h: WorkerPool, a few helper threads that join the calling thread on a batch
// of independent tasks (host preprocessing: one image plane or noise chunk per task).
//
// Run(n, fn) calls fn(task, worker) exactly once for every task in [0, n) and returns
// when all have finished. The caller works too (worker 0): it wakes the helpers and
// starts claiming tasks at once, so a helper that is slow to wake costs nothing but its
// share; with no helpers (or n == 1) everything runs on the caller, in task order.
// Tasks are claimed dynamically, so which worker runs a task varies from call to call:
// a task must write only its own outputs and compute them independently of `worker`
// (which only selects per-worker scratch). Results are then identical for any number
// of helpers, which is what keeps preprocessing deterministic.
//
// Idle helpers sleep on a condition variable (no spinning between calls). Run is not
// reentrant and a pool serves one Run at a time (calls from several threads are
// serialised by a mutex).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace vlart {

class WorkerPool {
 public:
  // `helpers` threads besides the caller (0: everything runs on the caller). `batched_only`:
  // HelpersFor() lets them join only calls of at least kBatchedMinPlanes image planes.
  explicit WorkerPool(int helpers, bool batched_only = false);
  // The preprocessors' pool for `worker_threads` helpers (-1: DefaultHelpers(), batched only
  // unless VLART_PREPROCESS_THREADS is set).
  static int HelpersFor(int worker_threads) { return worker_threads < 0 ? DefaultHelpers() : worker_threads; }
  static bool BatchedOnlyFor(int worker_threads) { return worker_threads < 0 && DefaultHelpersBatchedOnly(); }
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Helpers + the caller: the number of distinct `worker` values fn can see.
  int num_workers() const { return static_cast<int>(threads_.size()) + 1; }
  // Whether a preprocessing call of `planes` image planes should wake the helpers (Run's
  // `use_helpers`).
  bool HelpersJoin(int planes) const { return !batched_only_ || planes >= kBatchedMinPlanes; }

  // Runs fn(task, worker) for every task in [0, n), worker in [0, num_workers()). With
  // `use_helpers` false everything runs on the caller (a call too small to pay for waking
  // sleeping helpers).
  void Run(int n, const std::function<void(int task, int worker)>& fn, bool use_helpers = true);

  // Helpers for host preprocessing: VLART_PREPROCESS_THREADS - 1 when that is set (the
  // total number of threads, >= 1); else min(3, hardware threads - 1), which the
  // preprocessors wake only for batched calls (DefaultHelpersBatchedOnly): a policy call
  // comes after the host idled through the previous forward, and waking a sleeping core
  // costs about what a helper saves at batch 1 (H100 host, 2026-11-23: X-VLA preprocess
  // median 0.83 -> 0.32 ms on 4 threads but p99 17.3 -> 22-26 ms e2e; measure with
  // bench/host/preprocess_bench, the *AfterIdle cases), while batch 4 has four times the
  // planes (X-VLA: 3.4 ms on the caller alone).
  static int DefaultHelpers();
  // True unless VLART_PREPROCESS_THREADS is set: DefaultHelpers() then join only calls with
  // at least kBatchedMinPlanes image planes (two views x 3 planes x batch >= 2).
  static bool DefaultHelpersBatchedOnly();
  static constexpr int kBatchedMinPlanes = 12;

 private:
  struct Job;
  void HelperLoop(int worker);
  static void Work(Job& job, int worker);

  bool batched_only_ = false;
  std::mutex run_mu_;  // one Run at a time
  std::mutex mu_;      // guards job_, generation_, stop_, joined_
  std::condition_variable wake_;
  std::condition_variable left_;
  Job* job_ = nullptr;
  uint64_t generation_ = 0;
  int joined_ = 0;  // helpers inside the current job
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace vlart
