// SPDX-License-Identifier: Apache-2.0
//
// decode.h: PNG and JPEG files to 8-bit RGB, pixel-identical to Pillow's
// np.asarray(Image.open(f).convert("RGB")).
//
// PNG (libpng): every colour type and bit depth. Alpha and tRNS are dropped without
// compositing; 1/2/4-bit gray is scaled to 0..255 by bit replication; palette indices
// beyond the palette give black; 16-bit samples keep their high byte, except 16-bit
// gray, which Pillow opens as "I;16" and converts by clamping the value to 255. Gamma,
// colour profiles (iCCP/sRGB/cHRM) and sBIT are ignored, as Pillow ignores them.
// JPEG (libjpeg-turbo): Pillow's decoder settings (libjpeg defaults: ISLOW integer IDCT,
// fancy upsampling, block smoothing). Gray is replicated; 4-channel CMYK/YCCK is read
// as Adobe-inverted CMYK and converted with Pillow's r = 255 - c' - k' rule
// (cmyk2rgb). EXIF orientation is not applied (Image.open does not apply it either).
// JPEG pixels equal Pillow's when both libjpeg-turbo builds share the ISLOW IDCT and
// upsampling code: Debian 12's 2.1.5 and Pillow 12.3's bundled 3.1.4 agree byte for
// byte on every fixture (baseline/progressive, 4:2:0/4:2:2/4:4:4, odd sizes, gray,
// CMYK, restart markers); tests/image/decode_test.cc re-checks the linked library.
// As in Pillow, a JPEG that ends before its EOI marker is truncated (an error), while
// a PNG needs nothing after its image data (no IEND).
//
// Every failure is a Status naming the file: NotFound (cannot read), DataLoss (corrupt
// or truncated, incl. the library's own message), Unimplemented (a format vlart does
// not read: GIF, WebP, BMP, TIFF, ...; 2-channel JPEG), InvalidArgument (more than
// max_pixels: a decompression bomb). libpng/libjpeg errors are caught with their
// setjmp/longjmp protocol; no path leaks or aborts.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string_view>

#include "core/status.h"
#include "image/image.h"

namespace vlart {

struct DecodeOptions {
  // Images with more pixels are refused before any pixel memory is allocated.
  int64_t max_pixels = kDefaultMaxImagePixels;
};

enum class ImageFormat { kUnknown, kPng, kJpeg, kGif, kBmp, kWebp, kTiff };
std::string_view ImageFormatName(ImageFormat format);  // "PNG", "JPEG", ...
// Recognises a format from the first bytes (signature only; nothing is validated).
ImageFormat SniffImageFormat(std::span<const uint8_t> bytes);

// Decodes an encoded PNG or JPEG held in memory. `name` labels error messages.
Result<Image> DecodeImageBytes(std::span<const uint8_t> bytes, std::string_view name = "<memory>",
                               const DecodeOptions& options = {});

// Reads and decodes a PNG or JPEG file.
Result<Image> DecodeImageFile(const std::filesystem::path& path, const DecodeOptions& options = {});

}  // namespace vlart
