// SPDX-License-Identifier: Apache-2.0
//
// test_main.cc: the gtest main shared by every vlart test binary.

#include <gtest/gtest.h>

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
