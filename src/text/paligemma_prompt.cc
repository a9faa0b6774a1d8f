// SPDX-License-Identifier: Apache-2.0
//
// paligemma_prompt.cc: openpi prompt cleaning, state discretisation, pad/truncate.
#include "text/paligemma_prompt.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <cmath>

#include "text/unicode_class.h"
#include "text/utf8.h"

namespace vlart {
namespace {

// np.linspace(-1, 1, 257)[:-1]: numpy computes i * (2/256) + (-1), exact in double.
const std::array<double, 256>& StateBins() {
  static const std::array<double, 256> bins = [] {
    std::array<double, 256> b{};
    for (int i = 0; i < 256; ++i) b[i] = static_cast<double>(i) * (2.0 / 256.0) - 1.0;
    return b;
  }();
  return bins;
}

Result<PaligemmaPromptTokens> PadOrTruncate(std::vector<int32_t> tokens, int max_len) {
  if (max_len <= 0) return InvalidArgument("tokenizing prompt: max_token_len: expected > 0, got {}", max_len);
  PaligemmaPromptTokens out;
  out.num_tokens = static_cast<int>(tokens.size());
  const auto len = static_cast<size_t>(max_len);
  if (tokens.size() < len) {
    out.mask.assign(tokens.size(), 1);
    out.mask.resize(len, 0);
    tokens.resize(len, 0);
  } else {
    if (tokens.size() > len) {
      out.truncation_notice = fmt::format(
          "Token length ({}) exceeds max length ({}), truncating. Consider increasing the `max_token_len` in your "
          "model config if this happens frequently.",
          tokens.size(), max_len);
    }
    tokens.resize(len);
    out.mask.assign(len, 1);
  }
  out.ids = std::move(tokens);
  return out;
}

}  // namespace

Result<std::string> CleanPaligemmaPrompt(std::string_view prompt) {
  VLART_TRY(text::ValidateUtf8(prompt, "tokenizing prompt"));
  // Python str.strip(): drop leading and trailing str.isspace() characters.
  size_t begin = 0;
  while (begin < prompt.size()) {
    size_t len = 0;
    if (!text::IsPythonSpace(text::DecodeUtf8At(prompt, begin, &len))) break;
    begin += len;
  }
  size_t end = prompt.size();
  while (end > begin) {
    size_t start = end - 1;
    while (start > begin && (static_cast<unsigned char>(prompt[start]) & 0xC0) == 0x80) --start;
    size_t len = 0;
    if (!text::IsPythonSpace(text::DecodeUtf8At(prompt, start, &len))) break;
    end = start;
  }
  std::string cleaned(prompt.substr(begin, end - begin));
  std::replace(cleaned.begin(), cleaned.end(), '_', ' ');
  std::replace(cleaned.begin(), cleaned.end(), '\n', ' ');
  return cleaned;
}

Result<std::vector<int>> DiscretizeState(std::span<const double> state) {
  const auto& bins = StateBins();
  std::vector<int> out;
  out.reserve(state.size());
  for (size_t i = 0; i < state.size(); ++i) {
    const double x = state[i];
    if (!std::isfinite(x)) {
      return InvalidArgument("discretizing state: state[{}]: expected a finite value, got {}; hint: check the "
                             "normalization statistics",
                             i, x);
    }
    // np.digitize(right=False) == searchsorted(bins, x, side="right").
    const auto k = std::upper_bound(bins.begin(), bins.end(), x) - bins.begin();
    out.push_back(static_cast<int>(k) - 1);
  }
  return out;
}

Result<std::vector<int>> DiscretizeState(std::span<const float> state) {
  const std::vector<double> wide(state.begin(), state.end());
  return DiscretizeState(std::span<const double>(wide));
}

Result<std::string> Pi05PromptText(std::string_view prompt, std::span<const double> state) {
  VLART_ASSIGN_OR_RETURN(const std::string cleaned, CleanPaligemmaPrompt(prompt));
  VLART_ASSIGN_OR_RETURN(const std::vector<int> bins, DiscretizeState(state));
  return fmt::format("Task: {}, State: {};\nAction: ", cleaned, fmt::join(bins, " "));
}

Result<PaligemmaPromptTokens> TokenizePi0Prompt(const SentencePieceTokenizer& tokenizer, std::string_view prompt,
                                                int max_len) {
  VLART_ASSIGN_OR_RETURN(const std::string cleaned, CleanPaligemmaPrompt(prompt));
  VLART_ASSIGN_OR_RETURN(std::vector<int32_t> tokens, tokenizer.Encode(cleaned, /*add_bos=*/true, false));
  VLART_ASSIGN_OR_RETURN(const std::vector<int32_t> newline, tokenizer.Encode("\n", false, false));
  tokens.insert(tokens.end(), newline.begin(), newline.end());
  return PadOrTruncate(std::move(tokens), max_len);
}

Result<PaligemmaPromptTokens> TokenizePi05Prompt(const SentencePieceTokenizer& tokenizer, std::string_view prompt,
                                                 std::span<const double> state, int max_len) {
  VLART_ASSIGN_OR_RETURN(const std::string text, Pi05PromptText(prompt, state));
  VLART_ASSIGN_OR_RETURN(std::vector<int32_t> tokens, tokenizer.Encode(text, /*add_bos=*/true, false));
  return PadOrTruncate(std::move(tokens), max_len);
}

Result<PaligemmaPromptTokens> TokenizePi05Prompt(const SentencePieceTokenizer& tokenizer, std::string_view prompt,
                                                 std::span<const float> state, int max_len) {
  const std::vector<double> wide(state.begin(), state.end());
  return TokenizePi05Prompt(tokenizer, prompt, std::span<const double>(wide), max_len);
}

}  // namespace vlart
