#pragma once
// The one exception the Jinja interpreter throws internally. It never leaves the chat module:
// ChatTemplate::parse and ::render catch it and return a Result carrying its message.

#include <stdexcept>
#include <string>

namespace tandem::jinja {

enum class ErrorKind {
  kSyntax,     // the template does not parse
  kRuntime,    // an operation failed while rendering (bad types, undefined values, ...)
  kRaised,     // the template called raise_exception(message)
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, std::string message, int line = 0)
      : std::runtime_error(message), kind_(kind), line_(line) {}

  ErrorKind kind() const { return kind_; }
  int line() const { return line_; }  // 1-based; 0 until the statement that failed is known
  void set_line(int line) { line_ = line; }

 private:
  ErrorKind kind_;
  int line_;
};

[[noreturn]] inline void fail(std::string message) { throw Error(ErrorKind::kRuntime, std::move(message)); }

}  // namespace tandem::jinja
