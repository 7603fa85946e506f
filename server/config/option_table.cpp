#include "config/option_table.h"

#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>

namespace tandem::config {
namespace {

using nlohmann::json;

std::string json_kind(const json& v) {
  switch (v.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return "a boolean";
    case json::value_t::string: return "a string";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "an integer";
    case json::value_t::number_float: return "a number with a fraction";
    case json::value_t::array: return "a list";
    case json::value_t::object: return "an object";
    default: return "an unsupported value";
  }
}

std::string shown(const json& v) {
  std::string s = v.dump(-1, ' ', false, json::error_handler_t::replace);
  if (s.size() > 40) s = s.substr(0, 37) + "...";
  return s;
}

Error type_error(OptionKind kind, const json& v, std::string_view example) {
  return make_error("expected " + std::string(type_name(kind)) + " (like " + std::string(example) + "), got " +
                    json_kind(v) + " " + shown(v));
}

}  // namespace

std::string_view type_name(OptionKind kind) {
  switch (kind) {
    case OptionKind::kString: return "a string";
    case OptionKind::kInteger: return "an integer";
    case OptionKind::kNumber: return "a number";
    case OptionKind::kSize: return "a size";
    case OptionKind::kStringList: return "a list of strings";
    case OptionKind::kObjectList: return "a list of objects";
    case OptionKind::kBool: return "a boolean";
  }
  return "a value";
}

Result<OptionValue> read_json_value(OptionKind kind, const json& v) {
  switch (kind) {
    case OptionKind::kString:
      if (!v.is_string()) return type_error(kind, v, "\"text\"");
      return OptionValue{v.get<std::string>()};
    case OptionKind::kInteger:
      if (v.is_number_float()) {
        const double d = v.get<double>();
        if (std::isfinite(d) && d == std::floor(d) && std::abs(d) < 9e15) return OptionValue{static_cast<int64_t>(d)};
      }
      if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
        return make_error(shown(v) + " is too large");
      }
      if (!v.is_number_integer()) return type_error(kind, v, "8");
      return OptionValue{v.get<int64_t>()};
    case OptionKind::kNumber:
      if (!v.is_number()) return type_error(kind, v, "30");
      return OptionValue{v.get<double>()};
    case OptionKind::kSize: {
      if (v.is_number_unsigned() || (v.is_number_integer() && v.get<int64_t>() >= 0)) {
        return OptionValue{ByteSize{v.get<uint64_t>()}};
      }
      if (!v.is_string()) return type_error(kind, v, "\"4GB\" or \"512MiB\"");
      auto bytes = parse_byte_size(v.get<std::string>());
      if (!bytes) return Error{bytes.error()};
      return OptionValue{ByteSize{*bytes}};
    }
    case OptionKind::kStringList: {
      if (!v.is_array()) return type_error(kind, v, "[\"a\", \"b\"]");
      std::vector<std::string> items;
      for (const auto& item : v) {
        if (!item.is_string()) {
          return make_error("expected a list of strings, but one item is " + json_kind(item) + " " + shown(item));
        }
        items.push_back(item.get<std::string>());
      }
      return OptionValue{std::move(items)};
    }
    case OptionKind::kObjectList: {
      if (!v.is_array()) return type_error(kind, v, "[{\"name\": \"a\"}]");
      for (size_t i = 0; i < v.size(); ++i) {
        if (!v[i].is_object()) {
          return make_error("expected a list of objects, but item " + std::to_string(i) + " is " + json_kind(v[i]) +
                            " " + shown(v[i]));
        }
      }
      return OptionValue{JsonText{v.dump()}};
    }
    case OptionKind::kBool:
      if (!v.is_boolean()) return type_error(kind, v, "true or false");
      return OptionValue{v.get<bool>()};
  }
  return make_error("unknown option kind");
}

Result<OptionValue> read_text_value(OptionKind kind, std::string_view text) {
  switch (kind) {
    case OptionKind::kString: return OptionValue{std::string(text)};
    case OptionKind::kInteger: {
      int64_t n = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
      if (ec != std::errc() || end != text.data() + text.size()) {
        return make_error("expected an integer, got \"" + std::string(text) + "\"");
      }
      return OptionValue{n};
    }
    case OptionKind::kNumber: {
      double d = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), d);
      if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(d)) {
        return make_error("expected a number, got \"" + std::string(text) + "\"");
      }
      return OptionValue{d};
    }
    case OptionKind::kSize: {
      auto bytes = parse_byte_size(text);
      if (!bytes) return Error{bytes.error()};
      return OptionValue{ByteSize{*bytes}};
    }
    case OptionKind::kStringList: {
      std::vector<std::string> items;
      size_t start = 0;
      while (start <= text.size() && !text.empty()) {
        const size_t comma = std::min(text.find(',', start), text.size());
        items.emplace_back(text.substr(start, comma - start));
        start = comma + 1;
      }
      return OptionValue{std::move(items)};
    }
    case OptionKind::kObjectList: {
      json v = json::parse(text, nullptr, /*allow_exceptions=*/false);
      if (v.is_discarded()) {
        return make_error("expected a JSON list of objects like '[{\"name\": \"a\"}]', got \"" + std::string(text) + "\"");
      }
      return read_json_value(kind, v);
    }
    case OptionKind::kBool:
      if (text == "true") return OptionValue{true};
      if (text == "false") return OptionValue{false};
      return make_error("expected true or false, got \"" + std::string(text) + "\"");
  }
  return make_error("unknown option kind");
}

}  // namespace tandem::config
