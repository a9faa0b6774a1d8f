// SPDX-License-Identifier: Apache-2.0
//
// preprocess_fast_path_test.cc: the policies' fast preprocessing (XvlaProcessor and
// Pi0Transforms: planar image path, worker threads, cached plans and tokens, reused
// buffers, chunked noise) gives bit for bit the inputs of the reference path, i.e. what
// the code computed before it was made fast: per view ResizeImage + NormalizeClip
// (XvlaProcessor::PreprocessImage) or resize_with_pad + NormalizeOpenpi, uncached
// tokenizers, and noise from Rng::Normal one value at a time (pi0::MakeNoise). Checked
// on the bundled demo views and random pictures of several sizes, over a sequence of
// calls into the same buffers (batch and view count changing, so absent slots must be
// cleared again), with 0 and 3 helper threads.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "backends/cpu/cpu_backend.h"
#include "core/normal_fill.h"
#include "core/rng.h"
#include "core/worker_pool.h"
#include "image/decode.h"
#include "image/normalize.h"
#include "image/resize_with_pad.h"
#include "models/pi0/pi0_config.h"
#include "models/pi0/pi0_synthetic.h"
#include "models/pi0/pi0_transforms.h"
#include "models/xvla/xvla_config.h"
#include "models/xvla/xvla_processor.h"
#include "support/random_image.h"
#include "support/test_paths.h"
#include "text/embedded_assets.h"
#include "text/paligemma_prompt.h"
#include "text/sentencepiece_tokenizer.h"

namespace vlart {
namespace {

using testing::RandomImage;

Image Demo(const char* name) {
  Result<Image> img = DecodeImageFile(testing::SourceDir() / "assets" / "demo" / name);
  EXPECT_TRUE(img.ok()) << img.status().ToString();
  return img.ok() ? std::move(*img) : Image::Zeros(1, 1);
}

// Bitwise equality of two host tensors (dtype, shape and bytes).
void ExpectBitEqual(const HostTensor& got, const HostTensor& want, const std::string& what) {
  ASSERT_EQ(got.dtype(), want.dtype()) << what;
  ASSERT_EQ(got.shape(), want.shape()) << what;
  EXPECT_EQ(std::memcmp(got.data<void>(), want.data<void>(), want.nbytes()), 0) << what;
}

HostTensor ReferenceNoise(int64_t b, int64_t rows, int64_t cols, uint64_t seed) {
  HostTensor noise(DType::kF32, {b, rows, cols});
  Rng rng(seed);
  for (int64_t k = 0; k < noise.numel(); ++k) noise.data<float>()[k] = rng.Normal();
  return noise;
}

// ---- X-VLA ----

PreprocessorConfig XvlaImageConfig() {  // the released preprocessor_config.json
  PreprocessorConfig c;
  c.image_processor_type = "CLIPImageProcessor";
  c.size = ImageSize{.height = 224, .width = 224, .shortest_edge = 0};
  c.resample = PilResample::kBicubic;
  c.do_center_crop = false;
  c.image_mean = {0.485, 0.456, 0.406};
  c.image_std = {0.229, 0.224, 0.225};
  c.do_convert_rgb = false;
  return c;
}

xvla::XvlaProcessor MakeXvlaProcessor(int threads) {
  const std::span<const uint8_t> json = EmbeddedAsset("tokenizers/xvla_tiny/tokenizer.json");
  Result<BpeTokenizer> tok = BpeTokenizer::FromJsonText(
      std::string_view(reinterpret_cast<const char*>(json.data()), json.size()));
  EXPECT_TRUE(tok.ok());
  return xvla::XvlaProcessor(xvla::XvlaFullConfig(), std::move(*tok), XvlaImageConfig(), threads);
}

// What Prepare computed before the fast path, built from the reference pieces.
xvla::XvlaInputs XvlaReference(const xvla::XvlaProcessor& p, const xvla::XvlaConfig& cfg,
                               std::span<const xvla::XvlaRequest> batch, uint64_t seed) {
  const int64_t b = static_cast<int64_t>(batch.size()), v = cfg.num_views;
  const int64_t s = cfg.vision.image_size, l = cfg.max_text_tokens, dp = cfg.dim_proprio();
  xvla::XvlaInputs in;
  in.steps = 10;
  in.input_ids = HostTensor(DType::kI32, {b, l});
  in.images = HostTensor(DType::kF32, {b, v, 3, s, s});
  in.image_mask = HostTensor(DType::kU8, {b, v});
  in.domain_id = HostTensor(DType::kI32, {b});
  in.proprio = HostTensor(DType::kF32, {b, dp});
  for (int64_t i = 0; i < b; ++i) {
    for (size_t j = 0; j < batch[i].images.size(); ++j) {
      const Tensor out = in.images.view().Select(0, i).Select(0, static_cast<int64_t>(j));
      EXPECT_TRUE(p.PreprocessImage(batch[i].images[j], out).ok());
      in.image_mask.data<uint8_t>()[i * v + static_cast<int64_t>(j)] = 1;
    }
    Result<std::vector<int32_t>> ids = p.Tokenize(batch[i].instruction, nullptr);
    EXPECT_TRUE(ids.ok());
    std::memcpy(in.input_ids.data<int32_t>() + i * l, ids->data(), l * sizeof(int32_t));
    for (int64_t k = 0; k < dp; ++k) {
      in.proprio.data<float>()[i * dp + k] = static_cast<float>(batch[i].proprio[k]);
    }
    in.domain_id.data<int32_t>()[i] = batch[i].domain_id;
  }
  in.noise = ReferenceNoise(b, cfg.policy.num_actions, cfg.action_space.dim_action, seed);
  return in;
}

void ExpectXvlaEqual(const xvla::XvlaInputs& got, const xvla::XvlaInputs& want) {
  ExpectBitEqual(got.images, want.images, "images");
  ExpectBitEqual(got.image_mask, want.image_mask, "image_mask");
  ExpectBitEqual(got.input_ids, want.input_ids, "input_ids");
  ExpectBitEqual(got.proprio, want.proprio, "proprio");
  ExpectBitEqual(got.domain_id, want.domain_id, "domain_id");
  ExpectBitEqual(got.noise, want.noise, "noise");
  EXPECT_EQ(got.steps, want.steps);
}

TEST(PreprocessFastPath, XvlaEqualsReferenceAcrossCallsAndThreads) {
  const xvla::XvlaConfig cfg = xvla::XvlaFullConfig();
  // Call sequence: demo views at batch 1; a batch of 4 with 1..3 views of several sizes
  // (off-size, exact 224, upscale); fewer views into the same buffer; batch 1 again.
  std::vector<std::vector<Image>> views = {
      {Demo("agentview.png"), Demo("wrist.png")},
      {RandomImage(256, 256, 1), RandomImage(224, 224, 2), RandomImage(480, 640, 3)},
      {RandomImage(100, 90, 4)},
      {RandomImage(256, 256, 5), RandomImage(231, 250, 6)},
      {RandomImage(256, 256, 7), RandomImage(256, 256, 8), RandomImage(256, 256, 9)},
  };
  std::vector<double> proprio(20);
  for (int k = 0; k < 20; ++k) proprio[k] = 0.1 * k - 0.7;
  auto request = [&](size_t view_set, size_t n_views, const std::string& text) {
    return xvla::XvlaRequest{std::span<const Image>(views[view_set]).first(n_views), text, proprio, 3};
  };
  const std::string libero = "put both the alphabet soup and the tomato sauce in the basket";
  const std::vector<std::vector<xvla::XvlaRequest>> calls = {
      {request(0, 2, libero)},
      {request(1, 3, libero), request(2, 1, "open the drawer"), request(3, 2, libero),
       request(4, 3, "")},
      {request(1, 1, libero), request(2, 1, libero), request(3, 1, "open the drawer"),
       request(4, 2, libero)},
      {request(0, 2, libero)},
      {request(4, 3, libero)},
  };
  // interleave: a fresh Prepare between the PrepareInto calls (the processor must notice
  // that the reused buffer was not the last one it filled).
  for (bool interleave : {false, true}) {
    for (int threads : {0, 3}) {
      SCOPED_TRACE(::testing::Message() << threads << " helper threads, interleave " << interleave);
      const xvla::XvlaProcessor fast = MakeXvlaProcessor(threads);
      xvla::XvlaInputs reused;
      for (size_t c = 0; c < calls.size(); ++c) {
        SCOPED_TRACE(::testing::Message() << "call " << c);
        const uint64_t seed = 100 + c;
        const xvla::XvlaInputs want = XvlaReference(fast, cfg, calls[c], seed);
        ASSERT_TRUE(fast.PrepareInto(calls[c], 10, nullptr, seed, nullptr, &reused).ok());
        ExpectXvlaEqual(reused, want);
        if (!interleave) continue;
        Result<xvla::XvlaInputs> fresh = fast.Prepare(calls[c], 10, nullptr, seed, nullptr);
        ASSERT_TRUE(fresh.ok());
        ExpectXvlaEqual(*fresh, want);
      }
    }
  }
}

// ImageForm::kPixels: the resized bytes and the table of each byte's normalisation, which
// give the reference planes bit for bit (images = table[c][byte]); everything else as the
// planes' Prepare. Batches with resized, exact-size and absent views, reused buffers.
TEST(PreprocessFastPath, XvlaBytesGiveTheReferencePlanes) {
  const xvla::XvlaConfig cfg = xvla::XvlaFullConfig();
  const std::span<const uint8_t> json = EmbeddedAsset("tokenizers/xvla_tiny/tokenizer.json");
  Result<BpeTokenizer> tok = BpeTokenizer::FromJsonText(
      std::string_view(reinterpret_cast<const char*>(json.data()), json.size()));
  ASSERT_TRUE(tok.ok());
  const xvla::XvlaProcessor bytes_proc(cfg, std::move(*tok), XvlaImageConfig(), 0,
                                       ImageForm::kPixels);
  const xvla::XvlaProcessor planes_proc = MakeXvlaProcessor(0);
  std::vector<std::vector<Image>> views = {
      {Demo("agentview.png"), Demo("wrist.png")},
      {RandomImage(256, 256, 11), RandomImage(224, 224, 12), RandomImage(100, 90, 13)},
  };
  std::vector<double> proprio(20, 0.25);
  const std::vector<std::vector<xvla::XvlaRequest>> calls = {
      {{views[0], "open the drawer", proprio, 3}},
      {{std::span<const Image>(views[1]), "", proprio, 3},
       {std::span<const Image>(views[0]).first(1), "open the drawer", proprio, 3}},
      {{views[0], "open the drawer", proprio, 3}},
  };
  const int64_t s = cfg.vision.image_size, v = cfg.num_views;
  xvla::XvlaInputs reused;
  for (size_t c = 0; c < calls.size(); ++c) {
    SCOPED_TRACE(::testing::Message() << "call " << c);
    ASSERT_TRUE(bytes_proc.PrepareInto(calls[c], 10, nullptr, 7, nullptr, &reused).ok());
    Result<xvla::XvlaInputs> want = planes_proc.Prepare(calls[c], 10, nullptr, 7, nullptr);
    ASSERT_TRUE(want.ok());
    EXPECT_EQ(reused.images.data<void>(), nullptr);
    const int64_t b = static_cast<int64_t>(calls[c].size());
    ASSERT_EQ(reused.pixels.shape(), (Shape{b, v, 3, s, s}));
    ASSERT_EQ(reused.pixel_table.shape(), (Shape{3, 256}));
    for (int64_t k = 0; k < b * v; ++k) {
      if (want->image_mask.data<uint8_t>()[k] == 0) continue;  // absent: never encoded
      for (int64_t e = 0; e < 3 * s * s; ++e) {
        const int64_t ch = e / (s * s);
        const uint8_t byte = reused.pixels.data<uint8_t>()[k * 3 * s * s + e];
        const float got = reused.pixel_table.data<float>()[ch * 256 + byte];
        const float ref = want->images.data<float>()[k * 3 * s * s + e];
        ASSERT_EQ(std::memcmp(&got, &ref, sizeof(float)), 0)
            << "view slot " << k << " element " << e << ": byte " << int{byte} << " -> " << got
            << ", reference " << ref;
      }
    }
    ExpectBitEqual(reused.image_mask, want->image_mask, "image_mask");
    ExpectBitEqual(reused.input_ids, want->input_ids, "input_ids");
    ExpectBitEqual(reused.proprio, want->proprio, "proprio");
    ExpectBitEqual(reused.noise, want->noise, "noise");
  }
}

// ImageForm::kSourcePixels: when a batch's views share one size that Pillow resizes in one
// convolution call, the camera's bytes as they came plus Pillow's taps, which the backend's
// ResizePixels + NormalizePixels (the CPU reference here) turn into the reference planes bit
// for bit; otherwise (mixed sizes, views already at 224 x 224) the resized bytes, as kPixels.
// Calls alternate between the two forms into the same inputs, so every stale form must be
// cleared and absent slots re-zeroed.
TEST(PreprocessFastPath, XvlaCameraBytesResizeOnTheBackendToTheReferencePlanes) {
  const xvla::XvlaConfig cfg = xvla::XvlaFullConfig();
  const std::span<const uint8_t> json = EmbeddedAsset("tokenizers/xvla_tiny/tokenizer.json");
  Result<BpeTokenizer> tok = BpeTokenizer::FromJsonText(
      std::string_view(reinterpret_cast<const char*>(json.data()), json.size()));
  ASSERT_TRUE(tok.ok());
  const xvla::XvlaProcessor source_proc(cfg, std::move(*tok), XvlaImageConfig(), 0,
                                        ImageForm::kSourcePixels);
  const xvla::XvlaProcessor planes_proc = MakeXvlaProcessor(0);
  const std::unique_ptr<Backend> cpu = CreateCpuBackend();
  std::vector<std::vector<Image>> views = {
      {Demo("agentview.png"), Demo("wrist.png")},
      {RandomImage(256, 256, 11), RandomImage(224, 224, 12), RandomImage(100, 90, 13)},
      {RandomImage(480, 640, 14), RandomImage(480, 640, 15), RandomImage(480, 640, 16)},
      {RandomImage(224, 224, 17)},
  };
  std::vector<double> proprio(20, 0.25);
  struct Call {
    std::vector<xvla::XvlaRequest> batch;
    bool source;  // expected form
  };
  const std::vector<Call> calls = {
      {{{views[0], "open the drawer", proprio, 3}}, true},
      {{{views[1], "", proprio, 3}, {std::span<const Image>(views[0]).first(1), "a", proprio, 3}},
       false},
      {{{views[2], "stack", proprio, 3}, {std::span<const Image>(views[2]).first(2), "b", proprio, 3}},
       true},
      {{{views[3], "open the drawer", proprio, 3}}, false},
      {{{views[0], "open the drawer", proprio, 3}}, true},
  };
  const int64_t s = cfg.vision.image_size, v = cfg.num_views;
  xvla::XvlaInputs reused;
  for (size_t c = 0; c < calls.size(); ++c) {
    SCOPED_TRACE(::testing::Message() << "call " << c);
    const auto& batch = calls[c].batch;
    ASSERT_TRUE(source_proc.PrepareInto(batch, 10, nullptr, 7, nullptr, &reused).ok());
    Result<xvla::XvlaInputs> want = planes_proc.Prepare(batch, 10, nullptr, 7, nullptr);
    ASSERT_TRUE(want.ok());
    EXPECT_EQ(reused.images.data<void>(), nullptr);
    const int64_t b = static_cast<int64_t>(batch.size());
    ASSERT_EQ(reused.pixel_table.shape(), (Shape{3, 256}));
    HostTensor bytes(DType::kU8, {b, v, 3, s, s});  // what the model normalises
    if (calls[c].source) {
      ASSERT_NE(reused.source_pixels.data<void>(), nullptr);
      EXPECT_EQ(reused.pixels.data<void>(), nullptr);
      const int h = batch[0].images[0].height, w = batch[0].images[0].width;
      ASSERT_EQ(reused.source_pixels.shape(), (Shape{b, v, h, w, 3}));
      cpu->ResizePixels(reused.source_pixels.view().Reshape({b * v, h, w, 3}),
                        reused.resize_x.view(), reused.resize_y.view(),
                        bytes.view().Reshape({b * v, 3, s, s}));
    } else {
      ASSERT_NE(reused.pixels.data<void>(), nullptr);
      EXPECT_EQ(reused.source_pixels.data<void>(), nullptr);
      EXPECT_EQ(reused.resize_x.data<void>(), nullptr);
      ASSERT_EQ(reused.pixels.shape(), (Shape{b, v, 3, s, s}));
      std::memcpy(bytes.data<void>(), reused.pixels.data<void>(), bytes.nbytes());
    }
    HostTensor planes(DType::kF32, {b * v, 3, s, s});
    cpu->NormalizePixels(bytes.view().Reshape({b * v, 3, s, s}).Permute({0, 2, 3, 1}),
                         reused.pixel_table.view(), planes.view());
    for (int64_t k = 0; k < b * v; ++k) {
      if (want->image_mask.data<uint8_t>()[k] == 0) {  // absent: never encoded, kept zero
        if (calls[c].source) {
          const int64_t per = reused.source_pixels.numel() / (b * v);
          const uint8_t* slot = reused.source_pixels.data<uint8_t>() + k * per;
          EXPECT_EQ(std::count(slot, slot + per, 0), per) << "absent slot " << k << " not zero";
        }
        continue;
      }
      const float* got = planes.data<float>() + k * 3 * s * s;
      const float* ref = want->images.data<float>() + k * 3 * s * s;
      for (int64_t e = 0; e < 3 * s * s; ++e) {
        ASSERT_EQ(std::memcmp(&got[e], &ref[e], sizeof(float)), 0)
            << "view slot " << k << " element " << e << ": " << got[e] << ", reference " << ref[e];
      }
    }
    ExpectBitEqual(reused.image_mask, want->image_mask, "image_mask");
    ExpectBitEqual(reused.input_ids, want->input_ids, "input_ids");
    ExpectBitEqual(reused.noise, want->noise, "noise");
  }
}

// ---- pi0 ----

NormStats LiberoLikeStats() {
  NormStats s;
  s.label = "test stats";
  NormStatsEntry state, actions;
  for (int i = 0; i < 8; ++i) {
    state.mean.push_back(0.05 * i - 0.1);
    state.std.push_back(0.3 + 0.1 * i);
  }
  for (int i = 0; i < 7; ++i) {
    actions.mean.push_back(0.01 * i);
    actions.std.push_back(0.5 + 0.05 * i);
  }
  s.entries["state"] = state;
  s.entries["actions"] = actions;
  return s;
}

// Prepare before the fast path, from the reference pieces; noise = MakeNoise.
pi0::Pi0Inputs Pi0Reference(const pi0::Pi0Transforms& tf, const pi0::Pi0Config& cfg,
                            const SentencePieceTokenizer& sp,
                            std::span<const pi0::LiberoObservation> batch, uint64_t seed) {
  const int64_t b = static_cast<int64_t>(batch.size()), nv = cfg.num_views;
  const int64_t s = cfg.vision.image_size, lt = cfg.max_token_len, a = cfg.action_dim;
  pi0::Pi0Inputs in;
  in.steps = cfg.num_steps;
  in.images = HostTensor(DType::kF32, {b, nv, 3, s, s});
  in.image_mask = HostTensor(DType::kU8, {b, nv});
  in.tokens = HostTensor(DType::kI32, {b, lt});
  in.token_mask = HostTensor(DType::kU8, {b, lt});
  in.state = HostTensor(DType::kF64, {b, a});
  const int64_t per_image = 3 * s * s;
  for (int64_t i = 0; i < b; ++i) {
    float* img = in.images.data<float>() + i * nv * per_image;
    const ImageView views[2] = {batch[i].image, batch[i].wrist_image};
    for (int v = 0; v < 2; ++v) {
      const Tensor out =
          Tensor::Contiguous(img + v * per_image, DType::kF32, {3, s, s}, Device::kCpu);
      if (views[v].height == s && views[v].width == s) {
        EXPECT_TRUE(NormalizeOpenpi(views[v], ChannelLayout::kCHW, out).ok());
      } else {
        Result<Image> resized = ResizeWithPad(views[v], static_cast<int>(s), static_cast<int>(s));
        EXPECT_TRUE(resized.ok());
        EXPECT_TRUE(NormalizeOpenpi(resized->view(), ChannelLayout::kCHW, out).ok());
      }
    }
    for (int64_t j = 2 * per_image; j < nv * per_image; ++j) img[j] = -1.0f;
    for (int64_t v = 0; v < nv; ++v) in.image_mask.data<uint8_t>()[i * nv + v] = v < 2;
    Result<std::vector<double>> state = tf.NormalizeState(batch[i].state);
    EXPECT_TRUE(state.ok());
    std::memcpy(in.state.data<double>() + i * a, state->data(), a * sizeof(double));
    Result<PaligemmaPromptTokens> tok = TokenizePi0Prompt(sp, batch[i].prompt, static_cast<int>(lt));
    EXPECT_TRUE(tok.ok());
    for (int64_t j = 0; j < lt; ++j) {
      in.tokens.data<int32_t>()[i * lt + j] = tok->ids[j];
      in.token_mask.data<uint8_t>()[i * lt + j] = tok->mask[j] != 0;
    }
  }
  in.noise = pi0::MakeNoise(cfg, static_cast<int>(b), seed);
  return in;
}

TEST(PreprocessFastPath, Pi0EqualsReferenceAcrossCallsAndThreads) {
  const std::span<const uint8_t> bytes = EmbeddedAsset(pi0::kTinyTokenizerAsset);
  Result<SentencePieceTokenizer> sp = SentencePieceTokenizer::FromBytes(
      std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  ASSERT_TRUE(sp.ok());
  const pi0::Pi0Config cfg = pi0::Pi0FullConfig(false);
  // LIBERO clients send 224x224 (resize_with_pad of the 256x256 views); also off-size
  // pictures, which go through resize_with_pad here.
  std::vector<Image> pictures;
  for (const char* name : {"agentview.png", "wrist.png"}) {
    Result<Image> r = ResizeWithPad(Demo(name).view(), 224, 224);
    ASSERT_TRUE(r.ok());
    pictures.push_back(std::move(*r));
  }
  pictures.push_back(RandomImage(224, 224, 1));
  pictures.push_back(RandomImage(224, 224, 2));
  pictures.push_back(RandomImage(256, 256, 3));
  pictures.push_back(RandomImage(120, 200, 4));
  auto obs = [&](int a, int b, const char* prompt) {
    return pi0::LiberoObservation{pictures[a].view(), pictures[b].view(),
                                  {-0.05, 0.03, 0.78, 2.97, -0.09, -0.11, 0.026, -0.026}, prompt};
  };
  const char* libero = "put both the alphabet soup and the tomato sauce in the basket";
  const std::vector<std::vector<pi0::LiberoObservation>> calls = {
      {obs(0, 1, libero)},
      {obs(2, 3, libero), obs(4, 5, "open the drawer"), obs(0, 1, libero), obs(5, 2, "")},
      {obs(0, 1, libero)},
      {obs(1, 0, "open the drawer")},
  };
  for (int threads : {0, 3}) {
    SCOPED_TRACE(::testing::Message() << threads << " helper threads");
    Result<pi0::Pi0Transforms> tf = pi0::Pi0Transforms::Create(cfg, LiberoLikeStats(), threads);
    ASSERT_TRUE(tf.ok()) << tf.status().ToString();
    const pi0::PromptTokenizer tokenizer = pi0::SentencePiecePromptTokenizer(*sp);
    pi0::Pi0Prepared reused;
    for (size_t c = 0; c < calls.size(); ++c) {
      SCOPED_TRACE(::testing::Message() << "call " << c);
      const uint64_t seed = 7 + c;
      const pi0::Pi0Inputs want = Pi0Reference(*tf, cfg, *sp, calls[c], seed);
      ASSERT_TRUE(tf->PrepareInto(calls[c], tokenizer, seed, &reused).ok());
      const pi0::Pi0Inputs& got = reused.inputs;
      ExpectBitEqual(got.images, want.images, "images");
      ExpectBitEqual(got.image_mask, want.image_mask, "image_mask");
      ExpectBitEqual(got.tokens, want.tokens, "tokens");
      ExpectBitEqual(got.token_mask, want.token_mask, "token_mask");
      ExpectBitEqual(got.state, want.state, "state");
      ExpectBitEqual(got.noise, want.noise, "noise");
      EXPECT_EQ(got.steps, want.steps);
      Result<pi0::Pi0Prepared> fresh = tf->Prepare(calls[c], tokenizer);
      ASSERT_TRUE(fresh.ok());
      ExpectBitEqual(fresh->inputs.images, want.images, "images (Prepare)");
      EXPECT_EQ(fresh->inputs.noise.data<void>(), nullptr) << "Prepare leaves the noise to the caller";
    }
  }
}

TEST(PreprocessFastPath, Pi05CachedPromptTokensFollowTheState) {
  // pi0.5's discrete-state prompt depends on the state: the cache must not serve one
  // state's tokens for another.
  const std::span<const uint8_t> bytes = EmbeddedAsset(pi0::kTinyTokenizerAsset);
  Result<SentencePieceTokenizer> sp = SentencePieceTokenizer::FromBytes(
      std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  ASSERT_TRUE(sp.ok());
  const pi0::PromptTokenizer cached = pi0::SentencePiecePromptTokenizer(*sp, true);
  for (int round = 0; round < 2; ++round) {
    for (double x : {-0.5, 0.25, 0.9}) {
      const std::vector<double> state = {x, -x, 0.1};
      Result<PaligemmaPromptTokens> got = cached("open the drawer", state, 200);
      Result<PaligemmaPromptTokens> want = TokenizePi05Prompt(*sp, "open the drawer", state, 200);
      ASSERT_TRUE(got.ok() && want.ok());
      EXPECT_EQ(got->ids, want->ids) << "state " << x;
      EXPECT_EQ(got->mask, want->mask);
    }
  }
}

TEST(PreprocessFastPath, ChunkedNoiseEqualsRngNormal) {
  // Odd and even counts, more than one chunk, on a pool and on the caller.
  WorkerPool pool(2);
  for (int64_t n : {int64_t{1}, int64_t{2}, int64_t{255}, int64_t{600}, int64_t{1601}}) {
    const HostTensor want = ReferenceNoise(1, 1, n, 42 + n);
    std::vector<float> a(n), b(n);
    FillNormals(42 + n, a.data(), n, &pool);
    FillNormals(42 + n, b.data(), n, nullptr);
    EXPECT_EQ(std::memcmp(a.data(), want.data<float>(), n * sizeof(float)), 0) << n;
    EXPECT_EQ(std::memcmp(b.data(), want.data<float>(), n * sizeof(float)), 0) << n;
  }
}

}  // namespace
}  // namespace vlart
