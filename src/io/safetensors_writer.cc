// SPDX-License-Identifier: Apache-2.0
//
// safetensors_writer.cc: header layout (mirrors the reference `prepare`) and streaming.

#include "io/safetensors_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <functional>
#include <future>
#include <numeric>
#include <string_view>

#include "io/json_parse.h"
#include "io/safetensors.h"

namespace vlart {
namespace {

constexpr size_t kChunkBytes = size_t{8} << 20;  // gather buffer for strided views

// Position in safetensors' Rust `Dtype` enum ("MUST be in increasing alignment order").
// nullopt for dtypes safetensors (and so our reader) has no name for.
std::optional<int> SafetensorsRank(DType dtype) {
  switch (dtype) {
    case DType::kBool:
      return 0;
    case DType::kU8:
      return 4;
    case DType::kI8:
      return 5;
    case DType::kF8E4M3:
      return 7;
    case DType::kI16:
      return 11;
    case DType::kF16:
      return 13;
    case DType::kBF16:
      return 14;
    case DType::kI32:
      return 15;
    case DType::kF32:
      return 17;
    case DType::kF64:
      return 19;
    case DType::kI64:
      return 20;
    case DType::kFp4E2M1:
      return std::nullopt;
  }
  return std::nullopt;
}

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t len = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      len = 2, cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      len = 3, cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      len = 4, cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    const uint32_t min_cp = len == 2 ? 0x80 : (len == 3 ? 0x800 : 0x10000);
    if (cp < min_cp || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += len;
  }
  return true;
}

// A JSON string literal escaped exactly as serde_json writes it: \" \\ \b \f \n \r \t,
// other bytes < 0x20 as \u00xx (lowercase hex), everything else (UTF-8 included) raw.
void AppendJsonString(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 0xf];
        } else {
          out += ch;
        }
    }
  }
  out += '"';
}

struct Plan {
  std::string header;          // padded JSON
  std::vector<size_t> order;   // indices into the entries, in file order
  std::vector<size_t> nbytes;  // per entry
  size_t data_bytes = 0;
};

// What the header needs of one tensor.
struct Entry {
  std::string_view name;
  DType dtype;
  const Shape* shape;
};

Result<Plan> MakePlan(const std::vector<Entry>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  Plan plan;
  plan.nbytes.resize(tensors.size());
  std::vector<std::string_view> names;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Entry& t = tensors[i];
    const std::string_view name = t.name;
    if (!IsValidUtf8(name)) {
      return InvalidArgument(
          "writing safetensors: tensor '{}': expected a UTF-8 name, got invalid bytes",
          Printable(name));
    }
    if (name == "__metadata__") {
      return InvalidArgument(
          "writing safetensors: tensor '__metadata__': expected any other name, got the reserved "
          "one");
    }
    if (!SafetensorsRank(t.dtype)) {
      return InvalidArgument(
          "writing safetensors: tensor '{}': expected a safetensors dtype, got {}; hint: store "
          "packed formats as U8",
          Printable(name), DTypeName(t.dtype));
    }
    int64_t numel = 1;
    for (const int64_t d : *t.shape) {
      if (d < 0) {
        return InvalidArgument(
            "writing safetensors: tensor '{}': expected non-negative dims, got {}", Printable(name),
            t.shape->ToString());
      }
      numel *= d;
    }
    plan.nbytes[i] = DTypeBytes(t.dtype, numel);
    names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  if (const auto dup = std::adjacent_find(names.begin(), names.end()); dup != names.end()) {
    return InvalidArgument("writing safetensors: tensor '{}': expected unique names, got it twice",
                           Printable(*dup));
  }
  for (const auto& [k, v] : metadata) {
    if (!IsValidUtf8(k) || !IsValidUtf8(v)) {
      return InvalidArgument(
          "writing safetensors: metadata '{}': expected UTF-8, got invalid bytes", Printable(k));
    }
  }

  plan.order.resize(tensors.size());
  std::iota(plan.order.begin(), plan.order.end(), size_t{0});
  std::sort(plan.order.begin(), plan.order.end(), [&](size_t a, size_t b) {
    const int ra = *SafetensorsRank(tensors[a].dtype);
    const int rb = *SafetensorsRank(tensors[b].dtype);
    if (ra != rb) return ra > rb;
    return tensors[a].name < tensors[b].name;
  });

  std::string& h = plan.header;
  h += '{';
  bool first = true;
  if (!metadata.empty()) {
    h += "\"__metadata__\":{";
    for (const auto& [k, v] : metadata) {
      if (!first) h += ',';
      first = false;
      AppendJsonString(h, k);
      h += ':';
      AppendJsonString(h, v);
    }
    h += '}';
    first = false;
  }
  size_t offset = 0;
  for (const size_t i : plan.order) {
    const Entry& t = tensors[i];
    if (!first) h += ',';
    first = false;
    AppendJsonString(h, t.name);
    h += ":{\"dtype\":\"";
    h += DTypeName(t.dtype);
    h += "\",\"shape\":[";
    for (int d = 0; d < t.shape->size(); ++d) {
      if (d) h += ',';
      h += std::to_string((*t.shape)[d]);
    }
    h += "],\"data_offsets\":[";
    h += std::to_string(offset);
    h += ',';
    offset += plan.nbytes[i];
    h += std::to_string(offset);
    h += "]}";
  }
  h += '}';
  h.resize((h.size() + 7) / 8 * 8, ' ');
  if (h.size() > kMaxSafetensorsHeaderBytes) {
    return InvalidArgument("writing safetensors: header: expected at most {} bytes, got {}",
                           kMaxSafetensorsHeaderBytes, h.size());
  }
  plan.data_bytes = offset;
  return plan;
}

// Writes all of [data, data + n) to fd.
Status WriteAll(int fd, const void* data, size_t n, const std::string& where) {
  const auto* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t w = ::write(fd, p, std::min(n, size_t{1} << 30));
    if (w < 0) {
      if (errno == EINTR) continue;
      return Internal("writing '{}': {}", where, std::strerror(errno));
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return Status::Ok();
}

// Streams one view in row-major order: contiguous views straight from memory, others
// gathered a row at a time into `buffer`.
Status WriteTensor(int fd, const Tensor& t, std::vector<char>& buffer, const std::string& where) {
  const int64_t numel = t.numel();
  if (numel == 0) return Status::Ok();
  const size_t es = static_cast<size_t>(DTypeBits(t.dtype) / 8);
  if (t.is_contiguous()) return WriteAll(fd, t.data, DTypeBytes(t.dtype, numel), where);

  const int nd = t.ndim();  // >= 1 here: a 0-dim view is always contiguous
  const int64_t row_len = t.shape[nd - 1];
  const int64_t num_rows = numel / row_len;
  const size_t row_bytes = static_cast<size_t>(row_len) * es;
  if (buffer.size() < std::max(kChunkBytes, row_bytes))
    buffer.resize(std::max(kChunkBytes, row_bytes));
  size_t used = 0;
  for (int64_t r = 0; r < num_rows; ++r) {
    int64_t off = 0;  // element offset of row r
    int64_t rem = r;
    for (int d = nd - 2; d >= 0; --d) {
      off += (rem % t.shape[d]) * t.stride[d];
      rem /= t.shape[d];
    }
    if (used + row_bytes > buffer.size()) {
      VLART_TRY(WriteAll(fd, buffer.data(), used, where));
      used = 0;
    }
    const char* src = static_cast<const char*>(t.data) + off * static_cast<int64_t>(es);
    char* dst = buffer.data() + used;
    const int64_t inner = t.stride[nd - 1];
    if (inner == 1) {
      std::memcpy(dst, src, row_bytes);
    } else {
      for (int64_t k = 0; k < row_len; ++k)
        std::memcpy(dst + k * es, src + k * inner * static_cast<int64_t>(es), es);
    }
    used += row_bytes;
  }
  return WriteAll(fd, buffer.data(), used, where);
}

Result<std::vector<Entry>> ViewEntries(const std::vector<std::pair<std::string, Tensor>>& tensors) {
  std::vector<Entry> entries;
  entries.reserve(tensors.size());
  for (const auto& [name, t] : tensors) {
    if (t.device != Device::kCpu) {
      return InvalidArgument("writing safetensors: tensor '{}': expected a CPU view, got {}",
                             Printable(name), DeviceName(t.device));
    }
    if (t.data == nullptr && t.numel() > 0) {
      return InvalidArgument("writing safetensors: tensor '{}': expected data, got a null pointer",
                             Printable(name));
    }
    entries.push_back(Entry{name, t.dtype, &t.shape});
  }
  return entries;
}

// Writes the file through a temporary next to `path`: length, header, then
// `write_data(fd, tmp)` for the tensor bytes in file order; renamed into place on success.
Status WriteFileAtomically(const std::filesystem::path& path, const Plan& plan,
                           const std::function<Status(int fd, const std::string& tmp)>& write_data) {
  const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : ".";
  std::string tmp = fmt::format("{}/.{}.tmp-XXXXXX", dir.string(), path.filename().string());
  const int fd = ::mkstemp(tmp.data());
  if (fd < 0) {
    return NotFound("writing '{}': cannot create a temporary file in '{}': {}", path.string(),
                    dir.string(), std::strerror(errno));
  }
  const auto write_body = [&]() -> Status {
    const uint64_t n = plan.header.size();
    unsigned char len[8];
    for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>(n >> (8 * i));
    VLART_TRY(WriteAll(fd, len, 8, tmp));
    VLART_TRY(WriteAll(fd, plan.header.data(), plan.header.size(), tmp));
    return write_data(fd, tmp);
  };
  Status st = write_body();
  if (::fchmod(fd, 0644) != 0 && st.ok()) {
    st = Internal("writing '{}': fchmod: {}", tmp, std::strerror(errno));
  }
  if (::close(fd) != 0 && st.ok())
    st = Internal("writing '{}': close: {}", tmp, std::strerror(errno));
  if (st.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) {
    st = Internal("writing '{}': rename from '{}': {}", path.string(), tmp, std::strerror(errno));
  }
  if (!st.ok()) ::unlink(tmp.c_str());
  return st;
}

// One streamed tensor's bytes, filled (possibly on another thread).
struct FilledTensor {
  std::vector<std::byte> bytes;
  Status status;
};

FilledTensor FillOne(const StreamedTensor& t, size_t nbytes) {
  FilledTensor f;
  f.bytes.resize(nbytes);
  f.status = t.fill(std::span<std::byte>(f.bytes));
  if (!f.status.ok()) {
    f.status = f.status.WithContext(fmt::format("writing safetensors: tensor '{}'", Printable(t.name)));
  }
  return f;
}

}  // namespace

Result<std::string> SafetensorsHeader(const std::vector<std::pair<std::string, Tensor>>& tensors,
                                      const std::map<std::string, std::string>& metadata) {
  VLART_ASSIGN_OR_RETURN(const std::vector<Entry> entries, ViewEntries(tensors));
  VLART_ASSIGN_OR_RETURN(Plan plan, MakePlan(entries, metadata));
  return std::move(plan.header);
}

Status WriteSafetensors(const std::filesystem::path& path,
                        const std::vector<std::pair<std::string, Tensor>>& tensors,
                        const std::map<std::string, std::string>& metadata) {
  VLART_ASSIGN_OR_RETURN(const std::vector<Entry> entries, ViewEntries(tensors));
  VLART_ASSIGN_OR_RETURN(const Plan plan, MakePlan(entries, metadata));
  return WriteFileAtomically(path, plan, [&](int fd, const std::string& tmp) -> Status {
    std::vector<char> buffer;
    for (const size_t i : plan.order) VLART_TRY(WriteTensor(fd, tensors[i].second, buffer, tmp));
    return Status::Ok();
  });
}

Status WriteSafetensorsStreamed(const std::filesystem::path& path,
                                const std::vector<StreamedTensor>& tensors,
                                const std::map<std::string, std::string>& metadata,
                                int threads) {
  std::vector<Entry> entries;
  entries.reserve(tensors.size());
  for (const StreamedTensor& t : tensors) {
    if (!t.fill) {
      return InvalidArgument("writing safetensors: tensor '{}': expected a fill function, got none",
                             Printable(t.name));
    }
    entries.push_back(Entry{t.name, t.dtype, &t.shape});
  }
  VLART_ASSIGN_OR_RETURN(const Plan plan, MakePlan(entries, metadata));
  const size_t window = static_cast<size_t>(std::max(threads, 1));
  return WriteFileAtomically(path, plan, [&](int fd, const std::string& tmp) -> Status {
    // A sliding window over the file order: up to `window` tensors are being filled while
    // the oldest is written, so at most `window` tensors are in memory at once.
    std::deque<std::future<FilledTensor>> pending;
    size_t next = 0;
    const auto launch = [&] {
      const size_t i = plan.order[next++];
      const StreamedTensor* t = &tensors[i];
      const size_t nbytes = plan.nbytes[i];
      pending.push_back(window == 1 ? std::async(std::launch::deferred, FillOne, std::cref(*t), nbytes)
                                    : std::async(std::launch::async, FillOne, std::cref(*t), nbytes));
    };
    Status st = Status::Ok();
    while (next < plan.order.size() || !pending.empty()) {
      while (next < plan.order.size() && pending.size() < window) launch();
      FilledTensor f = pending.front().get();
      pending.pop_front();
      if (st.ok()) st = f.status;
      if (st.ok()) st = WriteAll(fd, f.bytes.data(), f.bytes.size(), tmp);
      if (!st.ok()) {
        for (auto& p : pending) p.wait();  // let running fills finish before returning
        return st;
      }
    }
    return st;
  });
}

}  // namespace vlart
