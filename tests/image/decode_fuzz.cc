// SPDX-License-Identifier: Apache-2.0
//
// decode_fuzz.cc: libFuzzer target for DecodeImageBytes (PNG/JPEG from untrusted
// bytes, as the policy server receives them). Any crash, leak or sanitizer report is
// a bug; errors are fine. Decoded images are also resized and normalised so that
// odd sizes reach the X-VLA preprocessing path. Seeds: tests/image/fixtures/decode.
//   cmake -S . -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++-14 \
//         -DCMAKE_C_COMPILER=clang-14 -DVLART_BUILD_FUZZERS=ON -DVLART_CUDA=OFF
//   cmake --build build-fuzz --target image_decode_fuzz
//   build-fuzz/tests/image/image_decode_fuzz -max_total_time=60 tests/image/fixtures/decode

#include <cstddef>
#include <cstdint>
#include <span>

#include "image/decode.h"
#include "image/normalize.h"
#include "image/resample.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  vlart::DecodeOptions options;
  options.max_pixels = 1 << 22;  // keep each input fast; the limit itself is tested elsewhere
  const vlart::Result<vlart::Image> image =
      vlart::DecodeImageBytes(std::span(data, size), "fuzz", options);
  if (!image.ok()) return 0;
  const vlart::Result<vlart::Image> resized =
      vlart::ResizeImage(image->view(), 224, 224, vlart::ResampleFilter::kBicubic);
  if (resized.ok()) (void)vlart::NormalizeClip(resized->view(), vlart::ClipNormalization{});
  return 0;
}
