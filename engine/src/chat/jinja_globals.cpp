// The globals of transformers' chat-template environment: jinja2's range (with the sandbox's
// size limit), namespace, dict, joiner, plus raise_exception and strftime_now.

#include <ctime>
#include <memory>

#include "chat/jinja_builtins.h"
#include "chat/jinja_error.h"
#include "chat/jinja_renderer.h"

namespace tandem::jinja {

namespace {

// jinja2.sandbox.MAX_RANGE.
constexpr int64_t kMaxRange = 100000;

Value range(Renderer& r, CallArgs& args) {
  if (!args.keyword.empty()) fail("TypeError: range() takes no keyword arguments");
  const auto& a = args.positional;
  if (a.empty() || a.size() > 3) fail("TypeError: range expected 1 to 3 arguments, got " + std::to_string(a.size()));
  for (const Value& v : a) {
    if (v.is_undefined()) fail(v.undefined_error());
    if (!v.is_int() && !v.is_bool()) {
      fail("TypeError: '" + v.type_name() + "' object cannot be interpreted as an integer");
    }
  }
  const int64_t start = a.size() == 1 ? 0 : a[0].as_int();
  const int64_t stop = a.size() == 1 ? a[0].as_int() : a[1].as_int();
  const int64_t step = a.size() == 3 ? a[2].as_int() : 1;
  if (step == 0) fail("ValueError: range() arg 3 must not be zero");
  int64_t count = 0;
  if (step > 0 && start < stop) count = (stop - start - 1) / step + 1;
  if (step < 0 && start > stop) count = (start - stop - 1) / (-step) + 1;
  if (count > kMaxRange) {
    fail("OverflowError: Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
  }
  r.charge_steps(static_cast<size_t>(count));
  std::vector<Value> items;
  items.reserve(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) items.push_back(Value::integer(start + i * step));
  return Value::list(std::move(items));
}

// dict(mapping, **kwargs): the keyword arguments win over the mapping's entries.
Dict dict_from_args(const char* name, const CallArgs& args) {
  Dict d;
  if (args.positional.size() > 1) {
    fail(std::string("TypeError: ") + name + " expected at most 1 positional argument, got " +
         std::to_string(args.positional.size()));
  }
  if (args.positional.size() == 1) {
    const Value& m = args.positional[0];
    if (!m.is_dict()) fail("TypeError: '" + m.type_name() + "' object is not iterable");
    d = m.as_dict();
  }
  for (const auto& [key, value] : args.keyword) d.set(key, value);
  return d;
}

Value strftime_now(Renderer& r, CallArgs& args) {
  BoundArgs a("strftime_now", args, {"format"});
  const std::optional<std::string> format = a.get_string(0);
  if (!format) fail("TypeError: strftime_now() needs a format string");
  if (format->empty()) return Value::string("");
  std::string buf(format->size() * 4 + 64, '\0');
  for (int attempt = 0; attempt < 8; ++attempt) {
    const size_t n = std::strftime(buf.data(), buf.size(), format->c_str(), &r.now());
    if (n > 0) {
      buf.resize(n);
      return Value::string(std::move(buf));
    }
    buf.resize(buf.size() * 4);
  }
  return Value::string("");  // a format whose expansion is empty, like "%p" in some locales
}

}  // namespace

Dict make_globals() {
  Dict g;
  g.set("range", Value::function("range", range));
  g.set("namespace", Value::function("namespace", [](Renderer& r, CallArgs& args) {
          Value ns = Value::make_namespace(dict_from_args("namespace", args));
          r.adopt_namespace(ns);
          return ns;
        }));
  g.set("dict", Value::function("dict", [](Renderer&, CallArgs& args) {
          return Value::dict(dict_from_args("dict", args));
        }));
  g.set("joiner", Value::function("joiner", [](Renderer&, CallArgs& args) {
          BoundArgs a("joiner", args, {"sep"});
          const std::string sep = a.get_string(0).value_or(", ");
          auto used = std::make_shared<bool>(false);
          return Value::function("joiner", [sep, used](Renderer&, CallArgs&) {
            if (!*used) {
              *used = true;
              return Value::string("");
            }
            return Value::string(sep);
          });
        }));
  g.set("raise_exception", Value::function("raise_exception", [](Renderer&, CallArgs& args) -> Value {
          BoundArgs a("raise_exception", args, {"message"});
          throw Error(ErrorKind::kRaised, a.has(0) ? a.get(0).to_str() : std::string());
        }));
  g.set("strftime_now", Value::function("strftime_now", strftime_now));
  return g;
}

}  // namespace tandem::jinja
