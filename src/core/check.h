// SPDX-License-Identifier: Apache-2.0
//
// check.h: VLART_CHECK for broken invariants (programmer errors).
//
// A failed check prints the condition, file, line and a formatted message to
// stderr and aborts. Never use it for anything an input can cause: those are
// Status values (status.h). VLART_DCHECK compiles away in release builds and is
// meant for per-element loops.
#pragma once

#include <fmt/format.h>

#include <string>

namespace vlart::detail {
[[noreturn]] void CheckFailed(const char* condition, const char* file, int line,
                              const std::string& message);
}  // namespace vlart::detail

#define VLART_CHECK(cond, ...)                                                              \
  do {                                                                                      \
    if (!(cond)) [[unlikely]] {                                                             \
      ::vlart::detail::CheckFailed(#cond, __FILE__, __LINE__, ::fmt::format("" __VA_ARGS__)); \
    }                                                                                       \
  } while (0)

#ifdef NDEBUG
#define VLART_DCHECK(cond, ...) \
  do {                          \
  } while (0)
#else
#define VLART_DCHECK(cond, ...) VLART_CHECK(cond, __VA_ARGS__)
#endif
