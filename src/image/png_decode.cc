// SPDX-License-Identifier: Apache-2.0
//
// png_decode.cc: PNG -> RGB with libpng, converting samples the way Pillow's
// Image.open(f).convert("RGB") does (decode.h lists the rules).
//
// libpng reports errors by longjmp. Everything that owns memory lives in PngReader,
// which outlives the setjmp frames, and the functions that call setjmp create no C++
// objects with destructors, so a longjmp skips no destructor and leaks nothing.
// libpng transforms are limited to unpacking sub-byte samples and de-interlacing;
// every colour conversion is done here, in one place, by Pillow's rules.

#include <png.h>

#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <vector>

#include "image/decode_internal.h"

namespace vlart::image_internal {
namespace {

struct PngReader {
  std::span<const uint8_t> bytes;
  size_t offset = 0;
  char error[256] = {};  // libpng's message when a call failed
  png_structp png = nullptr;
  png_infop info = nullptr;
  // From IHDR.
  png_uint_32 width = 0, height = 0;
  int bit_depth = 0, color_type = 0, interlace = 0;
  int passes = 1;
  size_t row_bytes = 0;
  uint8_t palette[256][3] = {};  // zero-padded: indices past the PLTE give black, as in Pillow

  ~PngReader() {
    if (png != nullptr) png_destroy_read_struct(&png, info != nullptr ? &info : nullptr, nullptr);
  }
};

void PngError(png_structp png, png_const_charp message) {
  auto* r = static_cast<PngReader*>(png_get_error_ptr(png));
  std::snprintf(r->error, sizeof(r->error), "%s", message != nullptr ? message : "unknown error");
  png_longjmp(png, 1);
}

void PngWarning(png_structp, png_const_charp) {}  // benign; Pillow ignores them too

void PngRead(png_structp png, png_bytep out, size_t n) {
  auto* r = static_cast<PngReader*>(png_get_io_ptr(png));
  if (n > r->bytes.size() - r->offset) {
    png_error(png, "unexpected end of data (file truncated?)");
  }
  std::memcpy(out, r->bytes.data() + r->offset, n);
  r->offset += n;
}

// Reads IHDR and the chunks before the image data. False after a libpng error.
bool ReadHeader(PngReader& r) {
  if (setjmp(png_jmpbuf(r.png))) return false;
  png_set_read_fn(r.png, &r, PngRead);
  // libpng's default limit is 1e6 per side; vlart limits the pixel count instead.
  png_set_user_limits(r.png, PNG_UINT_31_MAX, PNG_UINT_31_MAX);
  png_read_info(r.png, r.info);
  png_get_IHDR(r.png, r.info, &r.width, &r.height, &r.bit_depth, &r.color_type, &r.interlace,
               nullptr, nullptr);
  return true;
}

// Sets the transforms (sub-byte unpacking, de-interlacing) and reads the palette.
bool Prepare(PngReader& r) {
  if (setjmp(png_jmpbuf(r.png))) return false;
  if (r.bit_depth < 8) png_set_packing(r.png);  // one sample per byte, value not scaled
  r.passes = png_set_interlace_handling(r.png);
  png_read_update_info(r.png, r.info);
  r.row_bytes = png_get_rowbytes(r.png, r.info);
  if (r.color_type == PNG_COLOR_TYPE_PALETTE) {
    png_colorp entries = nullptr;
    int n = 0;
    if (png_get_PLTE(r.png, r.info, &entries, &n) == 0)
      png_error(r.png, "palette image without PLTE");
    for (int i = 0; i < n && i < 256; ++i) {
      r.palette[i][0] = entries[i].red;
      r.palette[i][1] = entries[i].green;
      r.palette[i][2] = entries[i].blue;
    }
  }
  return true;
}

// One decoded row (after unpacking) to RGB, by Pillow's mode conversions.
void ConvertRow(const PngReader& r, const uint8_t* in, uint8_t* out) {
  const int w = static_cast<int>(r.width);
  const bool wide = r.bit_depth == 16;
  switch (r.color_type) {
    case PNG_COLOR_TYPE_GRAY: {
      if (wide) {
        // Pillow opens 16-bit gray as "I;16"; convert("RGB") clamps the value to 255.
        for (int x = 0; x < w; ++x) {
          const uint8_t hi = in[2 * x], lo = in[2 * x + 1];
          const uint8_t v = hi == 0 ? lo : 255;
          out[3 * x] = out[3 * x + 1] = out[3 * x + 2] = v;
        }
      } else {
        // 1/2/4-bit gray scales by bit replication (x255, x85, x17), 8-bit is as is.
        const int scale = r.bit_depth == 1   ? 255
                          : r.bit_depth == 2 ? 85
                          : r.bit_depth == 4 ? 17
                                             : 1;
        for (int x = 0; x < w; ++x) {
          const uint8_t v = static_cast<uint8_t>(in[x] * scale);
          out[3 * x] = out[3 * x + 1] = out[3 * x + 2] = v;
        }
      }
      return;
    }
    case PNG_COLOR_TYPE_GRAY_ALPHA: {
      const int step = wide ? 4 : 2;  // high byte of gray first; alpha dropped
      for (int x = 0; x < w; ++x) {
        const uint8_t v = in[step * x];
        out[3 * x] = out[3 * x + 1] = out[3 * x + 2] = v;
      }
      return;
    }
    case PNG_COLOR_TYPE_RGB:
    case PNG_COLOR_TYPE_RGB_ALPHA: {
      const int samples = r.color_type == PNG_COLOR_TYPE_RGB ? 3 : 4;
      const int bytes = wide ? 2 : 1;  // 16-bit: keep the high (first) byte
      for (int x = 0; x < w; ++x) {
        const uint8_t* p = in + x * samples * bytes;
        out[3 * x + 0] = p[0];
        out[3 * x + 1] = p[bytes];
        out[3 * x + 2] = p[2 * bytes];
      }
      return;
    }
    case PNG_COLOR_TYPE_PALETTE: {
      for (int x = 0; x < w; ++x) std::memcpy(out + 3 * x, r.palette[in[x]], 3);
      return;
    }
    default: return;  // png_read_info rejects other colour types
  }
}

// Non-interlaced: row by row through one row buffer.
bool ReadRows(PngReader& r, uint8_t* row, uint8_t* rgb) {
  if (setjmp(png_jmpbuf(r.png))) return false;
  for (png_uint_32 y = 0; y < r.height; ++y) {
    png_read_row(r.png, row, nullptr);
    ConvertRow(r, row, rgb + static_cast<size_t>(y) * r.width * 3);
  }
  return true;
}

// Interlaced: libpng needs the whole image to assemble the Adam7 passes.
bool ReadInterlaced(PngReader& r, png_bytepp rows) {
  if (setjmp(png_jmpbuf(r.png))) return false;
  png_read_image(r.png, rows);
  return true;
}

Status LibpngFailure(const PngReader& r, std::string_view name) {
  return DataLoss(
      "decoding image: {}: expected a valid PNG stream, got libpng error '{}' at byte {} of {}",
      name, r.error, r.offset, r.bytes.size());
}

}  // namespace

Result<Image> DecodePng(std::span<const uint8_t> bytes, std::string_view name,
                        const DecodeOptions& options) {
  PngReader r;
  r.bytes = bytes;
  r.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &r, PngError, PngWarning);
  if (r.png == nullptr) return Internal("decoding image: {}: libpng: cannot create a reader", name);
  r.info = png_create_info_struct(r.png);
  if (r.info == nullptr) return Internal("decoding image: {}: libpng: cannot create info", name);

  if (!ReadHeader(r)) return LibpngFailure(r, name);
  VLART_TRY(CheckImageDims(r.height, r.width, options.max_pixels,
                           fmt::format("decoding image: {}", name)));
  if (!Prepare(r)) return LibpngFailure(r, name);

  Image image = Image::Zeros(static_cast<int>(r.height), static_cast<int>(r.width));
  if (r.passes == 1) {
    std::vector<uint8_t> row(r.row_bytes);
    if (!ReadRows(r, row.data(), image.data())) return LibpngFailure(r, name);
  } else {
    std::vector<uint8_t> raw(r.row_bytes * r.height);
    std::vector<png_bytep> rows(r.height);
    for (png_uint_32 y = 0; y < r.height; ++y) rows[y] = raw.data() + y * r.row_bytes;
    if (!ReadInterlaced(r, rows.data())) return LibpngFailure(r, name);
    for (png_uint_32 y = 0; y < r.height; ++y) {
      ConvertRow(r, rows[y], image.data() + static_cast<size_t>(y) * r.width * 3);
    }
  }
  // Like Pillow, nothing after the image data (trailing chunks, IEND) is required.
  return image;
}

}  // namespace vlart::image_internal
