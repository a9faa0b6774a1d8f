// SPDX-License-Identifier: Apache-2.0
//
// status.h: Status and Result<T>, how vlart reports failures caused by inputs.
//
// Bad files, JSON, tensor names/shapes, CLI arguments, requests and images are
// returned as values, never thrown and never aborted on. Messages follow
//   "<what failed>: <which thing>: expected <x>, got <y>[; hint: <next step>]"
// (docs/ARCHITECTURE.md, "Errors"). Broken invariants use VLART_CHECK instead.
#pragma once

#include <fmt/format.h>

#include <cstdlib>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

namespace vlart {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,  // caller passed something malformed (CLI value, request field)
  kNotFound,         // file or tensor missing
  kDataLoss,         // a file is corrupt or truncated
  kUnimplemented,    // a valid request this build cannot serve (e.g. no CUDA)
  kInternal,         // a failure in the machinery (device error surfaced as a value)
};

const char* StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // ok
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // Returns a copy whose message is "<context>: <message>", for adding where
  // a failure happened as it travels up ("loading model.safetensors: ...").
  Status WithContext(std::string_view context) const;

  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

template <typename... Args>
Status InvalidArgument(fmt::format_string<Args...> f, Args&&... args) {
  return Status(StatusCode::kInvalidArgument, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
Status NotFound(fmt::format_string<Args...> f, Args&&... args) {
  return Status(StatusCode::kNotFound, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
Status DataLoss(fmt::format_string<Args...> f, Args&&... args) {
  return Status(StatusCode::kDataLoss, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
Status Unimplemented(fmt::format_string<Args...> f, Args&&... args) {
  return Status(StatusCode::kUnimplemented, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
Status Internal(fmt::format_string<Args...> f, Args&&... args) {
  return Status(StatusCode::kInternal, fmt::format(f, std::forward<Args>(args)...));
}

// Result<T>: a T or a non-ok Status (std::expected is C++23).
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    if (std::get<Status>(v_).ok()) {
      v_ = Status(StatusCode::kInternal, "Result constructed from an ok Status without a value");
    }
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace vlart

#define VLART_CONCAT_INNER_(a, b) a##b
#define VLART_CONCAT_(a, b) VLART_CONCAT_INNER_(a, b)

// Returns the Status from the enclosing function if `expr` (a Status) is not ok.
#define VLART_TRY(expr)                              \
  do {                                               \
    ::vlart::Status vlart_try_status_ = (expr);      \
    if (!vlart_try_status_.ok()) return vlart_try_status_; \
  } while (0)

// `VLART_ASSIGN_OR_RETURN(auto x, MakeX());` declares x from a Result or returns its Status.
#define VLART_ASSIGN_OR_RETURN(lhs, rexpr) \
  VLART_ASSIGN_OR_RETURN_IMPL_(VLART_CONCAT_(vlart_result_, __LINE__), lhs, rexpr)
#define VLART_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, rexpr) \
  auto tmp = (rexpr);                                 \
  if (!tmp.ok()) return tmp.status();                 \
  lhs = std::move(tmp).value()
