// SPDX-License-Identifier: Apache-2.0
//
// synthetic_checkpoint.cc: see the header.

#include "runtime/synthetic_checkpoint.h"

#include <fmt/format.h>

#include <fstream>
#include <map>
#include <utility>
#include <vector>

#include "io/safetensors_writer.h"
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
  const std::string provenance = fmt::format(
      "{{\n  \"generator\": \"vlart make-synthetic\",\n  \"arch\": \"{}\",\n  \"size\": \"{}\",\n"
      "  \"seed\": {},\n  \"note\": \"random weights with the real names and shapes; not a "
      "trained policy\"\n}}\n",
      spec.arch, spec.size, spec.seed);
  return WriteText(dir / "vlart_synthetic.json", provenance);
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
  if (spec.arch == "pi0" || spec.arch == "pi05") {
    return Unimplemented("make-synthetic: --arch {}: not available in this build yet", spec.arch);
  }
  return InvalidArgument("make-synthetic: --arch: expected xvla, pi0 or pi05, got '{}'", spec.arch);
}

}  // namespace vlart
