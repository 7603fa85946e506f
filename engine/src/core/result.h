#pragma once
// Result<T>: a value or a one-line error message a user can act on.
// Used for every failure a user can cause (bad file, bad request, bad config).

#include <string>
#include <utility>
#include <variant>

#include "core/check.h"

namespace tandem {

struct Error {
  std::string message;
};

inline Error make_error(std::string message) { return Error{std::move(message)}; }

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : state_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return std::holds_alternative<T>(state_); }
  explicit operator bool() const { return ok(); }

  T& value() & {
    TANDEM_CHECK_MSG(ok(), "value() on an error Result");
    return std::get<T>(state_);
  }
  const T& value() const& {
    TANDEM_CHECK_MSG(ok(), "value() on an error Result");
    return std::get<T>(state_);
  }
  T&& value() && {
    TANDEM_CHECK_MSG(ok(), "value() on an error Result");
    return std::get<T>(std::move(state_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }

  const std::string& error() const {
    TANDEM_CHECK_MSG(!ok(), "error() on an ok Result");
    return std::get<Error>(state_).message;
  }

 private:
  std::variant<T, Error> state_;
};

// Result<void> stand-in: success carries nothing.
struct Ok {};
using Status = Result<Ok>;
inline Status ok_status() { return Ok{}; }

}  // namespace tandem
