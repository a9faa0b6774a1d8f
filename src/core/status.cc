// SPDX-License-Identifier: Apache-2.0
//
// status.cc: Status formatting and the abort path of VLART_CHECK.

#include "core/status.h"

#include <cstdio>

#include "core/check.h"

namespace vlart {

const char* StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "ok";
    case StatusCode::kInvalidArgument: return "invalid argument";
    case StatusCode::kNotFound: return "not found";
    case StatusCode::kDataLoss: return "data loss";
    case StatusCode::kUnimplemented: return "unimplemented";
    case StatusCode::kInternal: return "internal";
  }
  return "unknown";
}

Status Status::WithContext(std::string_view context) const {
  if (ok()) return *this;
  return Status(code_, fmt::format("{}: {}", context, message_));
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  return message_;
}

namespace detail {
void CheckFailed(const char* condition, const char* file, int line, const std::string& message) {
  std::fprintf(stderr, "vlart: check failed: %s at %s:%d%s%s\n", condition, file, line,
               message.empty() ? "" : ": ", message.c_str());
  std::fflush(stderr);
  std::abort();
}
}  // namespace detail

}  // namespace vlart
