// SPDX-License-Identifier: Apache-2.0
//
// recording.cc: CPU recording and host stage clock (see recording.h).

#include "backends/cpu/recording.h"

#include <chrono>
#include <vector>

#include "core/check.h"

namespace vlart::cpu {
namespace {

class RecordedFunction final : public RecordedWork {
 public:
  explicit RecordedFunction(std::function<void()> fn) : fn_(std::move(fn)) {}
  void Replay() override { fn_(); }

 private:
  std::function<void()> fn_;
};

class HostStageClock final : public StageClock {
 public:
  explicit HostStageClock(int n) : marks_(n) {}
  int num_marks() const override { return static_cast<int>(marks_.size()); }
  void Mark(int index) override {
    VLART_CHECK(index >= 0 && index < num_marks(), "StageClock: mark {} of {}", index, num_marks());
    marks_[index] = std::chrono::steady_clock::now();
  }
  double ElapsedMs(int from, int to) const override {
    VLART_CHECK(from >= 0 && to < num_marks() && from < num_marks() && to >= 0,
                "StageClock: marks {}..{} of {}", from, to, num_marks());
    return std::chrono::duration<double, std::milli>(marks_[to] - marks_[from]).count();
  }

 private:
  std::vector<std::chrono::steady_clock::time_point> marks_;
};

}  // namespace

std::unique_ptr<RecordedWork> RecordFunction(const std::function<void()>& enqueue) {
  enqueue();  // the CPU executes while "recording", as a CUDA capture would not
  return std::make_unique<RecordedFunction>(enqueue);
}

std::unique_ptr<StageClock> NewHostStageClock(int num_marks) {
  return std::make_unique<HostStageClock>(num_marks);
}

}  // namespace vlart::cpu
