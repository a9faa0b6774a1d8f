// SPDX-License-Identifier: Apache-2.0
//
// test_paths.cc: test data and scratch locations.

#include "support/test_paths.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>

namespace vlart::testing {

std::filesystem::path SourceDir() {
  if (const char* env = std::getenv("VLART_SOURCE_DIR"); env != nullptr && *env != '\0') {
    return env;
  }
  return VLART_TEST_SOURCE_DIR;
}

std::filesystem::path TestDataPath(const std::string& relative) {
  return SourceDir() / "tests" / relative;
}

std::filesystem::path ScratchDir() {
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = info ? std::string(info->test_suite_name()) + "." + info->name() : "scratch";
  for (char& c : name) {
    if (c == '/') c = '_';
  }
  const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                    ("vlart-test-" + std::to_string(::getpid())) / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace vlart::testing
