// SPDX-License-Identifier: Apache-2.0
//
// safetensors.cc: header parsing and validation for SafetensorsFile.
//
// All arithmetic on sizes taken from the file is checked (overflow is an error, not
// a wrap), and the parser touches only bytes [0, 8 + N) before validation succeeds,
// so an absurd N can neither allocate nor read out of bounds.

#include "io/safetensors.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <tuple>
#include <utility>

#include "io/json_parse.h"

namespace vlart {
namespace {

using Json = nlohmann::json;

constexpr std::string_view kKnownDTypes =
    "F64, F32, F16, BF16, F8_E4M3, I64, I32, I16, I8, U8, BOOL";

struct ParsedHeader {
  size_t header_bytes = 0;
  std::vector<TensorInfo> tensors;  // JSON order, later sorted
  std::map<std::string, std::string> metadata;
};

// One header's parse; `label` prefixes every message.
class HeaderParser {
 public:
  HeaderParser(std::span<const std::byte> bytes, std::string_view label)
      : bytes_(bytes), label_(label) {}

  Result<ParsedHeader> Parse() {
    if (bytes_.size() < 8) {
      return Fail("file size: expected at least 8 bytes (the header length), got {}",
                  bytes_.size());
    }
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>(bytes_[i]);
    if (n > kMaxSafetensorsHeaderBytes) {
      return Fail(
          "header length: expected at most {} bytes (the safetensors limit), got {}; hint: "
          "this is not a safetensors file or it is corrupt",
          kMaxSafetensorsHeaderBytes, n);
    }
    if (n > bytes_.size() - 8) {
      return Fail(
          "header length: expected at most {} bytes (file size {} minus 8), got {}; hint: the "
          "file is truncated",
          bytes_.size() - 8, bytes_.size(), n);
    }
    parsed_.header_bytes = static_cast<size_t>(n);
    data_size_ = bytes_.size() - 8 - parsed_.header_bytes;

    const std::string_view text(reinterpret_cast<const char*>(bytes_.data() + 8),
                                parsed_.header_bytes);
    Result<Json> root = ParseJsonStrict(text);
    if (!root.ok()) return Fail("header: {}", root.status().message());
    if (!root->is_object()) {
      return Fail("header: expected a JSON object, got {}", JsonTypeName(*root));
    }
    for (const auto& [key, value] : root->items()) {
      if (key == "__metadata__") {
        VLART_TRY(ParseMetadata(value));
      } else {
        VLART_TRY(ParseEntry(key, value));
      }
    }
    VLART_TRY(CheckTiling());
    return std::move(parsed_);
  }

 private:
  template <typename... Args>
  Status Fail(fmt::format_string<Args...> f, Args&&... args) const {
    return DataLoss("safetensors '{}': {}", label_, fmt::format(f, std::forward<Args>(args)...));
  }

  Status ParseMetadata(const Json& value) {
    if (value.is_null()) return Status::Ok();  // serde reads null as "no metadata"
    if (!value.is_object()) {
      return Fail("__metadata__: expected an object of string values, got {}", JsonTypeName(value));
    }
    for (const auto& [k, v] : value.items()) {
      if (!v.is_string()) {
        return Fail("__metadata__ entry '{}': expected a string, got {}", Printable(k),
                    JsonTypeName(v));
      }
      parsed_.metadata.emplace(k, v.get<std::string>());
    }
    return Status::Ok();
  }

  // A non-negative JSON integer into `out`, or an error naming `what`.
  Status ReadIndex(const std::string& name, std::string_view what, const Json& v,
                   uint64_t* out) const {
    if (v.is_number_unsigned()) {
      *out = v.get<uint64_t>();
      return Status::Ok();
    }
    if (v.is_number_integer()) {
      return Fail("tensor '{}': {}: expected a non-negative integer, got {}", Printable(name), what,
                  v.get<int64_t>());
    }
    return Fail("tensor '{}': {}: expected a non-negative integer, got {}", Printable(name), what,
                JsonTypeName(v));
  }

  Status ParseEntry(const std::string& name, const Json& entry) {
    const std::string pname = Printable(name);
    if (!entry.is_object()) {
      return Fail("tensor '{}': expected an object with dtype, shape and data_offsets, got {}",
                  pname, JsonTypeName(entry));
    }
    for (const char* field : {"dtype", "shape", "data_offsets"}) {
      if (!entry.contains(field)) return Fail("tensor '{}': missing field '{}'", pname, field);
    }
    TensorInfo info;
    info.name = name;

    const Json& dtype = entry["dtype"];
    if (!dtype.is_string()) {
      return Fail("tensor '{}': field 'dtype': expected a string, got {}", pname,
                  JsonTypeName(dtype));
    }
    const std::optional<DType> dt = DTypeFromSafetensorsName(dtype.get_ref<const std::string&>());
    if (!dt) {
      return Fail("tensor '{}': dtype: expected one of {}, got '{}'", pname, kKnownDTypes,
                  Printable(dtype.get_ref<const std::string&>()));
    }
    info.dtype = *dt;

    const Json& shape = entry["shape"];
    if (!shape.is_array()) {
      return Fail("tensor '{}': field 'shape': expected an array of integers, got {}", pname,
                  JsonTypeName(shape));
    }
    if (shape.size() > static_cast<size_t>(kMaxDims)) {
      return Fail("tensor '{}': shape: expected at most {} dimensions, got {}", pname, kMaxDims,
                  shape.size());
    }
    int64_t numel = 1;
    bool overflow = false;
    for (size_t i = 0; i < shape.size(); ++i) {
      uint64_t d = 0;
      VLART_TRY(ReadIndex(name, fmt::format("shape[{}]", i), shape[i], &d));
      if (d > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return Fail("tensor '{}': shape[{}]: expected at most {}, got {}", pname, i,
                    std::numeric_limits<int64_t>::max(), d);
      }
      info.shape.push_back(static_cast<int64_t>(d));
      overflow = overflow || __builtin_mul_overflow(numel, static_cast<int64_t>(d), &numel);
    }
    int64_t nbits = 0;
    if (overflow || __builtin_mul_overflow(numel, int64_t{DTypeBits(info.dtype)}, &nbits)) {
      return Fail("tensor '{}': shape {}: element count times element size overflows int64", pname,
                  info.shape.ToString());
    }
    info.nbytes =
        static_cast<size_t>(nbits / 8);  // every safetensors dtype we accept is whole bytes

    const Json& offsets = entry["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2) {
      return Fail("tensor '{}': field 'data_offsets': expected an array of 2 integers, got {}",
                  pname,
                  offsets.is_array() ? fmt::format("{} elements", offsets.size())
                                     : std::string(JsonTypeName(offsets)));
    }
    uint64_t begin = 0;
    uint64_t end = 0;
    VLART_TRY(ReadIndex(name, "data_offsets[0]", offsets[0], &begin));
    VLART_TRY(ReadIndex(name, "data_offsets[1]", offsets[1], &end));
    if (begin > end) {
      return Fail("tensor '{}': data_offsets [{}, {}]: expected begin <= end", pname, begin, end);
    }
    if (end > data_size_) {
      return Fail(
          "tensor '{}': data_offsets [{}, {}]: expected end <= {} (the data section size); "
          "hint: the file is truncated or the header is corrupt",
          pname, begin, end, data_size_);
    }
    if (end - begin != info.nbytes) {
      return Fail("tensor '{}': byte size: expected {} ({} {}), got {} (data_offsets [{}, {}])",
                  pname, info.nbytes, DTypeName(info.dtype), info.shape.ToString(), end - begin,
                  begin, end);
    }
    info.file_offset = 8 + parsed_.header_bytes + static_cast<size_t>(begin);
    parsed_.tensors.push_back(std::move(info));
    return Status::Ok();
  }

  // Sorted by offset, the tensors must tile the data section exactly, as the
  // reference requires (Metadata::validate and the final buffer-length check).
  Status CheckTiling() {
    std::vector<const TensorInfo*> by_offset;
    by_offset.reserve(parsed_.tensors.size());
    for (const TensorInfo& t : parsed_.tensors) by_offset.push_back(&t);
    std::sort(by_offset.begin(), by_offset.end(), [](const TensorInfo* a, const TensorInfo* b) {
      return std::tie(a->file_offset, a->nbytes, a->name) <
             std::tie(b->file_offset, b->nbytes, b->name);
    });
    const size_t base = 8 + parsed_.header_bytes;
    size_t expected = 0;  // where the next tensor must begin, relative to the data section
    const TensorInfo* prev = nullptr;
    for (const TensorInfo* t : by_offset) {
      const size_t begin = t->file_offset - base;
      if (begin < expected) {
        return Fail("tensor '{}': data_offsets [{}, {}] overlap tensor '{}' [{}, {}]",
                    Printable(t->name), begin, begin + t->nbytes, Printable(prev->name),
                    prev->file_offset - base, expected);
      }
      if (begin > expected) {
        return Fail(
            "tensor '{}': data_offsets [{}, {}]: expected to begin at {} ({}), got a gap of {} "
            "bytes",
            Printable(t->name), begin, begin + t->nbytes, expected,
            prev ? fmt::format("where tensor '{}' ends", Printable(prev->name))
                 : std::string("the start of the data section"),
            begin - expected);
      }
      expected = begin + t->nbytes;
      prev = t;
    }
    if (expected != data_size_) {
      return Fail(
          "data section: expected {} bytes (where the last tensor ends), got {}; hint: bytes "
          "after the last tensor are not allowed",
          expected, data_size_);
    }
    return Status::Ok();
  }

  std::span<const std::byte> bytes_;
  std::string_view label_;
  size_t data_size_ = 0;
  ParsedHeader parsed_;
};

}  // namespace

Result<std::unique_ptr<SafetensorsFile>> SafetensorsFile::Open(const std::filesystem::path& path) {
  Result<MappedFile> mapping = MappedFile::Open(path);
  if (!mapping.ok()) return mapping.status();
  const std::span<const std::byte> bytes = mapping->bytes();
  VLART_ASSIGN_OR_RETURN(std::unique_ptr<SafetensorsFile> file,
                         OpenFromMemory(bytes, path.string()));
  file->mapping_ = std::move(mapping).value();  // the span stays valid: same mapping
  return file;
}

Result<std::unique_ptr<SafetensorsFile>> SafetensorsFile::OpenFromMemory(
    std::span<const std::byte> bytes, std::string label) {
  VLART_ASSIGN_OR_RETURN(ParsedHeader parsed, HeaderParser(bytes, label).Parse());
  std::unique_ptr<SafetensorsFile> file(new SafetensorsFile());
  file->label_ = std::move(label);
  file->bytes_ = bytes;
  file->header_bytes_ = parsed.header_bytes;
  file->tensors_ = std::move(parsed.tensors);
  file->metadata_ = std::move(parsed.metadata);
  std::sort(file->tensors_.begin(), file->tensors_.end(),
            [](const TensorInfo& a, const TensorInfo& b) { return a.name < b.name; });
  return file;
}

const TensorInfo* SafetensorsFile::Find(std::string_view name) const {
  const auto it = std::lower_bound(
      tensors_.begin(), tensors_.end(), name,
      [](const TensorInfo& t, std::string_view n) { return std::string_view(t.name) < n; });
  return (it != tensors_.end() && it->name == name) ? &*it : nullptr;
}

std::vector<std::string> SafetensorsFile::Names() const {
  std::vector<std::string> names;
  names.reserve(tensors_.size());
  for (const TensorInfo& t : tensors_) names.push_back(t.name);
  return names;
}

std::span<const std::byte> SafetensorsFile::Bytes(const TensorInfo& info) const {
  VLART_CHECK(info.file_offset + info.nbytes <= bytes_.size(),
              "TensorInfo '{}' does not belong to '{}'", info.name, label_);
  return bytes_.subspan(info.file_offset, info.nbytes);
}

Tensor SafetensorsFile::View(const TensorInfo& info) const {
  const std::span<const std::byte> b = Bytes(info);
  // NOTE: const_cast because Tensor is a mutable view type; the pages are PROT_READ.
  return Tensor::Contiguous(const_cast<std::byte*>(b.data()), info.dtype, info.shape, Device::kCpu);
}

bool SafetensorsFile::IsAligned(const TensorInfo& info) const {
  const size_t align = static_cast<size_t>(std::max(1, DTypeBits(info.dtype) / 8));
  return reinterpret_cast<uintptr_t>(Bytes(info).data()) % align == 0;
}

void SafetensorsFile::Prefetch(const TensorInfo& info) const {
  mapping_.WillNeed(info.file_offset, info.nbytes);
}

}  // namespace vlart
