// SPDX-License-Identifier: Apache-2.0
//
// safetensors_test.cc: SafetensorsFile on valid input: a file written by the Python
// safetensors package, and in-memory headers for the accepted edge cases (which must
// agree with the reference reader: null metadata, unknown fields, any JSON order,
// zero-size and 0-dim tensors). Failure modes live in safetensors_corrupt_test.cc.

#include "io/safetensors.h"

#include <gtest/gtest.h>

#include <cstring>

#include "io_test_util.h"
#include "support/test_paths.h"

namespace vlart {
namespace {

using testing::FillFixture;
using testing::ReadFileBytes;
using testing::TestDataPath;

// 8-byte length + header (space-padded to 8 like the reference writer) + data.
std::string MakeFile(std::string header, const std::string& data) {
  header.resize((header.size() + 7) / 8 * 8, ' ');
  std::string out(8, '\0');
  const uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(n >> (8 * i));
  return out + header + data;
}

Result<std::unique_ptr<SafetensorsFile>> OpenBytes(const std::string& bytes) {
  return SafetensorsFile::OpenFromMemory(
      std::span(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()), "mem");
}

TEST(Safetensors, ReadsPythonWrittenFile) {
  auto file = SafetensorsFile::Open(TestDataPath("io/data/python_written.safetensors"));
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  const SafetensorsFile& f = **file;
  EXPECT_EQ(f.metadata(), (std::map<std::string, std::string>{{"format", "pt"}}));
  const std::vector<std::string> names = f.Names();
  EXPECT_EQ(names.size(), 15u);
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));

  struct Want {
    const char* name;
    DType dtype;
    Shape shape;
  };
  const std::vector<Want> wants = {
      {"a.bias", DType::kF32, {5}},   {"emb", DType::kBF16, {2, 3}},
      {"half", DType::kF16, {3}},     {"dbl", DType::kF64, {2}},
      {"idx", DType::kI64, {3}},      {"i32", DType::kI32, {2, 2}},
      {"i16", DType::kI16, {3}},      {"i8", DType::kI8, {4}},
      {"u8", DType::kU8, {5}},        {"mask", DType::kBool, {3}},
      {"fp8", DType::kF8E4M3, {4}},   {"scalar", DType::kF32, {}},
      {"empty", DType::kF32, {0, 4}}, {"odd \"name\"\\\t\xc3\xa9\x01", DType::kF16, {2}},
  };
  for (const Want& w : wants) {
    SCOPED_TRACE(w.name);
    const TensorInfo* info = f.Find(w.name);
    ASSERT_NE(info, nullptr);
    EXPECT_EQ(info->dtype, w.dtype);
    EXPECT_EQ(info->shape, w.shape);
    EXPECT_TRUE(f.IsAligned(*info));
    const HostTensor want = FillFixture(w.dtype, w.shape);
    ASSERT_EQ(info->nbytes, want.nbytes());
    const Tensor view = f.View(*info);
    EXPECT_EQ(view.shape, w.shape);
    EXPECT_TRUE(view.is_contiguous());
    if (want.nbytes() > 0) {
      EXPECT_EQ(std::memcmp(view.data, want.view().data, want.nbytes()), 0);
    }
  }
  // b.weight was stored as base[3, 4].t().contiguous(): element [r, c] = base[c, r].
  const TensorInfo* b = f.Find("b.weight");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->shape, Shape({4, 3}));
  const float* v = f.View(*b).data_as<const float>();
  for (int r = 0; r < 4; ++r) {
    for (int c = 0; c < 3; ++c) EXPECT_EQ(v[r * 3 + c], static_cast<float>(c * 4 + r - 7) * 0.25f);
  }
  EXPECT_EQ(f.Find("nope"), nullptr);
  EXPECT_EQ(f.Find(""), nullptr);
}

TEST(Safetensors, OpenFromMemoryMatchesOpen) {
  const std::string bytes = ReadFileBytes(TestDataPath("io/data/python_written.safetensors"));
  auto mem = OpenBytes(bytes);
  auto disk = SafetensorsFile::Open(TestDataPath("io/data/python_written.safetensors"));
  ASSERT_TRUE(mem.ok() && disk.ok());
  ASSERT_EQ((*mem)->tensors().size(), (*disk)->tensors().size());
  for (size_t i = 0; i < (*mem)->tensors().size(); ++i) {
    const TensorInfo& a = (*mem)->tensors()[i];
    const TensorInfo& b = (*disk)->tensors()[i];
    EXPECT_EQ(a.name, b.name);
    EXPECT_EQ(a.file_offset, b.file_offset);
    EXPECT_EQ(a.nbytes, b.nbytes);
  }
  EXPECT_EQ((*mem)->header_bytes(), (*disk)->header_bytes());
}

TEST(Safetensors, EmptyHeaderIsAValidEmptyFile) {
  auto f = OpenBytes(MakeFile("{}", ""));
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_TRUE((*f)->tensors().empty());
  EXPECT_TRUE((*f)->metadata().empty());
}

TEST(Safetensors, AcceptsWhatTheReferenceAccepts) {
  // Entries out of offset order, null metadata, an unknown field, a zero-size tensor
  // sitting between two others, a 0-dim tensor.
  const std::string header =
      R"({"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12],"extra":[1,{"x":2}]},)"
      R"("__metadata__":null,"z":{"dtype":"BF16","shape":[0,3],"data_offsets":[4,4]},)"
      R"("a":{"dtype":"F32","shape":[],"data_offsets":[0,4]},)"
      R"("c":{"dtype":"U8","shape":[4],"data_offsets":[12,16]}})";
  auto f = OpenBytes(MakeFile(header, std::string(16, '\x01')));
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ((*f)->Names(), (std::vector<std::string>{"a", "b", "c", "z"}));
  EXPECT_EQ((*f)->Find("a")->shape.size(), 0);
  EXPECT_EQ((*f)->Find("z")->nbytes, 0u);
  EXPECT_EQ((*f)->Find("c")->file_offset, 8 + (*f)->header_bytes() + 12);
}

TEST(Safetensors, UnpaddedHeaderIsReadAndAlignmentReported) {
  // No padding: the data section starts at an odd offset. Valid, but views are unaligned.
  const std::string header = R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
  std::string bytes(8, '\0');
  bytes[0] = static_cast<char>(header.size());
  bytes += header + std::string(4, '\0');
  ASSERT_NE((8 + header.size()) % 4, 0u);
  // Copy to a 64-byte aligned buffer so the data offset decides alignment.
  alignas(64) char buffer[256] = {};
  std::memcpy(buffer, bytes.data(), bytes.size());
  auto f = SafetensorsFile::OpenFromMemory(
      std::span(reinterpret_cast<const std::byte*>(buffer), bytes.size()), "mem");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_FALSE((*f)->IsAligned(*(*f)->Find("w")));
}

TEST(Safetensors, HeaderLengthLimitIsTheReferenceLimit) {
  // 100,000,000 is allowed if the file is long enough; one more is refused up front.
  std::string bytes(8, '\0');
  const uint64_t n = kMaxSafetensorsHeaderBytes + 1;
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>(n >> (8 * i));
  auto f = OpenBytes(bytes + "{}");
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("expected at most 100000000 bytes"), std::string::npos)
      << f.status().ToString();
}

TEST(Safetensors, ErrorsNameTheFile) {
  auto f = SafetensorsFile::Open(TestDataPath("io/corrupt/size_mismatch/model.safetensors"));
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(f.status().message().find("corrupt/size_mismatch/model.safetensors"),
            std::string::npos);
}

TEST(Safetensors, MissingFileIsNotFound) {
  auto f = SafetensorsFile::Open(TestDataPath("io/data/does_not_exist.safetensors"));
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), StatusCode::kNotFound);
  EXPECT_NE(f.status().message().find("file not found"), std::string::npos);
}

TEST(Safetensors, DirectoryIsRefused) {
  auto f = SafetensorsFile::Open(TestDataPath("io/data"));
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("expected a regular file, got a directory"),
            std::string::npos);
}

}  // namespace
}  // namespace vlart
