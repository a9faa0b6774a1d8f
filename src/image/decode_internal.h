// SPDX-License-Identifier: Apache-2.0
//
// decode_internal.h: the per-format decoders behind DecodeImageBytes (decode.cc).
// Each takes a buffer whose signature decode.cc already recognised, and labels its
// errors "decoding image: <name>: ...".
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "core/status.h"
#include "image/decode.h"
#include "image/image.h"

namespace vlart::image_internal {

Result<Image> DecodePng(std::span<const uint8_t> bytes, std::string_view name,
                        const DecodeOptions& options);
Result<Image> DecodeJpeg(std::span<const uint8_t> bytes, std::string_view name,
                         const DecodeOptions& options);

}  // namespace vlart::image_internal
