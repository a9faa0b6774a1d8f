// SPDX-License-Identifier: Apache-2.0
//
// pi0_transforms.h: openpi's LIBERO input and output transforms around the model, on the
// host, in the dtypes openpi uses (policy_config.create_trained_policy + Policy.infer).
//
// Inputs, per request (LiberoInputs, Normalize, ResizeImages, TokenizePrompt,
// PadStatesAndActions, Observation.from_dict):
//   images   base = observation/image, left wrist = observation/wrist_image, right
//            wrist = zeros (mask false); uint8 HWC -> float32(v) / 255 * 2 - 1, NCHW.
//            Inputs of another size go through resize_with_pad to the model size; this
//            is the openpi *client's* Pillow version (src/image), which LIBERO clients
//            already apply (224x224 in, so the server's resize is the identity). The
//            server's own JAX resize is not reproduced for other sizes.
//   state    float64: z-score (x - mean) / (std + 1e-6) or quantile
//            (x - q01) / (q99 - q01 + 1e-6) * 2 - 1, stats sliced to the state's length;
//            zero-padded to action_dim after normalising.
//   prompt   PaligemmaTokenizer.tokenize (src/text/paligemma_prompt.h): pi0 format,
//            padded / truncated to max_token_len (a truncation returns openpi's notice).
// Outputs (Unnormalize, AbsoluteActions, LiberoOutputs), float64 as NumPy computes them
// from the float32 x0:
//   z-score  x * (std + 1e-6) + mean, mean/std padded with 0/1 to action_dim;
//   quantile (x[:d] + 1.0) / 2.0 in float32 (NumPy keeps float32 with Python scalars),
//            then * (q99 - q01 + 1e-6) + q01 in float64; dims >= d pass through;
//   the normalized padded state goes through the same Unnormalize with the state stats;
//   delta    actions[..., :n] += state[:n] (openpi adds 0 to dim n as well, mask
//            make_bool_mask(n, -1)); pi0_libero n = 6, pi05_libero none;
//   slice    actions[..., :7].
//
// Speed: with ImageForm::kPixels, Prepare copies each view's bytes (after
// resize_with_pad when not of the model's size) and the model normalises them on the device.
// Otherwise Prepare's images go through image/image_preprocessor.h (the planar fast path,
// bit-identical to NormalizeOpenpi, tested), one colour plane per task of a WorkerPool
// (the caller alone at batch 1, up to 3 helpers for batched calls, VLART_PREPROCESS_THREADS=N:
// N threads always; WorkerPool::DefaultHelpers), together with the
// noise chunks when PrepareInto makes the noise;
// PrepareInto reuses its output buffers. SentencePiecePromptTokenizer keeps the ids of
// recent prompts. Prepare and PrepareInto lock the transforms: one call at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/host_tensor.h"
#include "core/status.h"
#include "image/image.h"
#include "io/norm_stats.h"
#include "models/common/view_upload.h"
#include "models/pi0/pi0_config.h"
#include "models/pi0/pi0_model.h"
#include "text/paligemma_prompt.h"
#include "text/sentencepiece_tokenizer.h"

namespace vlart::pi0 {

// One LIBERO request (the keys examples/libero/main.py sends).
struct LiberoObservation {
  ImageView image;            // observation/image       [H, W, 3] uint8 RGB
  ImageView wrist_image;      // observation/wrist_image [H, W, 3] uint8 RGB
  std::vector<double> state;  // observation/state       [8] eef pos, axis-angle, gripper
  std::string prompt;         // task instruction
};

// Tokenizes one prompt: (prompt, normalized un-padded state, max_len) -> ids + mask.
using PromptTokenizer = std::function<Result<PaligemmaPromptTokens>(
    std::string_view prompt, std::span<const double> state, int max_len)>;
// openpi's PaligemmaTokenizer over a SentencePiece model: the pi0 format (pi0_libero,
// pi05_libero) or, with `discrete_state`, pi0.5's "Task: ..., State: ...;\nAction: ".
// `tokenizer` must outlive the returned function. The function keeps the results of
// recent (prompt[, state]) inputs (text/token_cache.h): same input, same tokens.
PromptTokenizer SentencePiecePromptTokenizer(const SentencePieceTokenizer& tokenizer,
                                             bool discrete_state = false);

struct Pi0Prepared {
  Pi0Inputs inputs;                   // noise left empty (MakeNoise or the caller's)
  std::vector<std::string> notices;   // openpi's warnings (prompt truncation), per sample
};

struct Pi0ActionOutputs {
  HostTensor actions_unnormalized;    // F64 [B, H, A]
  HostTensor state_unnormalized;      // F64 [B, A]
  HostTensor actions_absolute;        // F64 [B, H, A]  after the delta (a copy when none)
  HostTensor actions;                 // F64 [B, H, out]  what the server returns
};

class Pi0Transforms {
 public:
  // Checks that `stats` has what `cfg`'s normalisation needs ("state" and "actions";
  // q01/q99 for quantile) and that their sizes fit action_dim. `worker_threads`: helper
  // threads for Prepare (-1: WorkerPool::DefaultHelpers(); 0: all on the caller).
  // `image_form`: Pi0Inputs::images (kPlanes) or Pi0Inputs::pixels (kPixels; kSourcePixels
  // is the same here: pi0 resizes on the host).
  static Result<Pi0Transforms> Create(const Pi0Config& cfg, NormStats stats,
                                      int worker_threads = -1,
                                      ImageForm image_form = ImageForm::kPlanes);
  ~Pi0Transforms();
  Pi0Transforms(Pi0Transforms&&) noexcept;
  Pi0Transforms& operator=(Pi0Transforms&&) noexcept;

  // Input transforms for a batch of requests.
  Result<Pi0Prepared> Prepare(std::span<const LiberoObservation> batch,
                              const PromptTokenizer& tokenizer) const;
  // Same into `out`, reusing its buffers when their shapes fit; with `noise_seed`, also
  // inputs.noise = MakeNoise(cfg, B, *noise_seed) (else inputs.noise is left as it is).
  // `out` must be empty or hold an earlier result of these transforms, unmodified
  // (masked view slots already filled are not rewritten). On an error `out` is
  // unspecified.
  Status PrepareInto(std::span<const LiberoObservation> batch, const PromptTokenizer& tokenizer,
                     std::optional<uint64_t> noise_seed, Pi0Prepared* out) const;
  // The normalized, zero-padded state of one request: F64 values [action_dim].
  Result<std::vector<double>> NormalizeState(std::span<const double> state) const;
  // Output transforms. x0 F32 [B, H, A]; state F64 [B, A] (Pi0Inputs::state).
  Result<Pi0ActionOutputs> Finish(const HostTensor& x0, const HostTensor& state) const;

  const NormStats& stats() const { return stats_; }
  int state_dim() const { return static_cast<int>(stats_.Find("state")->mean.size()); }

 private:
  struct Fast;  // the fast path's state (pi0_transforms.cc)
  Pi0Transforms(const Pi0Config& cfg, NormStats stats, int worker_threads,
                ImageForm image_form);
  // Checks request i, writes its state, tokens and masks, and queues its two views
  // (through resize_with_pad first when not of the model's size) in `fast`.
  Status PrepareSample(const LiberoObservation& o, int64_t i, const PromptTokenizer& tokenizer,
                       Fast& fast, Pi0Prepared* out) const;

  Pi0Config cfg_;
  NormStats stats_;
  ImageForm image_form_ = ImageForm::kPlanes;
  std::unique_ptr<Fast> fast_;
};

// Standard normal noise F32 [B, H, A] from vlart's deterministic generator (core/rng.h).
HostTensor MakeNoise(const Pi0Config& cfg, int batch, uint64_t seed);

}  // namespace vlart::pi0
