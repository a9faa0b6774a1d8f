// SPDX-License-Identifier: Apache-2.0
//
// gemm_tuning_file_test.cc: the GEMM tuning file's text (backends/cuda/gemm_tuning_file.h):
// GEMM and linear_norm picks survive a round trip, sections of several stamps share a file,
// version 1 files are still read, a file stamped for another GPU / cuBLASLt / build yields no
// picks, and every malformed line is refused with its line number. Host code only: runs
// without a GPU (label cpu) in CUDA builds.

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "backends/cuda/gemm_tuning_file.h"

namespace vlart::cuda {
namespace {

// One section's text, and the picks of the section stamped `expect` (`*stamp_matches` false and
// no picks when the file has none): the single-stamp view most cases need.
std::string FormatGemmTuning(const GemmTuningStamp& stamp, const GemmTuning& picks) {
  return FormatGemmTuningFile({GemmTuningSection{stamp, picks}});
}

Result<GemmTuning> ParseGemmTuning(std::string_view text, const GemmTuningStamp& expect,
                                   bool* stamp_matches) {
  VLART_ASSIGN_OR_RETURN(const std::vector<GemmTuningSection> sections, ParseGemmTuningFile(text));
  const GemmTuning* ours = FindGemmTuningSection(sections, expect);
  *stamp_matches = ours != nullptr;
  return ours != nullptr ? *ours : GemmTuning{};
}

GemmTuningStamp Stamp() {
  return GemmTuningStamp{"NVIDIA H100 80GB HBM3", 132, 130100, "df58e57"};
}

GemmTuning Picks() {
  GemmTuning picks;
  picks.gemm[GemmTuneKey{262, 3072, 1024, 2, true, 0, false, 0, true}] = GemmMmaConfig{-1, 1, 3, true, false};
  picks.gemm[GemmTuneKey{262, 4096, 1024, 2, true, 2, false, 0, true}] = GemmMmaConfig{-1, 1, 0, true, true};
  picks.gemm[GemmTuneKey{10, 8192, 1024, 2, false, 0, false, 0, true}] = GemmMmaConfig{9, 4, 0, false, false};
  picks.linear_norm[LinearNormKey{262, 1024, 4096, 2, true}] = LinearNormPick{2, 0};
  picks.linear_norm[LinearNormKey{1048, 1024, 1024, 2, true}] = LinearNormPick{0, 0};
  return picks;
}

TEST(GemmTuningFile, PicksSurviveARoundTrip) {
  const std::string text = FormatGemmTuning(Stamp(), Picks());
  bool matches = false;
  Result<GemmTuning> back = ParseGemmTuning(text, Stamp(), &matches);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_TRUE(matches);
  EXPECT_EQ(*back, Picks());
}

TEST(GemmTuningFile, AnotherStampYieldsNoPicks) {
  const std::string text = FormatGemmTuning(Stamp(), Picks());
  std::vector<GemmTuningStamp> others(4, Stamp());
  others[0].device = "NVIDIA H200";
  others[1].sms = 114;
  others[2].cublaslt_version = 130200;
  others[3].build = "a12a717";
  for (size_t i = 0; i < others.size(); ++i) {
    bool matches = true;
    Result<GemmTuning> back = ParseGemmTuning(text, others[i], &matches);
    ASSERT_TRUE(back.ok()) << back.status().message();
    EXPECT_FALSE(matches) << "stamp variant " << i;
    EXPECT_TRUE(back->empty()) << "stamp variant " << i;
  }
}

TEST(GemmTuningFile, MalformedFilesAreRefusedWithTheirLine) {
  const std::string head = "vlart-gemm-tuning 1\nstamp NVIDIA H100 80GB HBM3 | 132 | 130100 | df58e57\n";
  const std::string good = "262 3072 1024 2 1 0 0 0 1 -> -1 1 3 1 0\n";
  struct Case {
    std::string text;
    std::string want;  // a part of the error message
  };
  const Case cases[] = {
      {"", "the header is missing"},
      {"vlart-gemm-tuning 4\n", "line 1: expected 'vlart-gemm-tuning 3'"},
      {"vlart-gemm-tuning 1\n", "the stamp line is missing"},
      {"vlart-gemm-tuning 1\nstamp H100 | x | 1 | b\n", "line 2: expected 'stamp"},
      {"vlart-gemm-tuning 1\nstamp H100 | 132 | 1\n", "line 2: expected 'stamp"},
      {"vlart-gemm-tuning 1\n" + good, "line 2: expected 'stamp"},
      {head + "262 3072 1024 2 1 0 0 0 1 -1 1 3 1 0\n", "line 3: expected 9 integers, '->', 5 integers"},
      {head + "262 3072 1024 2 1 0 0 -> -1 1 3 1 0\n", "line 3: expected 9 integers"},
      {head + "262 3072 1024 2 1 0 0 0 1 -> -1 1 3 1\n", "line 3: expected 9 integers"},
      {head + "262 3072 x 2 1 0 0 0 1 -> -1 1 3 1 0\n", "line 3: expected 9 integers"},
      {head + "0 3072 1024 2 1 0 0 0 1 -> -1 1 3 1 0\n", "line 3: a value out of range"},
      {head + "262 3072 1024 2 7 0 0 0 1 -> -1 1 3 1 0\n", "line 3: a value out of range"},
      {head + "262 3072 1024 2 1 0 0 0 1 -> -1 0 3 1 0\n", "line 3: a value out of range"},
      {head + "262 3072 1024 2 1 0 0 0 1 -> -1 1 -3 1 0\n", "line 3: a value out of range"},
      {head + good + "# a comment\n" + good, "line 5: a second pick for the same GEMM key"},
      {head + "linear_norm 262 1024 4096 2 1 2 0\n", "line 3: expected 'linear_norm', 5 integers"},
      {head + "linear_norm 262 1024 4096 2 -> 2 0\n", "line 3: expected 'linear_norm', 5 integers"},
      {head + "linear_norm 262 1024 4096 2 1 -> 2\n", "line 3: expected 'linear_norm', 5 integers"},
      {head + "linear_norm 262 1024 4096 2 1 -> 2 0 0\n", "line 3: expected 'linear_norm', 5 integers"},
      {head + "linear_norm 262 1024 4096 2 2 -> 2 0\n", "line 3: a value out of range"},
      {head + "linear_norm 262 -1 4096 2 1 -> 2 0\n", "line 3: a value out of range"},
      {head + "linear_norm 262 1024 4096 2 1 -> -1 0\n", "line 3: a value out of range"},
      {head + "linear_norm 262 1024 4096 2 1 -> 2 0\nlinear_norm 262 1024 4096 2 1 -> 1 0\n",
       "line 4: a second pick for the same linear_norm key"},
      {head + "99999999999 3072 1024 2 1 0 0 0 1 -> -1 1 3 1 0\n", "line 3: expected 9 integers"},
  };
  for (const Case& c : cases) {
    bool matches = false;
    Result<GemmTuning> got = ParseGemmTuning(c.text, Stamp(), &matches);
    ASSERT_FALSE(got.ok()) << "accepted:\n" << c.text;
    EXPECT_NE(got.status().message().find(c.want), std::string::npos)
        << "message: " << got.status().message() << "\nwanted: " << c.want;
  }
  // Comments, blank lines and Windows line ends are fine.
  bool matches = false;
  Result<GemmTuning> ok = ParseGemmTuning("# made by hand\r\n\r\n" + head + good, Stamp(), &matches);
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_TRUE(matches);
  EXPECT_EQ(ok->gemm.size(), 1u);
}

// A file holds one section per stamp: each process reads its own, and a file whose sections
// are all another GPU's or build's gives no picks.
TEST(GemmTuningFile, SectionsOfSeveralStampsLiveInOneFile) {
  GemmTuningStamp h200 = Stamp();
  h200.device = "NVIDIA H200";
  h200.sms = 132;
  GemmTuning other;
  other.gemm[GemmTuneKey{50, 2560, 1024, 2, false, 0, false, 0, true}] = GemmMmaConfig{-1, 1, 2, false, false};
  const std::vector<GemmTuningSection> sections = {{Stamp(), Picks()}, {h200, other}};
  const std::string text = FormatGemmTuningFile(sections);
  Result<std::vector<GemmTuningSection>> back = ParseGemmTuningFile(text);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(*back, sections);
  bool matches = false;
  Result<GemmTuning> mine = ParseGemmTuning(text, h200, &matches);
  ASSERT_TRUE(mine.ok()) << mine.status().message();
  EXPECT_TRUE(matches);
  EXPECT_EQ(*mine, other);
  GemmTuningStamp b200 = Stamp();
  b200.device = "NVIDIA B200";
  Result<GemmTuning> none = ParseGemmTuning(text, b200, &matches);
  ASSERT_TRUE(none.ok()) << none.status().message();
  EXPECT_FALSE(matches);
  EXPECT_TRUE(none->empty());
  // The same stamp twice is refused; so is a malformed line in a section that is not ours.
  Result<GemmTuning> twice =
      ParseGemmTuning(FormatGemmTuningFile({{Stamp(), Picks()}, {Stamp(), other}}), h200, &matches);
  ASSERT_FALSE(twice.ok());
  EXPECT_NE(twice.status().message().find("a second section for the same stamp"), std::string::npos)
      << twice.status().message();
  Result<GemmTuning> broken = ParseGemmTuning(text + "1 2 3\n", Stamp(), &matches);
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.status().message().find("expected 9 integers"), std::string::npos)
      << broken.status().message();
}

// A version 1 file (GEMM lines only, before the linear_norm lines) is still read.
TEST(GemmTuningFile, AVersionOneFileIsStillRead) {
  const std::string v1 = "vlart-gemm-tuning 1\nstamp NVIDIA H100 80GB HBM3 | 132 | 130100 | df58e57\n"
                         "262 3072 1024 2 1 0 0 0 1 -> -1 1 3 1 0\n";
  bool matches = false;
  Result<GemmTuning> got = ParseGemmTuning(v1, Stamp(), &matches);
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_TRUE(matches);
  EXPECT_EQ(got->gemm.size(), 1u);
  EXPECT_TRUE(got->linear_norm.empty());
}

// Not a libFuzzer target (the parser lives in the CUDA backend, which the clang fuzz build
// does not compile): 20000 random mutations of a good file (byte flips, insertions,
// truncations), each parsed to an error or to picks, never a crash; a parse that succeeds
// must round-trip.
TEST(GemmTuningFile, RandomMutationsParseOrFailCleanly) {
  const std::string good = FormatGemmTuning(Stamp(), Picks());
  std::mt19937_64 rng(20261124);
  const std::string alphabet = "0123456789 -|>#\n\rxvlartgemm_no";
  int parsed = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string text = good;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !text.empty(); ++e) {
      const size_t at = rng() % text.size();
      switch (rng() % 4) {
        case 0: text[at] = alphabet[rng() % alphabet.size()]; break;
        case 1: text.insert(at, 1, alphabet[rng() % alphabet.size()]); break;
        case 2: text.erase(at, 1 + rng() % 8); break;
        default: text.resize(at); break;
      }
    }
    bool matches = false;
    Result<GemmTuning> got = ParseGemmTuning(text, Stamp(), &matches);
    if (!got.ok()) continue;
    ++parsed;
    bool again = false;
    Result<GemmTuning> back = ParseGemmTuning(FormatGemmTuning(Stamp(), *got), Stamp(), &again);
    ASSERT_TRUE(back.ok()) << back.status().message();
    if (matches) {
      EXPECT_EQ(*back, *got);
    }
  }
  EXPECT_GT(parsed, 0) << "some mutations (comments, whitespace, values) stay valid";
}

}  // namespace
}  // namespace vlart::cuda
