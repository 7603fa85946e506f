#pragma once
// Always-on invariant checks. A failed check is a bug in Tandem, never a user error:
// user-caused failures (files, requests, config) travel as Result values instead.

#include <cstdio>
#include <cstdlib>

namespace tandem::detail {
[[noreturn]] inline void check_failed(const char* expr, const char* file, int line, const char* msg) {
  std::fprintf(stderr, "tandem: internal error: check `%s` failed at %s:%d%s%s\n", expr, file, line,
               msg[0] ? ": " : "", msg);
  std::abort();
}
}  // namespace tandem::detail

#define TANDEM_CHECK(cond)                                                        \
  do {                                                                            \
    if (!(cond)) ::tandem::detail::check_failed(#cond, __FILE__, __LINE__, ""); \
  } while (0)

#define TANDEM_CHECK_MSG(cond, msg)                                                \
  do {                                                                             \
    if (!(cond)) ::tandem::detail::check_failed(#cond, __FILE__, __LINE__, (msg)); \
  } while (0)
