// SPDX-License-Identifier: Apache-2.0
//
// gemm_tuning_op.cc: CudaBackend's use of the GEMM tuning file (gemm_tuning_file.h,
// CudaBackendOptions::gemm_tuning_file): LoadGemmTuning at creation, SaveGemmTuning after
// every Record (merged with what the file already holds for the same stamp; other stamps'
// sections kept after it). It holds the GEMM tuner's settled picks and
// LinearResidualLayerNorm's.
//
// A tuning file is a cache: nothing about it may stop the backend. A missing file is the
// first run; a file without this GPU, cuBLASLt and build's section gets one from the next
// Record; a malformed or unreadable one is reported on stderr, ignored and replaced. A loaded pick is
// used only if it is one this process could have picked itself: cuBLASLt's algorithm numbers
// below its algorithm count, vlart's tiles among GemmMmaCandidates for that shape (so a
// switch that removes the skinny or wgmma kernel also drops their picks); a fused
// LinearResidualLayerNorm pick only while the fused form is on and its algorithm exists.

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>

#include <unistd.h>

#include "backends/cuda/cuda_backend_impl.h"

namespace vlart::cuda {
namespace {

// Every section of the file at `path` (ParseGemmTuningFile); `*exists` false and no sections
// when it cannot be opened.
Result<std::vector<GemmTuningSection>> ReadGemmTuning(const std::string& path, bool* exists) {
  std::ifstream in(path, std::ios::binary);
  *exists = static_cast<bool>(in);
  if (!*exists) return std::vector<GemmTuningSection>{};
  std::stringstream text;
  text << in.rdbuf();
  return ParseGemmTuningFile(text.str());
}

}  // namespace

void CudaBackend::LoadGemmTuning() {
  if (gemm_tuning_stamp_.build.empty()) {
    std::fprintf(stderr, "vlart: GEMM tuning file %s not used: this backend has no build tag "
                 "(CudaBackendOptions::build_tag)\n", gemm_tuning_file_.c_str());
    gemm_tuning_file_.clear();  // nor written
    return;
  }
  bool exists = false;
  Result<std::vector<GemmTuningSection>> sections = ReadGemmTuning(gemm_tuning_file_, &exists);
  if (!exists) return;  // the first run: Record writes it
  if (!sections.ok()) {
    std::fprintf(stderr, "vlart: GEMM tuning file %s ignored: %s\n", gemm_tuning_file_.c_str(),
                 sections.status().message().c_str());
    return;
  }
  const GemmTuning* parsed = FindGemmTuningSection(*sections, gemm_tuning_stamp_);
  if (parsed == nullptr) {
    if (gemm_verbose_) {
      std::fprintf(stderr, "vlart: GEMM tuning file %s has no section for this GPU, cuBLASLt and "
                   "build: tuning afresh (Record adds one)\n", gemm_tuning_file_.c_str());
    }
    return;
  }
  int used = 0, dropped = 0;
  for (const auto& [key, pick] : parsed->gemm) {
    bool ok = false;
    if (pick.tile == kGemmViaCublas) {
      ok = pick.splits == 1 && pick.lt_algo < lt_->max_algos() && (!pick.lt_fused || fused_lt_epilogues_) &&
           (!pick.lt_gelu || (pick.lt_fused && lt_gelu_));
    } else {
      const auto& [m, n, k, dtype, bias, act, residual, ldd_odd, sealed] = key;
      for (const GemmMmaConfig& c : GemmMmaCandidates(m, n, k, num_sms_)) ok = ok || c == pick;
    }
    if (ok) {
      gemm_configs_[key] = pick;
      ++used;
    } else {
      ++dropped;
    }
  }
  for (const auto& [key, pick] : parsed->linear_norm) {
    const bool ok = pick.splits == 0 || (fuse_linear_norm_ && pick.algo < lt_->max_algos());
    if (ok) {
      linear_norm_picks_[key] = pick;
      ++used;
    } else {
      ++dropped;
    }
  }
  stats_.gemm_tuning_loaded = used;
  if (gemm_verbose_ || dropped > 0) {
    std::fprintf(stderr, "vlart: GEMM tuning file %s: %d picks used, %d not offered here\n",
                 gemm_tuning_file_.c_str(), used, dropped);
  }
}

void CudaBackend::SaveGemmTuning() const {
  if (gemm_tuning_file_.empty()) return;
  // Other backends (another precision in the same `vlart bench`, another process) may have
  // written picks of other shapes since this one loaded: keep those, ours win on a tie. Other
  // stamps' sections are kept after ours (a malformed file is replaced).
  bool exists = false;
  Result<std::vector<GemmTuningSection>> theirs = ReadGemmTuning(gemm_tuning_file_, &exists);
  std::vector<GemmTuningSection> sections;
  GemmTuningSection ours{gemm_tuning_stamp_, {}};
  if (theirs.ok()) {
    if (const GemmTuning* same = FindGemmTuningSection(*theirs, gemm_tuning_stamp_); same != nullptr) {
      ours.picks = *same;
    }
  }
  for (const auto& [key, pick] : gemm_configs_) ours.picks.gemm[key] = pick;
  for (const auto& [key, pick] : linear_norm_picks_) ours.picks.linear_norm[key] = pick;
  // A process that started from the file and tuned nothing new would write it back unchanged.
  if (theirs.ok() && !theirs->empty() && theirs->front() == ours) return;
  sections.push_back(std::move(ours));
  if (theirs.ok()) {
    for (GemmTuningSection& other : *theirs) {
      if (other.stamp != gemm_tuning_stamp_ && sections.size() < kMaxGemmTuningSections) {
        sections.push_back(std::move(other));
      }
    }
  }
  // The folder first (the CLI's default cache lives in one that may not exist yet); if it
  // cannot be made, the write below says so.
  std::error_code dir_error;
  const std::filesystem::path folder = std::filesystem::path(gemm_tuning_file_).parent_path();
  if (!folder.empty()) std::filesystem::create_directories(folder, dir_error);
  // Written beside the target under this process's own name and renamed over it: a reader
  // never sees half a file, and two processes saving at once (the CLI's shared default
  // cache) never write into one temporary file; the last rename wins.
  const std::string tmp = gemm_tuning_file_ + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << FormatGemmTuningFile(sections);
    if (!out) {
      std::fprintf(stderr, "vlart: GEMM tuning file %s not written (%s)\n", gemm_tuning_file_.c_str(),
                   tmp.c_str());
      std::error_code ignored;
      std::filesystem::remove(tmp, ignored);
      return;
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, gemm_tuning_file_, ec);
  if (ec) {
    std::fprintf(stderr, "vlart: GEMM tuning file %s not written: %s\n", gemm_tuning_file_.c_str(),
                 ec.message().c_str());
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
  }
}

}  // namespace vlart::cuda
