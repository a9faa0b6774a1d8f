// SPDX-License-Identifier: Apache-2.0
//
// decode.cc: format sniffing, file reading and dispatch to the PNG/JPEG decoders.

#include "image/decode.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "image/decode_internal.h"

namespace vlart {
namespace {

bool StartsWith(std::span<const uint8_t> bytes, std::string_view prefix) {
  return bytes.size() >= prefix.size() &&
         std::memcmp(bytes.data(), prefix.data(), prefix.size()) == 0;
}

std::string HexPrefix(std::span<const uint8_t> bytes) {
  std::string s;
  for (size_t i = 0; i < bytes.size() && i < 8; ++i) {
    s += fmt::format("{}{:02x}", i ? " " : "", bytes[i]);
  }
  return s;
}

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

}  // namespace

std::string_view ImageFormatName(ImageFormat format) {
  switch (format) {
    case ImageFormat::kPng: return "PNG";
    case ImageFormat::kJpeg: return "JPEG";
    case ImageFormat::kGif: return "GIF";
    case ImageFormat::kBmp: return "BMP";
    case ImageFormat::kWebp: return "WebP";
    case ImageFormat::kTiff: return "TIFF";
    case ImageFormat::kUnknown: break;
  }
  return "unknown";
}

ImageFormat SniffImageFormat(std::span<const uint8_t> bytes) {
  if (StartsWith(bytes, "\x89PNG\r\n\x1a\n")) return ImageFormat::kPng;
  if (StartsWith(bytes, "\xff\xd8\xff")) return ImageFormat::kJpeg;
  if (StartsWith(bytes, "GIF87a") || StartsWith(bytes, "GIF89a")) return ImageFormat::kGif;
  if (StartsWith(bytes, "BM")) return ImageFormat::kBmp;
  if (StartsWith(bytes, "RIFF") && bytes.size() >= 12 &&
      std::memcmp(bytes.data() + 8, "WEBP", 4) == 0) {
    return ImageFormat::kWebp;
  }
  if (StartsWith(bytes, std::string_view("II*\0", 4)) ||
      StartsWith(bytes, std::string_view("MM\0*", 4))) {
    return ImageFormat::kTiff;
  }
  return ImageFormat::kUnknown;
}

Result<Image> DecodeImageBytes(std::span<const uint8_t> bytes, std::string_view name,
                               const DecodeOptions& options) {
  if (bytes.empty()) {
    return DataLoss("decoding image: {}: expected PNG or JPEG data, got an empty input", name);
  }
  const ImageFormat format = SniffImageFormat(bytes);
  switch (format) {
    case ImageFormat::kPng: return image_internal::DecodePng(bytes, name, options);
    case ImageFormat::kJpeg: return image_internal::DecodeJpeg(bytes, name, options);
    case ImageFormat::kUnknown:
      return DataLoss(
          "decoding image: {}: expected a PNG or JPEG signature, got bytes [{}] ({} bytes in "
          "all); hint: vlart reads PNG and JPEG files",
          name, HexPrefix(bytes), bytes.size());
    default:
      return Unimplemented(
          "decoding image: {}: expected PNG or JPEG, got {}; hint: convert the image to PNG", name,
          ImageFormatName(format));
  }
}

Result<Image> DecodeImageFile(const std::filesystem::path& path, const DecodeOptions& options) {
  const std::string name = path.string();
  std::unique_ptr<std::FILE, FileCloser> f(std::fopen(name.c_str(), "rb"));
  if (!f) {
    const int err = errno;
    return NotFound("reading image: {}: expected a readable file, got '{}'", name,
                    std::strerror(err));
  }
  std::vector<uint8_t> bytes;
  uint8_t chunk[1 << 16];
  size_t n = 0;
  while ((n = std::fread(chunk, 1, sizeof(chunk), f.get())) > 0) {
    bytes.insert(bytes.end(), chunk, chunk + n);
  }
  if (std::ferror(f.get())) {
    const int err = errno;
    return DataLoss("reading image: {}: expected to read the whole file, got '{}' after {} bytes",
                    name, std::strerror(err), bytes.size());
  }
  return DecodeImageBytes(bytes, name, options);
}

}  // namespace vlart
