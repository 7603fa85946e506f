#include "openai/json_brackets.h"

namespace tandem::openai {

BracketScan scan_json_brackets(std::string_view text, BracketScanStop stop) {
  BracketScan scan;
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > scan.max_depth) scan.max_depth = depth;
    } else if (c == '}' || c == ']') {
      if (--depth == 0 && !scan.first_close) {
        scan.first_close = i + 1;
        if (stop == BracketScanStop::at_first_close) return scan;
      }
    }
  }
  return scan;
}

}  // namespace tandem::openai
