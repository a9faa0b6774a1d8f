// SPDX-License-Identifier: Apache-2.0
//
// pi0_test_util.cc: see pi0_test_util.h.

#include "pi0_test_util.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "models/pi0/pi0_weights.h"
#include "support/test_paths.h"

namespace vlart::testing {

Pi0Tiny LoadPi0Tiny(const std::string& name) {
  Pi0Tiny t;
  t.name = name;
  const auto dir = TestDataPath("golden/pi0/" + name);
  auto source = pi0::OpenPi0Checkpoint(dir);
  EXPECT_TRUE(source.ok()) << source.status().message();
  if (!source.ok()) return t;
  t.source = std::move(source).value();
  auto cfg = pi0::LoadPi0Config(dir, *t.source);
  EXPECT_TRUE(cfg.ok()) << cfg.status().message();
  if (cfg.ok()) t.cfg = *cfg;
  t.golden = std::make_unique<GoldenFile>((dir / "golden.safetensors").string());
  auto raw = SafetensorsFile::Open(dir / "golden.safetensors");
  EXPECT_TRUE(raw.ok()) << raw.status().message();
  if (raw.ok()) t.golden_raw = std::move(raw).value();
  return t;
}

HostTensor GoldenRaw(const Pi0Tiny& t, const std::string& name) {
  const TensorInfo* info = t.golden_raw->Find(name);
  VLART_CHECK(info != nullptr, "golden tensor '{}' missing", name);
  return HostTensor::CopyOf(t.golden_raw->View(*info));
}

pi0::Pi0Inputs GoldenModelInputs(const Pi0Tiny& t) {
  const GoldenFile& g = *t.golden;
  const pi0::Pi0Config& cfg = t.cfg;
  pi0::Pi0Inputs in;
  const HostTensor mask = g.U8("inputs.image_mask");
  const int64_t b = mask.shape()[0];
  const int64_t v = cfg.num_views;
  const int64_t s = cfg.vision.image_size;
  in.images = HostTensor(DType::kF32, {b, v, 3, s, s});
  for (int64_t i = 0; i < v; ++i) {
    const HostTensor img = g.F32("inputs.image" + std::to_string(i));  // [B, 3, S, S]
    for (int64_t j = 0; j < b; ++j) {
      std::memcpy(in.images.data<float>() + (j * v + i) * 3 * s * s,
                  img.data<float>() + j * 3 * s * s, 3 * s * s * sizeof(float));
    }
  }
  in.image_mask = HostTensor::CopyOf(mask.view());
  in.tokens = g.I32("inputs.tokens");
  in.token_mask = g.U8("inputs.token_mask");
  in.state = GoldenRaw(t, "inputs.state");
  in.noise = g.F32("noise");
  in.steps = std::stoi(g.Meta("num_steps"));
  return in;
}

pi0::Pi0Inputs GoldenPixelInputs(const Pi0Tiny& t) {
  pi0::Pi0Inputs in = GoldenModelInputs(t);
  const int64_t b = in.images.shape()[0], v = in.images.shape()[1], s = in.images.shape()[3];
  in.images = HostTensor();
  in.pixels = HostTensor(DType::kU8, {b, v, s, s, 3});
  std::memset(in.pixels.data<uint8_t>(), 0, in.pixels.nbytes());
  const HostTensor image = GoldenRaw(t, "raw.image");       // U8 [B, S, S, 3]
  const HostTensor wrist = GoldenRaw(t, "raw.wrist_image");  // U8 [B, S, S, 3]
  const int64_t per_image = s * s * 3;
  for (int64_t i = 0; i < b; ++i) {
    std::memcpy(in.pixels.data<uint8_t>() + (i * v + 0) * per_image,
                image.data<uint8_t>() + i * per_image, per_image);
    std::memcpy(in.pixels.data<uint8_t>() + (i * v + 1) * per_image,
                wrist.data<uint8_t>() + i * per_image, per_image);
  }
  return in;
}

RowPairs PrefixRowPairs(const pi0::Pi0Model::Plan& plan, const Pi0Tiny& t, bool all) {
  const HostTensor pad = t.golden->U8("prefix.pad_mask");
  const int64_t lp = pad.shape()[1];
  RowPairs pairs(plan.prefix_slots.size());
  for (size_t b = 0; b < plan.prefix_slots.size(); ++b) {
    for (size_t r = 0; r < plan.prefix_slots[b].size(); ++r) {
      const int s = plan.prefix_slots[b][r];
      if (s < 0) continue;
      if (all || pad.data<uint8_t>()[b * lp + s]) pairs[b].emplace_back(r, s);
    }
  }
  return pairs;
}

RowPairs RangePairs(int64_t batch, int64_t offset, int64_t goffset, int64_t n) {
  RowPairs pairs(batch);
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t r = 0; r < n; ++r) pairs[b].emplace_back(offset + r, goffset + r);
  }
  return pairs;
}

StageResult CompareRows(const std::string& golden_name, const std::string& ours_name,
                        const HostTensor& ours, const HostTensor& golden, const RowPairs& pairs) {
  StageResult r;
  r.golden = golden_name;
  r.ours = ours_name;
  const HostTensor a = HostTensor::ToF32(ours.view());
  const HostTensor g = HostTensor::ToF32(golden.view());
  const int64_t b = a.shape()[0];
  if (g.shape()[0] != b || static_cast<int64_t>(pairs.size()) != b) {
    ADD_FAILURE() << ours_name << " " << a.shape().ToString() << " vs " << golden_name << " "
                  << g.shape().ToString();
    return r;
  }
  const int64_t ra = a.shape()[1], rg = g.shape()[1];
  const int64_t inner = a.numel() / (b * ra);
  if (g.numel() / (b * rg) != inner) {
    ADD_FAILURE() << ours_name << " " << a.shape().ToString() << " vs " << golden_name << " "
                  << g.shape().ToString() << ": row sizes differ";
    return r;
  }
  bool nan = false;
  int64_t compared = 0;
  for (int64_t i = 0; i < b; ++i) {
    for (const auto& [ro, rgo] : pairs[i]) {
      const float* pa = a.data<float>() + (i * ra + ro) * inner;
      const float* pg = g.data<float>() + (i * rg + rgo) * inner;
      for (int64_t j = 0; j < inner; ++j) {
        const double x = pa[j], y = pg[j];
        if (std::isnan(x) || std::isnan(y)) nan = true;
        r.max_abs_diff = std::max(r.max_abs_diff, std::fabs(x - y));
        r.max_abs_ref = std::max(r.max_abs_ref, std::fabs(y));
        ++compared;
      }
    }
  }
  constexpr double kEps = std::numeric_limits<float>::epsilon();
  r.tolerance = kNoiseMultiple * 4.0 * kEps * r.max_abs_ref;
  r.ok = !nan && compared > 0 && r.max_abs_diff <= r.tolerance;
  if (nan) r.max_abs_diff = std::numeric_limits<double>::quiet_NaN();
  return r;
}

StageResult CompareAll(const std::string& golden_name, const std::string& ours_name,
                       const HostTensor& ours, const HostTensor& golden) {
  const int64_t b = golden.shape()[0];
  const int64_t per = golden.numel() / b;
  if (ours.numel() != golden.numel()) {
    ADD_FAILURE() << ours_name << " " << ours.shape().ToString() << " vs " << golden_name << " "
                  << golden.shape().ToString();
    return StageResult{ours_name, golden_name};
  }
  const HostTensor a = HostTensor::CopyOf(ours.view().Reshape({b, 1, per}));
  const HostTensor g = HostTensor::CopyOf(golden.view().Reshape({b, 1, per}));
  return CompareRows(golden_name, ours_name, a, g, RangePairs(b, 0, 0, 1));
}

bool BitEqual(const HostTensor& a, const HostTensor& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() &&
         std::memcmp(a.view().data, b.view().data, a.nbytes()) == 0;
}

double MaxAbsDiff(const HostTensor& a, const HostTensor& b) {
  const HostTensor x = HostTensor::ToF32(a.view());
  const HostTensor y = HostTensor::ToF32(b.view());
  VLART_CHECK(x.numel() == y.numel(), "MaxAbsDiff: {} vs {}", x.shape().ToString(),
              y.shape().ToString());
  double m = 0.0;
  for (int64_t i = 0; i < x.numel(); ++i) {
    m = std::max(m, std::fabs(static_cast<double>(x.data<float>()[i]) - y.data<float>()[i]));
  }
  return m;
}

pi0::Pi0Inputs Gather(const pi0::Pi0Inputs& in, const std::vector<int64_t>& which) {
  auto rows = [&](const HostTensor& t) {
    Shape shape = t.shape();
    shape[0] = static_cast<int64_t>(which.size());
    HostTensor out(t.dtype(), shape);
    const size_t row = t.nbytes() / t.shape()[0];
    for (size_t k = 0; k < which.size(); ++k) {
      std::memcpy(out.data<char>() + k * row, t.data<char>() + which[k] * row, row);
    }
    return out;
  };
  pi0::Pi0Inputs g;
  g.images = rows(in.images);
  g.image_mask = rows(in.image_mask);
  g.tokens = rows(in.tokens);
  g.token_mask = rows(in.token_mask);
  g.state = rows(in.state);
  g.noise = rows(in.noise);
  g.steps = in.steps;
  return g;
}

}  // namespace vlart::testing
