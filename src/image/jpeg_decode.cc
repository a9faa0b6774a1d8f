// SPDX-License-Identifier: Apache-2.0
//
// jpeg_decode.cc: JPEG -> RGB with libjpeg-turbo, set up as Pillow's JpegDecode.c sets
// it up (libjpeg defaults: ISLOW IDCT, fancy upsampling, block smoothing; out colour
// space RGB / grayscale / CMYK by component count) and converted as Pillow's
// convert("RGB") converts "L" and Adobe-inverted "CMYK".
//
// libjpeg reports fatal errors through error_exit, which here longjmps back to the
// setjmp in the calling function. Everything that owns memory lives in JpegReader,
// which outlives those frames; the functions that call setjmp create no C++ objects.
// Running out of data is a libjpeg *warning* (it pads with a fake EOI and grey
// pixels); it is an error here, as "image file is truncated" is in Pillow.

#include <csetjmp>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <vector>

// jpeglib.h needs size_t and FILE declared before it, and jerror.h needs jpeglib.h.
// clang-format off
#include <jpeglib.h>
#include <jerror.h>
// clang-format on

#include "image/decode_internal.h"

namespace vlart::image_internal {
namespace {

struct JpegReader {
  jpeg_decompress_struct cinfo{};
  jpeg_error_mgr err{};
  std::jmp_buf jump{};
  char error[JMSG_LENGTH_MAX] = {};  // libjpeg's message of the fatal error
  bool created = false;
  bool ran_out_of_data = false;  // libjpeg warned JWRN_JPEG_EOF

  ~JpegReader() {
    if (created) jpeg_destroy_decompress(&cinfo);
  }
};

void JpegErrorExit(j_common_ptr cinfo) {
  auto* r = static_cast<JpegReader*>(cinfo->client_data);
  (*cinfo->err->format_message)(cinfo, r->error);
  std::longjmp(r->jump, 1);
}

void JpegEmitMessage(j_common_ptr cinfo, int level) {
  // level -1 is a warning about corrupt data; others are trace messages.
  if (level == -1 && cinfo->err->msg_code == JWRN_JPEG_EOF) {
    static_cast<JpegReader*>(cinfo->client_data)->ran_out_of_data = true;
  }
}

void JpegOutputMessage(j_common_ptr) {}  // never print

// Creates the decompressor and reads the header. False after a libjpeg error.
bool ReadHeader(JpegReader& r, std::span<const uint8_t> bytes) {
  r.cinfo.err = jpeg_std_error(&r.err);
  r.err.error_exit = JpegErrorExit;
  r.err.emit_message = JpegEmitMessage;
  r.err.output_message = JpegOutputMessage;
  r.cinfo.client_data = &r;
  if (setjmp(r.jump)) return false;
  jpeg_create_decompress(&r.cinfo);
  r.created = true;
  jpeg_mem_src(&r.cinfo, bytes.data(), static_cast<unsigned long>(bytes.size()));
  jpeg_read_header(&r.cinfo, TRUE);
  return true;
}

bool Start(JpegReader& r, J_COLOR_SPACE out_space) {
  if (setjmp(r.jump)) return false;
  r.cinfo.out_color_space = out_space;  // everything else stays at libjpeg's defaults
  jpeg_start_decompress(&r.cinfo);
  return true;
}

bool ReadScanlines(JpegReader& r, uint8_t* samples, size_t row_bytes) {
  if (setjmp(r.jump)) return false;
  while (r.cinfo.output_scanline < r.cinfo.output_height) {
    JSAMPROW row = samples + static_cast<size_t>(r.cinfo.output_scanline) * row_bytes;
    jpeg_read_scanlines(&r.cinfo, &row, 1);
  }
  // Read on to the EOI marker: Pillow's suspending reader cannot finish without it, so
  // a stream that stops right after its last scan counts as truncated there too.
  jpeg_finish_decompress(&r.cinfo);
  return true;
}

// Pillow's MULDIV255: a * b / 255 rounded, for a, b in 0..255.
inline int MulDiv255(int a, int b) {
  const int t = a * b + 128;
  return ((t >> 8) + t) >> 8;
}

Status LibjpegFailure(const JpegReader& r, std::string_view name) {
  if (r.ran_out_of_data) {
    return DataLoss("decoding image: {}: expected a complete JPEG stream, got a truncated one ({})",
                    name, r.error[0] ? r.error : "premature end of data");
  }
  return DataLoss("decoding image: {}: expected a valid JPEG stream, got libjpeg error '{}'", name,
                  r.error);
}

}  // namespace

Result<Image> DecodeJpeg(std::span<const uint8_t> bytes, std::string_view name,
                         const DecodeOptions& options) {
  JpegReader r;
  if (!ReadHeader(r, bytes) || r.ran_out_of_data) return LibjpegFailure(r, name);
  const jpeg_decompress_struct& ci = r.cinfo;
  VLART_TRY(CheckImageDims(ci.image_height, ci.image_width, options.max_pixels,
                           fmt::format("decoding image: {}", name)));
  J_COLOR_SPACE out_space;
  switch (ci.num_components) {
    case 1: out_space = JCS_GRAYSCALE; break;
    case 3: out_space = JCS_RGB; break;
    case 4: out_space = JCS_CMYK; break;  // from CMYK or YCCK
    default:
      return Unimplemented(
          "decoding image: {}: expected a JPEG with 1, 3 or 4 components, got {} (Pillow refuses "
          "these too)",
          name, ci.num_components);
  }
  if (!Start(r, out_space) || r.ran_out_of_data) return LibjpegFailure(r, name);
  const int h = static_cast<int>(ci.output_height), w = static_cast<int>(ci.output_width);
  const int c = ci.output_components;
  Image image = Image::Zeros(h, w);
  std::vector<uint8_t> samples;
  uint8_t* dst = image.data();
  if (c != 3) {
    samples.resize(static_cast<size_t>(h) * w * c);
    dst = samples.data();
  }
  if (!ReadScanlines(r, dst, static_cast<size_t>(w) * c) || r.ran_out_of_data) {
    return LibjpegFailure(r, name);
  }
  // Like Pillow, bytes after the EOI marker are ignored.
  const size_t pixels = static_cast<size_t>(h) * w;
  uint8_t* out = image.data();
  if (c == 1) {
    for (size_t i = 0; i < pixels; ++i) out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = samples[i];
  } else if (c == 4) {
    // Pillow reads 4-component JPEGs as Adobe-inverted CMYK ("CMYK;I"), so the true inks
    // are C = 255 - c' (likewise M, Y, K), and convert("RGB") computes
    // R = (255 - K) - (C * (255 - K)) / 255, rounded as MULDIV255 rounds.
    for (size_t i = 0; i < pixels; ++i) {
      const uint8_t* p = &samples[4 * i];
      const int not_k = p[3];  // 255 - K
      for (int ch = 0; ch < 3; ++ch) {
        out[3 * i + ch] = static_cast<uint8_t>(not_k - MulDiv255(255 - p[ch], not_k));
      }
    }
  }
  return image;
}

}  // namespace vlart::image_internal
