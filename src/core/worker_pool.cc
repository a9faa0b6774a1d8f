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

WorkerPool::WorkerPool(int helpers) {
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

int WorkerPool::DefaultHelpers() {
  if (const char* v = std::getenv("VLART_PREPROCESS_THREADS"); v != nullptr && *v != '\0') {
    char* end = nullptr;
    const long total = std::strtol(v, &end, 10);
    if (end != v && *end == '\0' && total >= 1) return static_cast<int>(std::min(total, 64L)) - 1;
  }
  return 0;
}

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

void WorkerPool::Run(int n, const std::function<void(int task, int worker)>& fn) {
  std::lock_guard<std::mutex> run_lock(run_mu_);
  if (threads_.empty() || n <= 1) {
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
