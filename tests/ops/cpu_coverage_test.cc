// SPDX-License-Identifier: Apache-2.0
//
// cpu_coverage_test.cc: every Backend method has CPU tests.
//
// kMethodSuites lists each method of class Backend (ops/backend.h) with the GoogleTest
// suite that tests it on the CPU backend. The test fails when backend.h declares a
// method the list lacks (a new op without CPU tests), when the list names a method
// backend.h no longer has, or when a listed suite has no test in this binary.

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "support/test_paths.h"

namespace vlart::testing {
namespace {

const std::map<std::string, std::string>& MethodSuites() {
  static const std::map<std::string, std::string> kMethodSuites = {
      {"name", "CpuBackendIdentity"},
      {"device", "CpuBackendIdentity"},
      {"compute_dtype", "CpuBackendIdentity"},
      {"NewArena", "CpuArena"},
      {"Upload", "CpuUpload"},
      {"Download", "CpuDownload"},
      {"Synchronize", "CpuSynchronize"},
      {"Record", "CpuRecording"},
      {"NewStageClock", "CpuStageClock"},
      {"bytes_in_use", "CpuBackendIdentity"},
      {"Copy", "CpuCopy"},
      {"Fill", "CpuFill"},
      {"Prefetch", "CpuPrefetch"},
      {"Embedding", "CpuEmbedding"},
      {"NormalizePixels", "CpuNormalizePixels"},
      {"ResizePixels", "CpuResizePixels"},
      {"Add", "CpuAdd"},
      {"Mul", "CpuMul"},
      {"Axpby", "CpuAxpby"},
      {"Activate", "CpuActivate"},
      {"GatedActivation", "CpuGatedActivation"},
      {"MulAdd", "CpuMulAdd"},
      {"Linear", "CpuLinear"},
      {"DomainLinear", "CpuDomainLinear"},
      {"LinearResidualLayerNorm", "CpuLinearResidualLayerNorm"},
      {"GatedMlp", "CpuGatedMlp"},
      {"LayerNorm", "CpuLayerNorm"},
      {"RmsNorm", "CpuRmsNorm"},
      {"AdaRmsNorm", "CpuAdaRmsNorm"},
      {"MulAddAdaRmsNorm", "CpuMulAddAdaRmsNorm"},
      {"Softmax", "CpuSoftmax"},
      {"MeanOverTokens", "CpuMeanOverTokens"},
      {"Attention", "CpuAttention"},
      {"ChannelAttention", "CpuChannelAttention"},
      {"Rope", "CpuRope"},
      {"RopeQkv", "CpuRopeQkv"},
      {"Conv2d", "CpuConv2d"},
  };
  return kMethodSuites;
}

// Names of the virtual methods declared in class Backend's body in backend.h.
std::set<std::string> BackendMethods() {
  std::ifstream in(SourceDir() / "src" / "ops" / "backend.h");
  EXPECT_TRUE(in.good()) << "cannot read src/ops/backend.h";
  std::stringstream text;
  text << in.rdbuf();
  const std::string all = text.str();
  const size_t start = all.find("class Backend {");
  EXPECT_NE(start, std::string::npos) << "class Backend not found in backend.h";
  const size_t end = all.find("\n};", start);
  const std::string body = all.substr(start, end - start);
  std::set<std::string> names;
  const std::regex method(R"(virtual\s+[^;{]*?\b(\w+)\s*\()");
  for (auto it = std::sregex_iterator(body.begin(), body.end(), method);
       it != std::sregex_iterator(); ++it) {
    const std::string name = (*it)[1];
    if (name != "Backend") names.insert(name);  // skip the destructor
  }
  return names;
}

TEST(CpuCoverage, EveryBackendMethodHasCpuTests) {
  const std::set<std::string> declared = BackendMethods();
  ASSERT_GE(declared.size(), 20u) << "parsing backend.h found too few methods";
  for (const std::string& m : declared) {
    EXPECT_TRUE(MethodSuites().count(m)) << "Backend::" << m
                                         << " has no CPU test suite listed in kMethodSuites";
  }
  std::map<std::string, int> tests_per_suite;
  const ::testing::UnitTest& unit = *::testing::UnitTest::GetInstance();
  for (int i = 0; i < unit.total_test_suite_count(); ++i) {
    const ::testing::TestSuite& suite = *unit.GetTestSuite(i);
    tests_per_suite[suite.name()] += suite.total_test_count();
  }
  for (const auto& [method, suite] : MethodSuites()) {
    EXPECT_TRUE(declared.count(method)) << "kMethodSuites lists " << method
                                        << ", which backend.h does not declare";
    EXPECT_GT(tests_per_suite[suite], 0) << "Backend::" << method << ": suite " << suite
                                         << " has no tests in this binary";
  }
}

}  // namespace
}  // namespace vlart::testing
