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
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace vlart {

struct SyntheticSpec {
  std::string arch = "xvla";  // xvla (pi0, pi05: once their models land)
  std::string size = "tiny";  // tiny | full
  uint64_t seed = 0;
};

// Writes the checkpoint folder `dir` (created if needed; existing files are replaced).
// `progress` (may be empty) receives one line per file written.
Status WriteSyntheticCheckpoint(const SyntheticSpec& spec, const std::filesystem::path& dir,
                                const std::function<void(std::string_view)>& progress = {});

}  // namespace vlart
