#pragma once
// Python's json.dumps over template values: the `tojson` filter transformers installs is
// json.dumps(x, ensure_ascii=False, indent=indent, separators=separators, sort_keys=sort_keys),
// so tool schemas keep their key order and non-ASCII text, and nothing is HTML-escaped.

#include <optional>
#include <string>

#include "chat/jinja_value.h"

namespace tandem::jinja {

struct JsonDumpOptions {
  bool ensure_ascii = false;
  std::optional<std::string> indent;  // the text of one indentation level; nullopt: one line
  std::optional<std::string> item_separator;  // default ", " (or "," with indent)
  std::optional<std::string> key_separator;   // default ": "
  bool sort_keys = false;
};

// Throws jinja::Error ("TypeError: Object of type Undefined is not JSON serializable").
std::string json_dumps(const Value& v, const JsonDumpOptions& options);

}  // namespace tandem::jinja
