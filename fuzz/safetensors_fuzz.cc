// SPDX-License-Identifier: Apache-2.0
//
// safetensors_fuzz.cc: libFuzzer target for the safetensors parser.
//
// Any input must either fail with a non-empty message or open; an opened file must
// keep every view inside the input (every byte of every tensor is read, so ASan
// catches a stray view), convert its float tensors, and survive a round trip:
// written back with WriteSafetensors and reopened, it must hold the same names,
// dtypes, shapes, bytes and metadata, every tensor aligned. Any violation aborts
// (a fuzzer finding).

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "io/float_cast.h"
#include "io/safetensors.h"
#include "io/safetensors_writer.h"

namespace {

void Require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "safetensors_fuzz: invariant broken: %s\n", what);
    std::abort();
  }
}

const std::string& ScratchPath() {
  static const std::string path = "/tmp/vlart-safetensors-fuzz-" + std::to_string(::getpid());
  return path;
}

void RoundTrip(const vlart::SafetensorsFile& f) {
  std::vector<std::pair<std::string, vlart::Tensor>> views;
  for (const vlart::TensorInfo& t : f.tensors()) views.emplace_back(t.name, f.View(t));
  const vlart::Status st = vlart::WriteSafetensors(ScratchPath(), views, f.metadata());
  Require(st.ok(), "a file we read must be writable");
  auto again = vlart::SafetensorsFile::Open(ScratchPath());
  Require(again.ok(), "a file we wrote must be readable");
  const vlart::SafetensorsFile& g = **again;
  Require(g.metadata() == f.metadata(), "metadata survives the round trip");
  Require(g.tensors().size() == f.tensors().size(), "tensor count survives the round trip");
  for (size_t i = 0; i < f.tensors().size(); ++i) {
    const vlart::TensorInfo& a = f.tensors()[i];
    const vlart::TensorInfo& b = g.tensors()[i];
    Require(a.name == b.name && a.dtype == b.dtype && a.shape == b.shape && a.nbytes == b.nbytes,
            "tensor info survives the round trip");
    Require(a.nbytes == 0 || std::memcmp(f.Bytes(a).data(), g.Bytes(b).data(), a.nbytes) == 0,
            "tensor bytes survive the round trip");
  }
  ::unlink(ScratchPath().c_str());
  for (const vlart::TensorInfo& b : g.tensors()) {
    Require(g.IsAligned(b), "our writer aligns every tensor to its element size");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto f = vlart::SafetensorsFile::OpenFromMemory(
      std::span(reinterpret_cast<const std::byte*>(data), size), "fuzz");
  if (!f.ok()) {
    Require(!f.status().message().empty(), "errors carry a message");
    return 0;
  }
  uint64_t sum = 0;
  for (const vlart::TensorInfo& t : (*f)->tensors()) {
    Require((*f)->Find(t.name) == &t, "Find returns the listed tensor");
    const std::span<const std::byte> bytes = (*f)->Bytes(t);
    Require(bytes.data() >= reinterpret_cast<const std::byte*>(data) &&
                bytes.data() + bytes.size() <= reinterpret_cast<const std::byte*>(data) + size,
            "views stay inside the input");
    for (const std::byte b : bytes) sum += static_cast<uint8_t>(b);
    if (vlart::IsCastSupported(t.dtype, vlart::DType::kF32)) {
      std::vector<float> out(static_cast<size_t>(t.shape.numel()));
      vlart::CastFloats(bytes.data(), t.dtype, out.data(), vlart::DType::kF32, t.shape.numel());
      std::vector<uint16_t> half(out.size());
      vlart::CastFloats(out.data(), vlart::DType::kF32, half.data(), vlart::DType::kBF16,
                        t.shape.numel());
    }
  }
  if (sum == 0xdeadbeefdeadbeefULL) std::fprintf(stderr, "unlikely\n");  // keep the reads
  RoundTrip(**f);
  return 0;
}
