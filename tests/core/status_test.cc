// SPDX-License-Identifier: Apache-2.0
//
// status_test.cc: Status / Result plumbing and the message shape.

#include <gtest/gtest.h>

#include "core/status.h"

namespace vlart {
namespace {

Result<int> ParsePositive(int v) {
  if (v <= 0) return InvalidArgument("value: expected > 0, got {}", v);
  return v;
}

Status UsesTry(int v) {
  VLART_ASSIGN_OR_RETURN(const int x, ParsePositive(v));
  if (x > 10) return InvalidArgument("value: expected <= 10, got {}", x);
  return Status::Ok();
}

TEST(Status, ResultCarriesValueOrError) {
  EXPECT_TRUE(ParsePositive(3).ok());
  EXPECT_EQ(*ParsePositive(3), 3);
  const Result<int> bad = ParsePositive(-1);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message(), "value: expected > 0, got -1");
}

TEST(Status, MacrosPropagate) {
  EXPECT_TRUE(UsesTry(5).ok());
  EXPECT_EQ(UsesTry(-2).message(), "value: expected > 0, got -2");
  EXPECT_EQ(UsesTry(11).message(), "value: expected <= 10, got 11");
}

TEST(Status, ContextIsPrepended) {
  const Status s = NotFound("tensor 'a.b': not in checkpoint").WithContext("model.safetensors");
  EXPECT_EQ(s.message(), "model.safetensors: tensor 'a.b': not in checkpoint");
  EXPECT_TRUE(Status::Ok().WithContext("x").ok());
}

}  // namespace
}  // namespace vlart
