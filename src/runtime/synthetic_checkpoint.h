// SPDX-License-Identifier: Apache-2.0
//
// synthetic_checkpoint.h: random-weight checkpoint folders with the real names, shapes,
// dtypes and side files, for demos and tests when no real weights are at hand.
//
// X-VLA (`xvla`): config.json (official layout), model.safetensors (f32, official key
// names, plus the buffers a released file carries), tokenizer.json (vlart's small
// byte-level BPE of the same family: <s>=0 <pad>=1 </s>=2) and preprocessor_config.json
// (the released CLIP settings). `full` is the released 0.9B architecture (3.5 GB),
// `tiny` the same architecture with narrow widths (a few MB).
// pi0 / pi0.5 (`pi0`, `pi05`): openpi's converted layout: config.json (its five keys;
// tiny adds `vlart_tiny_arch`), model.safetensors (bf16, openpi's names: 777 / 812
// tensors, 7.0 / 7.2 GB for `full`, written tensor by tensor on all cores),
// assets/physical-intelligence/libero/norm_stats.json (LIBERO-shaped stats) and
// tokenizer.model (vlart's tiny 1200-piece SentencePiece model, which the tiny vocab
// matches; with `full` only its ids < 1200 are ever used: not PaliGemma's tokenizer).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace vlart {

struct SyntheticSpec {
  std::string arch = "xvla";  // xvla, pi0, pi05
  std::string size = "tiny";  // tiny | full
  uint64_t seed = 0;
};

// Writes the checkpoint folder `dir` (created if needed; existing files are replaced).
// `progress` (may be empty) receives one line per file written.
Status WriteSyntheticCheckpoint(const SyntheticSpec& spec, const std::filesystem::path& dir,
                                const std::function<void(std::string_view)>& progress = {});

}  // namespace vlart
