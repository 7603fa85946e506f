#include "chat/jinja_json.h"

#include <algorithm>
#include <cmath>

#include "chat/jinja_error.h"
#include "chat/jinja_text.h"

namespace tandem::jinja {

namespace {

constexpr const char* kHex = "0123456789abcdef";

void append_u_escape(std::string& out, unsigned v) {
  out += "\\u";
  for (int shift = 12; shift >= 0; shift -= 4) out.push_back(kHex[(v >> shift) & 0xF]);
}

void append_json_string(std::string& out, const std::string& s, bool ensure_ascii) {
  out.push_back('"');
  for (char32_t c : decode_utf8(s)) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20 || (ensure_ascii && c >= 0x7F)) {
          if (c >= 0x10000) {
            const char32_t v = c - 0x10000;
            append_u_escape(out, 0xD800 | static_cast<unsigned>(v >> 10));
            append_u_escape(out, 0xDC00 | static_cast<unsigned>(v & 0x3FF));
          } else {
            append_u_escape(out, static_cast<unsigned>(c));
          }
        } else {
          append_utf8(out, c);
        }
    }
  }
  out.push_back('"');
}

class Dumper {
 public:
  explicit Dumper(const JsonDumpOptions& o)
      : o_(o),
        item_sep_(o.item_separator.value_or(o.indent ? "," : ", ")),
        key_sep_(o.key_separator.value_or(": ")) {}

  void dump(const Value& v, int level, std::string& out) {
    ValueDepthGuard guard;
    switch (v.kind()) {
      case Kind::kNone: out += "null"; return;
      case Kind::kBool: out += v.as_bool() ? "true" : "false"; return;
      case Kind::kInt: out += std::to_string(v.as_int()); return;
      case Kind::kFloat: {
        const double d = v.as_double();
        if (std::isnan(d)) {
          out += "NaN";
        } else if (std::isinf(d)) {
          out += d > 0 ? "Infinity" : "-Infinity";
        } else {
          out += python_float_repr(d);
        }
        return;
      }
      case Kind::kString: append_json_string(out, v.as_string(), o_.ensure_ascii); return;
      case Kind::kList: {
        const auto& items = v.as_list().items;
        if (items.empty()) {
          out += "[]";
          return;
        }
        out.push_back('[');
        for (size_t i = 0; i < items.size(); ++i) {
          if (i) out += item_sep_;
          newline(level + 1, out);
          dump(items[i], level + 1, out);
        }
        newline(level, out);
        out.push_back(']');
        return;
      }
      case Kind::kDict: {
        std::vector<const std::pair<std::string, Value>*> entries;
        for (const auto& e : v.as_dict().entries) entries.push_back(&e);
        if (entries.empty()) {
          out += "{}";
          return;
        }
        if (o_.sort_keys) {
          std::stable_sort(entries.begin(), entries.end(), [](auto* a, auto* b) { return a->first < b->first; });
        }
        out.push_back('{');
        for (size_t i = 0; i < entries.size(); ++i) {
          if (i) out += item_sep_;
          newline(level + 1, out);
          append_json_string(out, entries[i]->first, o_.ensure_ascii);
          out += key_sep_;
          dump(entries[i]->second, level + 1, out);
        }
        newline(level, out);
        out.push_back('}');
        return;
      }
      default: fail("TypeError: Object of type " + v.type_name() + " is not JSON serializable");
    }
  }

 private:
  void newline(int level, std::string& out) const {
    if (!o_.indent) return;
    out.push_back('\n');
    for (int i = 0; i < level; ++i) out += *o_.indent;
  }

  const JsonDumpOptions& o_;
  std::string item_sep_;
  std::string key_sep_;
};

}  // namespace

std::string json_dumps(const Value& v, const JsonDumpOptions& options) {
  std::string out;
  Dumper(options).dump(v, 0, out);
  return out;
}

}  // namespace tandem::jinja
