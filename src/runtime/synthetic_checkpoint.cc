// SPDX-License-Identifier: Apache-2.0
//
// synthetic_checkpoint.cc: see the header.

#include "runtime/synthetic_checkpoint.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <map>
#include <thread>
#include <utility>
#include <vector>

#include "core/float_convert.h"
#include "io/safetensors_writer.h"
#include "models/pi0/pi0_config.h"
#include "models/pi0/pi0_synthetic.h"
#include "models/xvla/xvla_config.h"
#include "models/xvla/xvla_synthetic.h"
#include "text/bpe_tokenizer.h"
#include "text/embedded_assets.h"

namespace vlart {
namespace {

constexpr std::string_view kXvlaTokenizer = "tokenizers/xvla_tiny/tokenizer.json";

// The released X-VLA preprocessor_config.json (spec: CLIPImageProcessor, 224x224
// bicubic, no crop, 1/255, ImageNet mean/std).
constexpr std::string_view kXvlaPreprocessorConfig = R"({
  "crop_size": {"height": 224, "width": 224},
  "do_center_crop": false,
  "do_convert_rgb": null,
  "do_normalize": true,
  "do_rescale": true,
  "do_resize": true,
  "image_mean": [0.485, 0.456, 0.406],
  "image_processor_type": "CLIPImageProcessor",
  "image_std": [0.229, 0.224, 0.225],
  "resample": 3,
  "rescale_factor": 0.00392156862745098,
  "size": {"height": 224, "width": 224}
}
)";

Status WriteText(const std::filesystem::path& path, std::string_view text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) return InvalidArgument("make-synthetic: cannot write '{}'", path.string());
  f.write(text.data(), static_cast<std::streamsize>(text.size()));
  if (!f) return DataLoss("make-synthetic: writing '{}' failed (disk full?)", path.string());
  return Status::Ok();
}

Status WriteProvenance(const SyntheticSpec& spec, const std::filesystem::path& dir) {
  const std::string provenance = fmt::format(
      "{{\n  \"generator\": \"vlart make-synthetic\",\n  \"arch\": \"{}\",\n  \"size\": \"{}\",\n"
      "  \"seed\": {},\n  \"note\": \"random weights with the real names and shapes; not a "
      "trained policy\"\n}}\n",
      spec.arch, spec.size, spec.seed);
  return WriteText(dir / "vlart_synthetic.json", provenance);
}

Status WriteXvla(const SyntheticSpec& spec, const std::filesystem::path& dir,
                 const std::function<void(std::string_view)>& progress) {
  const std::span<const uint8_t> tok_bytes = EmbeddedAsset(kXvlaTokenizer);
  if (tok_bytes.empty()) return Internal("make-synthetic: embedded asset {} missing", kXvlaTokenizer);
  VLART_ASSIGN_OR_RETURN(const BpeTokenizer tok,
                         BpeTokenizer::FromJsonText(std::string_view(
                             reinterpret_cast<const char*>(tok_bytes.data()), tok_bytes.size())));
  xvla::XvlaConfig cfg;
  if (spec.size == "full") {
    cfg = xvla::XvlaFullConfig();
  } else if (spec.size == "tiny") {
    cfg = xvla::XvlaTinyConfig(static_cast<int>(tok.VocabSize()));
  } else {
    return InvalidArgument("make-synthetic: --size: expected tiny or full, got '{}'", spec.size);
  }
  VLART_TRY(WriteText(dir / "config.json", xvla::XvlaConfigToJson(cfg)));
  if (progress) progress("config.json");
  VLART_TRY(WriteEmbeddedAsset(kXvlaTokenizer, dir / "tokenizer.json"));
  if (progress) progress("tokenizer.json");
  VLART_TRY(WriteText(dir / "preprocessor_config.json", kXvlaPreprocessorConfig));
  if (progress) progress("preprocessor_config.json");

  const auto weights = xvla::MakeSyntheticXvlaWeights(cfg, spec.seed);
  std::vector<std::pair<std::string, Tensor>> views;
  int64_t params = 0;
  for (const auto& [name, t] : weights) {
    views.emplace_back(name, t.view());
    params += t.numel();
  }
  const std::map<std::string, std::string> meta = {
      {"format", "pt"},
  };
  VLART_TRY(WriteSafetensors(dir / "model.safetensors", views, meta));
  if (progress) {
    progress(fmt::format("model.safetensors ({} tensors, {} parameters, f32)", views.size(), params));
  }
  return WriteProvenance(spec, dir);
}

// pi0 / pi0.5 in openpi's converted layout: config.json (five keys, + vlart_tiny_arch for
// tiny), model.safetensors in bf16 (openpi's converter casts the whole model with
// `.to(torch.bfloat16)` before save_model), the norm stats under openpi's assets path,
// and the embedded tiny SentencePiece model as tokenizer.model (openpi checkpoints carry
// no tokenizer; Pi0Policy looks for DIR/tokenizer.model first). The weights are streamed:
// tensor by tensor, on all cores, so the 3.5B-parameter model (7 GB) is never in memory.
Status WritePi0(const SyntheticSpec& spec, const std::filesystem::path& dir,
                const std::function<void(std::string_view)>& progress) {
  const bool pi05 = spec.arch == "pi05";
  pi0::Pi0Config cfg;
  if (spec.size == "full") {
    cfg = pi0::Pi0FullConfig(pi05);
  } else if (spec.size == "tiny") {
    cfg = pi0::Pi0TinyConfig(pi05, pi0::kTinyTokenizerVocab);
  } else {
    return InvalidArgument("make-synthetic: --size: expected tiny or full, got '{}'", spec.size);
  }
  VLART_TRY(WriteText(dir / "config.json", pi0::Pi0ConfigToJson(cfg, "bfloat16")));
  if (progress) progress("config.json");
  VLART_TRY(WriteEmbeddedAsset(pi0::kTinyTokenizerAsset, dir / "tokenizer.model"));
  if (progress) progress("tokenizer.model (vlart's tiny SentencePiece model, not PaliGemma's)");
  const std::filesystem::path stats = dir / pi0::kLiberoNormStatsPath;
  std::error_code ec;
  std::filesystem::create_directories(stats.parent_path(), ec);
  if (ec) {
    return InvalidArgument("make-synthetic: cannot create '{}': {}", stats.parent_path().string(),
                           ec.message());
  }
  VLART_TRY(WriteText(stats, pi0::SyntheticPi0NormStatsJson()));
  if (progress) progress(pi0::kLiberoNormStatsPath);

  std::vector<StreamedTensor> tensors;
  int64_t params = 0;
  for (const auto& [name, shape] : pi0::SyntheticPi0TensorList(cfg)) {
    params += shape.numel();
    const uint64_t seed = spec.seed;
    tensors.push_back(StreamedTensor{
        name, shape, DType::kBF16,
        [name = name, shape = shape, &cfg, seed](std::span<std::byte> dst) -> Status {
          const HostTensor t = pi0::MakeSyntheticPi0Tensor(name, shape, cfg, seed);
          if (dst.size() != static_cast<size_t>(t.numel()) * 2) {
            return Internal("make-synthetic: {} bytes for {} values", dst.size(), t.numel());
          }
          const float* src = t.data<float>();
          for (int64_t i = 0; i < t.numel(); ++i) {
            const uint16_t bits = F32ToBF16Bits(src[i]);
            std::memcpy(dst.data() + 2 * i, &bits, 2);
          }
          return Status::Ok();
        }});
  }
  const int threads = static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 32u));
  VLART_TRY(WriteSafetensorsStreamed(dir / "model.safetensors", tensors, {{"format", "pt"}},
                                     threads));
  if (progress) {
    progress(fmt::format("model.safetensors ({} tensors, {} parameters, bf16)", tensors.size(),
                         params));
  }
  return WriteProvenance(spec, dir);
}

}  // namespace

Status WriteSyntheticCheckpoint(const SyntheticSpec& spec, const std::filesystem::path& dir,
                                const std::function<void(std::string_view)>& progress) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return InvalidArgument("make-synthetic: cannot create '{}': {}", dir.string(), ec.message());
  }
  if (spec.arch == "xvla") return WriteXvla(spec, dir, progress);
  if (spec.arch == "pi0" || spec.arch == "pi05") return WritePi0(spec, dir, progress);
  return InvalidArgument("make-synthetic: --arch: expected xvla, pi0 or pi05, got '{}'", spec.arch);
}

}  // namespace vlart
