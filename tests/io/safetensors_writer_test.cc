// SPDX-License-Identifier: Apache-2.0
//
// safetensors_writer_test.cc: WriteSafetensors must produce the exact bytes the Python
// safetensors package writes (tests/io/data/python_written.safetensors, from
// tools/make_io_fixtures.py) for the same tensors, given in a different order and
// partly as strided views; and what it writes must read back. The streamed variant
// (WriteSafetensorsStreamed: descriptors + fill callbacks) must write the same bytes,
// with one fill at a time and with several concurrent ones.

#include "io/safetensors_writer.h"

#include <gtest/gtest.h>

#include <cstring>

#include "io/safetensors.h"
#include "io_test_util.h"
#include "support/test_paths.h"

namespace vlart {
namespace {

using testing::FillFixture;
using testing::ReadFileBytes;
using testing::ScratchDir;
using testing::TestDataPath;

// The tensors of python_written.safetensors, rebuilt from the fixture formula.
struct WriterTensors {
  std::vector<HostTensor> storage;
  std::vector<std::pair<std::string, Tensor>> views;
};

WriterTensors MakeWriterTensors() {
  WriterTensors w;
  struct Spec {
    const char* name;
    DType dtype;
    Shape shape;
  };
  // Deliberately not in file order.
  const std::vector<Spec> specs = {
      {"mask", DType::kBool, {3}},    {"scalar", DType::kF32, {}},
      {"a.bias", DType::kF32, {5}},   {"emb", DType::kBF16, {2, 3}},
      {"half", DType::kF16, {3}},     {"dbl", DType::kF64, {2}},
      {"idx", DType::kI64, {3}},      {"i32", DType::kI32, {2, 2}},
      {"i16", DType::kI16, {3}},      {"i8", DType::kI8, {4}},
      {"u8", DType::kU8, {5}},        {"fp8", DType::kF8E4M3, {4}},
      {"empty", DType::kF32, {0, 4}}, {"odd \"name\"\\\t\xc3\xa9\x01", DType::kF16, {2}},
  };
  w.storage.reserve(specs.size() + 1);
  for (const Spec& s : specs) {
    w.storage.push_back(FillFixture(s.dtype, s.shape));
    w.views.emplace_back(s.name, w.storage.back().view());
  }
  // b.weight = base[3, 4].t(): passed as the strided transpose, not a copy.
  w.storage.push_back(FillFixture(DType::kF32, {3, 4}));
  w.views.emplace_back("b.weight", w.storage.back().view().Transpose(0, 1));
  return w;
}

TEST(SafetensorsWriter, ByteIdenticalToPythonSafetensors) {
  const WriterTensors w = MakeWriterTensors();
  ASSERT_FALSE(w.views.back().second.is_contiguous());
  const std::filesystem::path out = ScratchDir() / "ours.safetensors";
  const Status st = WriteSafetensors(out, w.views, {{"format", "pt"}});
  ASSERT_TRUE(st.ok()) << st.ToString();
  const std::string want = ReadFileBytes(TestDataPath("io/data/python_written.safetensors"));
  const std::string got = ReadFileBytes(out);
  ASSERT_FALSE(want.empty());
  EXPECT_EQ(got.size(), want.size());
  if (got != want) {
    size_t i = 0;
    while (i < got.size() && i < want.size() && got[i] == want[i]) ++i;
    ADD_FAILURE() << "first difference at byte " << i
                  << "\nours:   " << got.substr(8, std::min<size_t>(got.size(), 400))
                  << "\npython: " << want.substr(8, std::min<size_t>(want.size(), 400));
  }
}

TEST(SafetensorsWriter, HeaderLayout) {
  HostTensor a = FillFixture(DType::kF32, {2});
  HostTensor b = FillFixture(DType::kI64, {1});
  auto h = SafetensorsHeader({{"x", a.view()}, {"y", b.view()}}, {{"k2", "v"}, {"k1", "w"}});
  ASSERT_TRUE(h.ok());
  // I64 sorts before F32 (alignment rank), metadata keys sorted, padded with spaces to 8.
  const std::string json =
      R"({"__metadata__":{"k1":"w","k2":"v"},"y":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},)"
      R"("x":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})";
  EXPECT_EQ(*h, json + std::string((8 - json.size() % 8) % 8, ' '));
  auto empty = SafetensorsHeader({}, {});
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, "{}      ");
}

TEST(SafetensorsWriter, RoundTripsStridedViews) {
  HostTensor base = FillFixture(DType::kBF16, {4, 5, 6});
  // A permuted view (inner stride != 1) and a sliced one (inner stride 1, gaps between rows).
  const Tensor permuted = base.view().Permute({2, 0, 1});
  const Tensor sliced = base.view().Slice(2, 1, 4).Slice(0, 1, 3);
  const std::filesystem::path out = ScratchDir() / "strided.safetensors";
  ASSERT_TRUE(WriteSafetensors(out, {{"p", permuted}, {"s", sliced}}).ok());
  auto f = SafetensorsFile::Open(out);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  for (const auto& [name, view] : {std::pair{"p", permuted}, std::pair{"s", sliced}}) {
    SCOPED_TRACE(name);
    const TensorInfo* info = (*f)->Find(name);
    ASSERT_NE(info, nullptr);
    EXPECT_EQ(info->shape, view.shape);
    const HostTensor want = HostTensor::CopyOf(view);
    EXPECT_EQ(std::memcmp((*f)->View(*info).data, want.view().data, want.nbytes()), 0);
  }
  EXPECT_TRUE((*f)->metadata().empty());
}

TEST(SafetensorsWriter, ReplacesAnExistingFileAndLeavesNoTemporaries) {
  const std::filesystem::path dir = ScratchDir();
  const std::filesystem::path out = dir / "w.safetensors";
  HostTensor a = FillFixture(DType::kF32, {3});
  ASSERT_TRUE(WriteSafetensors(out, {{"a", a.view()}}).ok());
  ASSERT_TRUE(WriteSafetensors(out, {{"b", a.view()}}).ok());
  auto f = SafetensorsFile::Open(out);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ((*f)->Names(), std::vector<std::string>{"b"});
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), {}), 1);
}

TEST(SafetensorsWriter, RejectsBadInput) {
  HostTensor a = FillFixture(DType::kF32, {3});
  const std::filesystem::path out = ScratchDir() / "bad.safetensors";
  struct Case {
    std::vector<std::pair<std::string, Tensor>> tensors;
    std::map<std::string, std::string> metadata;
    const char* expect;
  };
  Tensor fp4 = a.view();
  fp4.dtype = DType::kFp4E2M1;
  Tensor on_gpu = a.view();
  on_gpu.device = Device::kCuda;
  const std::vector<Case> cases = {
      {{{"a", a.view()}, {"a", a.view()}}, {}, "tensor 'a': expected unique names, got it twice"},
      {{{"q", fp4}}, {}, "expected a safetensors dtype, got FP4_E2M1"},
      {{{"g", on_gpu}}, {}, "expected a CPU view, got cuda"},
      {{{"bad\xff", a.view()}}, {}, "expected a UTF-8 name"},
      {{{"__metadata__", a.view()}}, {}, "reserved"},
      {{{"a", a.view()}}, {{"k", "\xc3"}}, "metadata 'k': expected UTF-8"},
  };
  for (const Case& c : cases) {
    const Status st = WriteSafetensors(out, c.tensors, c.metadata);
    ASSERT_FALSE(st.ok()) << c.expect;
    EXPECT_NE(st.message().find(c.expect), std::string::npos) << st.ToString();
  }
  EXPECT_FALSE(std::filesystem::exists(out));
}

// The same tensors as descriptors whose fill copies the view's row-major bytes.
std::vector<StreamedTensor> Streamed(const WriterTensors& w, std::vector<HostTensor>* copies) {
  std::vector<StreamedTensor> out;
  copies->reserve(w.views.size());
  for (const auto& [name, view] : w.views) {
    copies->push_back(HostTensor::CopyOf(view));
    const HostTensor* src = &copies->back();
    out.push_back(StreamedTensor{name, view.shape, view.dtype, [src](std::span<std::byte> dst) {
                                   if (dst.size() != src->nbytes()) {
                                     return Internal("fill: {} bytes asked, {} held", dst.size(),
                                                     src->nbytes());
                                   }
                                   if (!dst.empty()) std::memcpy(dst.data(), src->view().data, dst.size());
                                   return Status::Ok();
                                 }});
  }
  return out;
}

TEST(SafetensorsWriter, StreamedIsByteIdenticalToPythonSafetensors) {
  const WriterTensors w = MakeWriterTensors();
  std::vector<HostTensor> copies;
  const std::vector<StreamedTensor> streamed = Streamed(w, &copies);
  const std::string want = ReadFileBytes(TestDataPath("io/data/python_written.safetensors"));
  ASSERT_FALSE(want.empty());
  for (int threads : {1, 3, 64}) {
    SCOPED_TRACE(threads);
    const std::filesystem::path out = ScratchDir() / "streamed.safetensors";
    const Status st = WriteSafetensorsStreamed(out, streamed, {{"format", "pt"}}, threads);
    ASSERT_TRUE(st.ok()) << st.ToString();
    EXPECT_TRUE(ReadFileBytes(out) == want);
  }
}

TEST(SafetensorsWriter, StreamedFillErrorsLeaveNoFile) {
  const std::filesystem::path dir = ScratchDir();
  const std::filesystem::path out = dir / "s.safetensors";
  int calls = 0;
  std::vector<StreamedTensor> tensors;
  for (const char* name : {"a", "b", "c"}) {
    tensors.push_back(StreamedTensor{name, {4}, DType::kF32, [&calls, name](std::span<std::byte> d) {
                                       ++calls;
                                       if (std::string_view(name) == "b") return DataLoss("no data");
                                       std::memset(d.data(), 0, d.size());
                                       return Status::Ok();
                                     }});
  }
  const Status st = WriteSafetensorsStreamed(out, tensors);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("tensor 'b'"), std::string::npos) << st.ToString();
  EXPECT_NE(st.message().find("no data"), std::string::npos) << st.ToString();
  EXPECT_EQ(calls, 2);  // one at a time, in file order: c is never filled
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), {}), 0);
  tensors[0].fill = nullptr;
  const Status none = WriteSafetensorsStreamed(out, tensors);
  EXPECT_NE(none.message().find("tensor 'a': expected a fill function"), std::string::npos)
      << none.ToString();
}

TEST(SafetensorsWriter, MissingFolderIsAnError) {
  HostTensor a = FillFixture(DType::kF32, {3});
  const Status st =
      WriteSafetensors(ScratchDir() / "no" / "such" / "x.safetensors", {{"a", a.view()}});
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("cannot create a temporary file"), std::string::npos)
      << st.ToString();
}

}  // namespace
}  // namespace vlart
