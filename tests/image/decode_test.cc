// SPDX-License-Identifier: Apache-2.0
//
// decode_test.cc: PNG/JPEG decoding equals Pillow's np.asarray(Image.open(f).convert("RGB"))
// byte for byte on every fixture, and every bad file is refused with the right Status.

#include "image/decode.h"

#include <gtest/gtest.h>

#include <string>

#include "fixture_util.h"
#include "support/test_paths.h"

namespace vlart {
namespace {

using testing::CountMismatches;
using testing::ImageFixtureIndex;
using testing::ImageFixturePath;
using testing::ReadFileBytes;

TEST(Decode, MatchesPillowOnEveryFixture) {
  const auto& cases = ImageFixtureIndex()["decode"];
  ASSERT_GE(cases.size(), 30u);
  for (const auto& c : cases) {
    const std::string file = c["file"];
    SCOPED_TRACE(file + " (" + c["note"].get<std::string>() + ", Pillow mode " +
                 c["pillow_mode"].get<std::string>() + ")");
    const Result<Image> image = DecodeImageFile(ImageFixturePath(file));
    ASSERT_TRUE(image.ok()) << image.status().ToString();
    EXPECT_EQ(image->height, c["height"].get<int>());
    EXPECT_EQ(image->width, c["width"].get<int>());
    const std::vector<uint8_t> expected = ReadFileBytes(ImageFixturePath(c["expected"]));
    EXPECT_EQ(CountMismatches(image->rgb, expected), 0u);
  }
}

TEST(Decode, MemoryAndFileAgree) {
  for (const char* file : {"decode/rgb8_interlaced.png", "decode/q90_420.jpg"}) {
    const std::vector<uint8_t> bytes = ReadFileBytes(ImageFixturePath(file));
    const Result<Image> from_memory = DecodeImageBytes(bytes, file);
    const Result<Image> from_file = DecodeImageFile(ImageFixturePath(file));
    ASSERT_TRUE(from_memory.ok()) << from_memory.status().ToString();
    ASSERT_TRUE(from_file.ok()) << from_file.status().ToString();
    EXPECT_EQ(*from_memory, *from_file);
  }
}

StatusCode CodeFromName(const std::string& name) {
  if (name == "DataLoss") return StatusCode::kDataLoss;
  if (name == "InvalidArgument") return StatusCode::kInvalidArgument;
  if (name == "Unimplemented") return StatusCode::kUnimplemented;
  ADD_FAILURE() << "unknown status code name " << name;
  return StatusCode::kOk;
}

TEST(Decode, BadFilesAreRefusedWithAReason) {
  const auto& cases = ImageFixtureIndex()["bad"];
  ASSERT_GE(cases.size(), 10u);
  for (const auto& c : cases) {
    const std::string file = c["file"];
    SCOPED_TRACE(file + " (" + c["note"].get<std::string>() + ")");
    const std::string path = ImageFixturePath(file).string();
    const Result<Image> image = DecodeImageFile(path);
    ASSERT_FALSE(image.ok());
    EXPECT_EQ(image.status().code(), CodeFromName(c["code"])) << image.status().ToString();
    // "what failed: which file: expected ..., got ..."
    EXPECT_EQ(image.status().message().rfind("decoding image: " + path + ": expected", 0), 0u)
        << image.status().message();
  }
}

TEST(Decode, BombMessagesNameTheSize) {
  const Result<Image> png = DecodeImageFile(ImageFixturePath("bad/huge_100000x100000.png"));
  ASSERT_FALSE(png.ok());
  EXPECT_NE(png.status().message().find("100000x100000"), std::string::npos)
      << png.status().message();
  EXPECT_NE(png.status().message().find("at most 89478485 pixels"), std::string::npos);
  const Result<Image> jpg = DecodeImageFile(ImageFixturePath("bad/huge_60000x60000.jpg"));
  ASSERT_FALSE(jpg.ok());
  EXPECT_NE(jpg.status().message().find("60000x60000"), std::string::npos)
      << jpg.status().message();
}

TEST(Decode, TruncationIsReportedAsSuch) {
  for (const char* file :
       {"bad/truncated.png", "bad/truncated.jpg", "bad/truncated_progressive.jpg"}) {
    const Result<Image> image = DecodeImageFile(ImageFixturePath(file));
    ASSERT_FALSE(image.ok()) << file;
    EXPECT_NE(image.status().message().find("truncated"), std::string::npos)
        << image.status().message();
  }
}

TEST(Decode, MaxPixelsIsConfigurable) {
  DecodeOptions small;
  small.max_pixels = 23 * 17 - 1;  // one less than gray8.png (17x23)
  for (const char* file : {"decode/gray8.png", "decode/odd_37x61_420.jpg"}) {
    const Result<Image> refused = DecodeImageFile(ImageFixturePath(file), small);
    ASSERT_FALSE(refused.ok()) << file;
    EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  }
  small.max_pixels = 23 * 17;
  EXPECT_TRUE(DecodeImageFile(ImageFixturePath("decode/gray8.png"), small).ok());
}

TEST(Decode, MissingFileIsNotFound) {
  const Result<Image> image = DecodeImageFile(ImageFixturePath("decode/does_not_exist.png"));
  ASSERT_FALSE(image.ok());
  EXPECT_EQ(image.status().code(), StatusCode::kNotFound);
  EXPECT_NE(image.status().message().find("does_not_exist.png"), std::string::npos);
}

TEST(Decode, EveryPrefixOfAValidFileFailsCleanly) {
  // Cutting a file anywhere must give an error or (past the last pixel data, as in
  // Pillow) the full image, never a crash; ASan/valgrind runs of this test find leaks.
  for (const char* file : {"decode/rgb8_interlaced.png", "decode/q75_420_progressive.jpg"}) {
    const std::vector<uint8_t> bytes = ReadFileBytes(ImageFixturePath(file));
    const Result<Image> full = DecodeImageBytes(bytes, file);
    ASSERT_TRUE(full.ok());
    for (size_t n = 0; n < bytes.size(); n += 7) {
      const Result<Image> part = DecodeImageBytes(std::span(bytes).first(n), file);
      if (part.ok()) {
        EXPECT_EQ(*part, *full) << file << " cut at " << n;
      } else {
        EXPECT_NE(part.status().code(), StatusCode::kOk);
      }
    }
  }
}

TEST(Decode, SniffsFormats) {
  auto sniff = [](std::string_view s) {
    return SniffImageFormat(std::span(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
  };
  EXPECT_EQ(sniff("\x89PNG\r\n\x1a\nxxxx"), ImageFormat::kPng);
  EXPECT_EQ(sniff("\xff\xd8\xff\xe0"), ImageFormat::kJpeg);
  EXPECT_EQ(sniff("GIF89a"), ImageFormat::kGif);
  EXPECT_EQ(sniff(std::string_view("RIFF\0\0\0\0WEBPVP8 ", 16)), ImageFormat::kWebp);
  EXPECT_EQ(sniff(std::string_view("II*\0", 4)), ImageFormat::kTiff);
  EXPECT_EQ(sniff("BM"), ImageFormat::kBmp);
  EXPECT_EQ(sniff("\x89PN"), ImageFormat::kUnknown);
}

}  // namespace
}  // namespace vlart
