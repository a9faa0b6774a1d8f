// SPDX-License-Identifier: Apache-2.0
//
// npy.cc: the .npy reader (format: numpy/lib/format.py, "NPY format description").

#include "io/npy.h"

#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

namespace vlart {
namespace {

// The value of `key` in the header dict literal, e.g. 'descr': '<f4' -> "'<f4'".
std::string FieldOf(const std::string& header, const std::string& key) {
  const std::string needle = "'" + key + "'";
  const size_t k = header.find(needle);
  if (k == std::string::npos) return "";
  size_t p = header.find(':', k + needle.size());
  if (p == std::string::npos) return "";
  ++p;
  while (p < header.size() && header[p] == ' ') ++p;
  if (p < header.size() && header[p] == '(') {
    const size_t e = header.find(')', p);
    return e == std::string::npos ? "" : header.substr(p, e - p + 1);
  }
  size_t e = p;
  while (e < header.size() && header[e] != ',' && header[e] != '}') ++e;
  std::string v = header.substr(p, e - p);
  while (!v.empty() && v.back() == ' ') v.pop_back();
  return v;
}

}  // namespace

Result<HostTensor> ParseNpyF32(std::span<const uint8_t> b, const std::string& label) {
  static constexpr uint8_t kMagic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  if (b.size() < 10 || std::memcmp(b.data(), kMagic, 6) != 0) {
    return InvalidArgument("npy '{}': expected the \\x93NUMPY magic, got something else; hint: "
                           "save with numpy.save", label);
  }
  const int major = b[6];
  size_t header_len = 0, offset = 0;
  if (major == 1) {
    header_len = b[8] | (b[9] << 8);
    offset = 10;
  } else if (major == 2 || major == 3) {
    if (b.size() < 12) return DataLoss("npy '{}': truncated header", label);
    header_len = b[8] | (b[9] << 8) | (b[10] << 16) | (static_cast<size_t>(b[11]) << 24);
    offset = 12;
  } else {
    return InvalidArgument("npy '{}': format version: expected 1, 2 or 3, got {}", label, major);
  }
  if (header_len > b.size() - offset) {
    return DataLoss("npy '{}': header of {} bytes runs past the end of the file", label, header_len);
  }
  const std::string header(reinterpret_cast<const char*>(b.data()) + offset, header_len);
  const std::string descr = FieldOf(header, "descr");
  const std::string fortran = FieldOf(header, "fortran_order");
  const std::string shape_text = FieldOf(header, "shape");
  if (fortran != "False") {
    return InvalidArgument("npy '{}': expected C order (fortran_order False), got '{}'", label, fortran);
  }
  int elem = 0;
  if (descr == "'<f4'") {
    elem = 4;
  } else if (descr == "'<f8'") {
    elem = 8;
  } else {
    return InvalidArgument("npy '{}': dtype: expected '<f4' or '<f8', got {}", label, descr);
  }
  if (shape_text.size() < 2 || shape_text.front() != '(' || shape_text.back() != ')') {
    return InvalidArgument("npy '{}': shape: expected a tuple, got '{}'", label, shape_text);
  }
  Shape shape;
  std::string inner = shape_text.substr(1, shape_text.size() - 2);
  size_t pos = 0;
  int64_t numel = 1;
  while (pos < inner.size()) {
    while (pos < inner.size() && (inner[pos] == ' ' || inner[pos] == ',')) ++pos;
    if (pos >= inner.size()) break;
    size_t end = pos;
    while (end < inner.size() && inner[end] >= '0' && inner[end] <= '9') ++end;
    if (end == pos || end - pos > 12) {
      return InvalidArgument("npy '{}': shape: expected non-negative integers, got '{}'", label,
                             shape_text);
    }
    const int64_t d = std::stoll(inner.substr(pos, end - pos));
    if (shape.size() == kMaxDims) {
      return InvalidArgument("npy '{}': shape {}: more than {} dims", label, shape_text, kMaxDims);
    }
    shape.push_back(d);
    numel *= d;
    if (numel > (int64_t{1} << 40)) return InvalidArgument("npy '{}': shape {} is too large", label, shape_text);
    pos = end;
  }
  const size_t data_off = offset + header_len;
  const size_t need = static_cast<size_t>(numel) * elem;
  if (b.size() - data_off != need) {
    return DataLoss("npy '{}': data: expected {} bytes for shape {}, got {}", label, need,
                    shape.ToString(), b.size() - data_off);
  }
  HostTensor out(DType::kF32, shape);
  const uint8_t* src = b.data() + data_off;
  for (int64_t i = 0; i < numel; ++i) {
    if (elem == 4) {
      std::memcpy(out.data<float>() + i, src + i * 4, 4);
    } else {
      double d;
      std::memcpy(&d, src + i * 8, 8);
      out.data<float>()[i] = static_cast<float>(d);
    }
  }
  return out;
}

Result<HostTensor> ReadNpyF32(const std::filesystem::path& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return NotFound("npy: cannot open '{}'", path.string());
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  return ParseNpyF32(bytes, path.string());
}

}  // namespace vlart
