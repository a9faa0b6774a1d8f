// SPDX-License-Identifier: Apache-2.0
//
// paligemma_prompt.h: openpi's PaligemmaTokenizer.tokenize (pi0 / pi0.5 prompts),
// reproduced from openpi src/openpi/models/tokenizer.py (HEAD 15a9616a).
//
//   cleaned = prompt.strip().replace("_", " ").replace("\n", " ")   (Python strip)
//   pi0 (no state):      encode(cleaned, add_bos=True) + encode("\n")
//   pi0.5 (with state):  encode(f"Task: {cleaned}, State: {s};\nAction: ", add_bos=True)
//                        s = " ".join(digitize(state, linspace(-1, 1, 257)[:-1]) - 1)
//   then: shorter than max_len -> right-pad with id 0, mask false on the padding;
//         longer -> keep the first max_len ids (openpi logs a warning: returned here
//         as `truncation_notice`); exactly max_len -> unchanged, no warning.
// digitize follows numpy exactly (bins are i/128 - 1, exact in double; a value equal
// to a bin edge goes to the upper bin; below -1 gives -1, at or above 1 - 1/128
// gives 255). NaN or infinite state values are refused with a Status (numpy would
// silently bin NaN as 255).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "text/sentencepiece_tokenizer.h"

namespace vlart {

struct PaligemmaPromptTokens {
  std::vector<int32_t> ids;   // [max_len] token ids, 0 on padding
  std::vector<uint8_t> mask;  // [max_len] 1 for real tokens, 0 for padding
  int num_tokens = 0;         // ids before padding/truncation
  std::string truncation_notice;  // openpi's warning text when ids were cut, else ""
};

// Python's prompt.strip().replace("_", " ").replace("\n", " "); `prompt` must be
// valid UTF-8.
Result<std::string> CleanPaligemmaPrompt(std::string_view prompt);

// numpy: np.digitize(state, np.linspace(-1, 1, 257)[:-1]) - 1, values -1..255.
Result<std::vector<int>> DiscretizeState(std::span<const double> state);
Result<std::vector<int>> DiscretizeState(std::span<const float> state);

// The full pi0.5 prompt text: "Task: {cleaned}, State: {s0 s1 ...};\nAction: ".
Result<std::string> Pi05PromptText(std::string_view prompt, std::span<const double> state);

// pi0 format (and pi0.5 with discrete_state_input=False, e.g. pi05_libero).
Result<PaligemmaPromptTokens> TokenizePi0Prompt(const SentencePieceTokenizer& tokenizer, std::string_view prompt,
                                                int max_len);
// pi0.5 discrete-state format; `state` is the normalised, un-padded state.
Result<PaligemmaPromptTokens> TokenizePi05Prompt(const SentencePieceTokenizer& tokenizer, std::string_view prompt,
                                                 std::span<const double> state, int max_len);
Result<PaligemmaPromptTokens> TokenizePi05Prompt(const SentencePieceTokenizer& tokenizer, std::string_view prompt,
                                                 std::span<const float> state, int max_len);

}  // namespace vlart
