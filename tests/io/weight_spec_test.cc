// SPDX-License-Identifier: Apache-2.0
//
// weight_spec_test.cc: CheckWeights, FormatReport and ToStatus on a small checkpoint.

#include "io/weight_spec.h"

#include <gtest/gtest.h>

#include "io/safetensors_writer.h"
#include "io_test_util.h"
#include "support/test_paths.h"

namespace vlart {
namespace {

using testing::FillFixture;

class WeightSpecTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::filesystem::path dir = testing::ScratchDir();
    HostTensor a = FillFixture(DType::kF32, {4, 4});
    HostTensor b = FillFixture(DType::kBF16, {1024, 512});
    HostTensor idx = FillFixture(DType::kI64, {3});
    HostTensor extra = FillFixture(DType::kF32, {1});
    ASSERT_TRUE(WriteSafetensors(dir / "model.safetensors", {{"a.weight", a.view()},
                                                             {"x.y.weight", b.view()},
                                                             {"idx", idx.view()},
                                                             {"extra", extra.view()}})
                    .ok());
    auto c = Checkpoint::Open(dir);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    ckpt_ = std::move(c).value();
  }
  std::unique_ptr<Checkpoint> ckpt_;
};

TEST_F(WeightSpecTest, AllGood) {
  const WeightReport r = CheckWeights(*ckpt_, {{"a.weight", {4, 4}, true},
                                               {"x.y.weight", {1024, 512}, true},
                                               {"extra", {1}, false},
                                               {"opt", {2}, false}});
  EXPECT_TRUE(r.usable());
  EXPECT_TRUE(r.ToStatus().ok());
  EXPECT_EQ(r.num_matched, 3);
  EXPECT_EQ(r.unexpected, std::vector<std::string>{"idx"});
  ASSERT_EQ(r.missing_optional.size(), 1u);
  EXPECT_EQ(r.missing_optional[0].name, "opt");
}

TEST_F(WeightSpecTest, ReportsEveryKindOfProblem) {
  const WeightReport r = CheckWeights(*ckpt_, {{"x.y.weight", {1024, 1024}, true},
                                               {"a.weight", {4, 4}, true},
                                               {"idx", {3}, true},
                                               {"gone", {7}, true},
                                               {"maybe", {2, 2}, false}});
  EXPECT_FALSE(r.usable());
  EXPECT_EQ(r.num_matched, 1);
  EXPECT_EQ(FormatReport(r),
            "weights: 1 of 5 expected tensors match; 1 shape mismatch, 1 missing required, 1 "
            "non-float, 1 missing optional, 1 unexpected\n"
            "tensor 'x.y.weight': expected [1024, 1024], got [1024, 512] (model.safetensors)\n"
            "tensor 'gone': expected [7], got nothing (missing, required)\n"
            "tensor 'idx': expected a float dtype (F32, F16, BF16, F64, F8_E4M3), got I64 "
            "(model.safetensors)\n"
            "tensor 'maybe': expected [2, 2], got nothing (missing, optional)\n"
            "tensor 'extra': unexpected (no model spec names it)\n");
  const Status st = r.ToStatus();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), StatusCode::kNotFound);
  EXPECT_EQ(st.message(),
            "checkpoint weights do not match the model: 1 shape mismatch, 1 missing required, 1 "
            "non-float\n"
            "tensor 'x.y.weight': expected [1024, 1024], got [1024, 512] (model.safetensors)\n"
            "tensor 'gone': expected [7], got nothing (missing, required)\n"
            "tensor 'idx': expected a float dtype (F32, F16, BF16, F64, F8_E4M3), got I64 "
            "(model.safetensors)");
}

TEST_F(WeightSpecTest, MismatchOnlyIsInvalidArgumentAndLinesAreBounded) {
  std::vector<WeightSpec> specs = {{"a.weight", {4, 5}, false}};
  for (int i = 0; i < 3; ++i) specs.push_back({"missing." + std::to_string(i), {1}, false});
  const WeightReport r = CheckWeights(*ckpt_, specs);
  EXPECT_FALSE(r.usable());  // an optional tensor present with a wrong shape still blocks
  EXPECT_EQ(r.ToStatus().code(), StatusCode::kInvalidArgument);
  const std::string text = FormatReport(r, 2);
  EXPECT_NE(text.find("tensor 'missing.1'"), std::string::npos);
  EXPECT_EQ(text.find("tensor 'missing.2'"), std::string::npos);
  EXPECT_NE(text.find("  ... and 1 more\n"), std::string::npos) << text;
}

}  // namespace
}  // namespace vlart
