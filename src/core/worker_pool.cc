// SPDX-License-Identifier: Apache-2.0
//
// worker_pool.cc: the helper threads and the task claiming of WorkerPool (see the header).

#include "core/worker_pool.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <string>

namespace vlart {

struct WorkerPool::Job {
  int n = 0;
  const std::function<void(int, int)>* fn = nullptr;
  std::atomic<int> next{0};  // next unclaimed task
  std::atomic<int> done{0};  // finished tasks
};

WorkerPool::WorkerPool(int helpers, bool batched_only) : batched_only_(batched_only) {
  for (int i = 0; i < helpers; ++i) threads_.emplace_back([this, i] { HelperLoop(i + 1); });
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  for (std::thread& t : threads_) t.join();
}

namespace {

// VLART_PREPROCESS_THREADS as a thread count >= 1, or 0 when unset or not a count.
int RequestedThreads() {
  if (const char* v = std::getenv("VLART_PREPROCESS_THREADS"); v != nullptr && *v != '\0') {
    char* end = nullptr;
    const long total = std::strtol(v, &end, 10);
    if (end != v && *end == '\0' && total >= 1) return static_cast<int>(std::min(total, 64L));
  }
  return 0;
}

}  // namespace

int WorkerPool::DefaultHelpers() {
  if (const int requested = RequestedThreads(); requested > 0) return requested - 1;
  const int hardware = static_cast<int>(std::thread::hardware_concurrency());
  return std::clamp(hardware - 1, 0, 3);
}

bool WorkerPool::DefaultHelpersBatchedOnly() { return RequestedThreads() == 0; }

void WorkerPool::Work(Job& job, int worker) {
  for (;;) {
    const int task = job.next.fetch_add(1, std::memory_order_relaxed);
    if (task >= job.n) return;
    (*job.fn)(task, worker);
    job.done.fetch_add(1, std::memory_order_release);
  }
}

void WorkerPool::HelperLoop(int worker) {
  uint64_t seen = 0;
  for (;;) {
    Job* job = nullptr;
    {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock, [&] { return stop_ || (job_ != nullptr && generation_ != seen); });
      if (stop_) return;
      seen = generation_;
      job = job_;
      ++joined_;
    }
    Work(*job, worker);
    bool last = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      last = --joined_ == 0;
    }
    if (last) left_.notify_all();
  }
}

void WorkerPool::Run(int n, const std::function<void(int task, int worker)>& fn, bool use_helpers) {
  std::lock_guard<std::mutex> run_lock(run_mu_);
  if (threads_.empty() || n <= 1 || !use_helpers) {
    for (int t = 0; t < n; ++t) fn(t, 0);
    return;
  }
  Job job;
  job.n = n;
  job.fn = &fn;
  {
    std::lock_guard<std::mutex> lock(mu_);
    job_ = &job;
    ++generation_;
  }
  wake_.notify_all();
  Work(job, 0);
  // Helpers may still be finishing the tasks they claimed: they take microseconds, so
  // spin, yielding the core in case the helper is waiting for it.
  for (int spins = 0; job.done.load(std::memory_order_acquire) < n; ++spins) {
    if (spins > 64) std::this_thread::yield();
  }
  std::unique_lock<std::mutex> lock(mu_);
  job_ = nullptr;  // late wakers no longer join
  left_.wait(lock, [&] { return joined_ == 0; });
}

}  // namespace vlart
