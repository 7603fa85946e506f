#include "chat/jinja_renderer.h"

#include <algorithm>
#include <unordered_map>

#include "chat/jinja_builtins.h"
#include "chat/jinja_error.h"
#include "chat/jinja_operators.h"
#include "chat/jinja_text.h"

namespace tandem::jinja {

namespace {
// Guards against templates that would never finish or exhaust memory. Python's own limits are
// the interpreter recursion limit (macros) and the sandbox's MAX_RANGE; these sit well above
// anything a chat template needs.
constexpr int kMaxCallDepth = 200;
constexpr size_t kMaxSteps = 5'000'000;
constexpr size_t kMaxOutputBytes = size_t{256} << 20;

// jinja's name for an object's type in "has no attribute" messages.
std::string object_type_repr(const Value& v) {
  if (v.is_none()) return "None";
  if (v.is_namespace()) return "jinja2.utils.Namespace object";
  if (v.is_function()) return "function object";
  return v.type_name() + " object";
}

Value no_attribute(const Value& obj, const std::string& name) {
  std::string message(1, '\'');
  message += object_type_repr(obj);
  message += "' has no attribute '";
  message += name;
  message += '\'';
  return Value::undefined(std::move(message));
}

Value no_element(const Value& obj, const Value& key) {
  return Value::undefined(object_type_repr(obj) + " has no element " + key.repr());
}

// Python's slice index normalisation for a sequence of length n.
void adjust_slice(int64_t n, std::optional<int64_t> start, std::optional<int64_t> stop, int64_t step, int64_t& begin,
                  int64_t& end) {
  const int64_t lower = step < 0 ? -1 : 0;
  const int64_t upper = step < 0 ? n - 1 : n;
  auto clamp = [&](std::optional<int64_t> v, int64_t dflt) {
    if (!v) return dflt;
    int64_t x = *v;
    if (x < 0) {
      x += n;
      if (x < 0) x = lower;
    } else if (x >= n) {
      x = upper;
    }
    return x;
  };
  begin = clamp(start, step < 0 ? upper : lower);
  end = clamp(stop, step < 0 ? lower : upper);
}

// Whether jinja's compiler tries to fold this printed expression to a constant: no variables,
// no calls (the sandbox refuses to fold those) and no filters that need the render context.
bool is_foldable(const Expr& e) {
  switch (e.kind) {
    case ExprKind::kName:
    case ExprKind::kCall: return false;
    case ExprKind::kFilter:
      if (e.name == "map" || e.name == "select" || e.name == "reject" || e.name == "selectattr" ||
          e.name == "rejectattr") {
        return false;
      }
      break;
    default: break;
  }
  return std::all_of(e.operands.begin(), e.operands.end(), [](const ExprPtr& o) { return !o || is_foldable(*o); });
}

[[noreturn]] void fail_too_long() {
  fail("the template runs too long (more than 5 million statements and loop iterations)");
}
}  // namespace

struct Scope {
  explicit Scope(std::shared_ptr<Scope> p) : parent(std::move(p)) {}
  std::shared_ptr<Scope> parent;
  std::unordered_map<std::string, Value> vars;

  const Value* find(const std::string& name) const {
    for (const Scope* s = this; s; s = s->parent.get()) {
      auto it = s->vars.find(name);
      if (it != s->vars.end()) return &it->second;
    }
    return nullptr;
  }
};

Renderer::Renderer(const std::tm& now) : now_(now) {}
Renderer::~Renderer() {
  for (const Value& ns : namespaces_) ns.as_namespace().attributes.entries.clear();
}

std::vector<Value> iterate(const Value& v) {
  switch (v.kind()) {
    case Kind::kUndefined: return {};
    case Kind::kList: return v.as_list().items;
    case Kind::kString: {
      std::vector<Value> chars;
      for (char32_t c : decode_utf8(v.as_string())) {
        std::string s;
        append_utf8(s, c);
        chars.push_back(Value::string(std::move(s)));
      }
      return chars;
    }
    case Kind::kDict: {
      std::vector<Value> keys;
      for (const auto& [k, unused] : v.as_dict().entries) keys.push_back(Value::string(k));
      return keys;
    }
    default: fail("TypeError: '" + v.type_name() + "' object is not iterable");
  }
}

std::string Renderer::render(const Body& body, const Dict& context) {
  auto globals = std::make_shared<Scope>(nullptr);
  for (auto& [name, value] : make_globals().entries) globals->vars[name] = value;
  auto root = std::make_shared<Scope>(globals);
  for (const auto& [name, value] : context.entries) root->vars[name] = value;
  std::string out;
  exec_body(body, root, out);
  captured_scopes_.clear();
  return out;
}

void Renderer::charge_steps(size_t steps) {
  steps_ += steps;
  if (steps_ > kMaxSteps) fail_too_long();
}

void Renderer::charge(size_t output_bytes) {
  output_bytes_ += output_bytes;
  if (output_bytes_ > kMaxOutputBytes) fail("MemoryError: the rendered text exceeds 256 MiB");
}

Renderer::Flow Renderer::exec_body(const Body& body, const ScopePtr& scope, std::string& out) {
  for (const auto& stmt : body) {
    const Flow flow = exec(*stmt, scope, out);
    if (flow != Flow::kNormal) return flow;
  }
  return Flow::kNormal;
}

Renderer::Flow Renderer::exec(const Stmt& stmt, const ScopePtr& scope, std::string& out) {
  charge_steps(1);
  try {
    switch (stmt.kind) {
      case StmtKind::kText:
        charge(stmt.text.size());
        out += stmt.text;
        return Flow::kNormal;
      case StmtKind::kPrint: {
        std::string text;
        if (is_foldable(*stmt.expr)) {
          // Folding either succeeds or jinja evaluates the expression at run time as usual.
          folding_constants_ = true;
          try {
            text = eval(*stmt.expr, scope).to_str();
            folding_constants_ = false;
          } catch (const Error&) {
            folding_constants_ = false;
            text = eval(*stmt.expr, scope).to_str();
          }
        } else {
          text = eval(*stmt.expr, scope).to_str();
        }
        charge(text.size());
        out += text;
        return Flow::kNormal;
      }
      case StmtKind::kIf:
        for (const auto& [condition, branch] : stmt.branches) {
          if (eval(*condition, scope).truthy()) return exec_body(branch, scope, out);
        }
        return exec_body(stmt.else_body, scope, out);
      case StmtKind::kFor: return exec_for(stmt, scope, out);
      case StmtKind::kSet: assign(stmt.target, eval(*stmt.expr, scope), scope); return Flow::kNormal;
      case StmtKind::kSetBlock: {
        auto inner = std::make_shared<Scope>(scope);
        std::string text;
        exec_body(stmt.body, inner, text);
        assign(stmt.target, apply_filter_chain(stmt.filter.get(), Value::string(std::move(text)), scope), scope);
        return Flow::kNormal;
      }
      case StmtKind::kMacro: scope->vars[stmt.macro->name] = make_macro(*stmt.macro, scope); return Flow::kNormal;
      case StmtKind::kCallBlock: {
        const Expr& call = *stmt.expr;
        Value callee = eval(*call.operands[0], scope);
        CallArgs args = eval_args(call, 1, scope);
        args.keyword.emplace_back("caller", make_macro(*stmt.macro, scope));
        const std::string text = this->call(callee, args).to_str();
        charge(text.size());
        out += text;
        return Flow::kNormal;
      }
      case StmtKind::kFilterBlock: {
        auto inner = std::make_shared<Scope>(scope);
        std::string text;
        exec_body(stmt.body, inner, text);
        const std::string filtered = apply_filter_chain(stmt.filter.get(), Value::string(std::move(text)), scope).to_str();
        charge(filtered.size());
        out += filtered;
        return Flow::kNormal;
      }
      case StmtKind::kWith: {
        auto inner = std::make_shared<Scope>(scope);
        for (size_t i = 0; i < stmt.with_targets.size(); ++i) {
          inner->vars[stmt.with_targets[i].names[0]] = eval(*stmt.with_values[i], scope);
        }
        return exec_body(stmt.body, inner, out);
      }
      case StmtKind::kScope: {
        auto inner = std::make_shared<Scope>(scope);
        exec_body(stmt.body, inner, out);
        return Flow::kNormal;
      }
      case StmtKind::kBreak: return Flow::kBreak;
      case StmtKind::kContinue: return Flow::kContinue;
    }
  } catch (Error& e) {
    if (e.line() == 0) e.set_line(stmt.line);
    throw;
  }
  return Flow::kNormal;
}

Renderer::Flow Renderer::exec_for(const Stmt& stmt, const ScopePtr& scope, std::string& out) {
  std::vector<Value> items = iterate(eval(*stmt.expr, scope));
  if (stmt.filter) {
    std::vector<Value> kept;
    for (Value& item : items) {
      charge_steps(1);
      auto probe = std::make_shared<Scope>(scope);
      assign(stmt.target, item, probe);
      if (eval(*stmt.filter, probe).truthy()) kept.push_back(std::move(item));
    }
    items = std::move(kept);
  }
  if (items.empty()) return exec_body(stmt.else_body, scope, out);
  const auto n = static_cast<int64_t>(items.size());
  for (int64_t i = 0; i < n; ++i) {
    charge_steps(1);
    auto inner = std::make_shared<Scope>(scope);
    assign(stmt.target, items[static_cast<size_t>(i)], inner);
    Dict loop;
    loop.entries.reserve(13);
    loop.set("index", Value::integer(i + 1));
    loop.set("index0", Value::integer(i));
    loop.set("revindex", Value::integer(n - i));
    loop.set("revindex0", Value::integer(n - i - 1));
    loop.set("first", Value::boolean(i == 0));
    loop.set("last", Value::boolean(i == n - 1));
    loop.set("length", Value::integer(n));
    loop.set("depth", Value::integer(1));  // loops are never recursive here
    loop.set("depth0", Value::integer(0));
    if (i > 0) loop.set("previtem", items[static_cast<size_t>(i - 1)]);
    if (i + 1 < n) loop.set("nextitem", items[static_cast<size_t>(i + 1)]);
    loop.set("cycle", Value::function("loop.cycle", [i](Renderer&, CallArgs& args) {
               if (args.positional.empty()) fail("TypeError: no items for cycling given");
               return args.positional[static_cast<size_t>(i) % args.positional.size()];
             }));
    inner->vars["loop"] = Value::dict(std::move(loop));
    if (exec_body(stmt.body, inner, out) == Flow::kBreak) break;
  }
  return Flow::kNormal;
}

void Renderer::assign(const Target& target, const Value& value, const ScopePtr& scope) {
  switch (target.kind) {
    case Target::Kind::kName: scope->vars[target.names[0]] = value; return;
    case Target::Kind::kTuple: {
      if (value.is_undefined()) fail_undefined(value);
      const std::vector<Value> items = iterate(value);
      const size_t want = target.names.size();
      if (items.size() < want) {
        fail("ValueError: not enough values to unpack (expected " + std::to_string(want) + ", got " +
             std::to_string(items.size()) + ")");
      }
      if (items.size() > want) fail("ValueError: too many values to unpack (expected " + std::to_string(want) + ")");
      for (size_t i = 0; i < want; ++i) scope->vars[target.names[i]] = items[i];
      return;
    }
    case Target::Kind::kNamespaceAttr: {
      const Value* ns = scope->find(target.names[0]);
      if (!ns || !ns->is_namespace()) {
        fail("cannot assign attribute on non-namespace object '" + target.names[0] + "'");
      }
      ns->as_namespace().attributes.set(target.attribute, value);
      return;
    }
  }
}

Value Renderer::make_macro(const Macro& macro, const ScopePtr& scope) {
  // The closure holds its defining scope weakly (a shared_ptr would form a cycle with the scope
  // that stores the macro); captured_scopes_ keeps it alive until the render ends.
  captured_scopes_.push_back(scope);
  std::weak_ptr<Scope> defining = scope;
  const Macro* m = &macro;
  return Value::function("macro '" + macro.name + "'", [m, defining](Renderer& r, CallArgs& args) {
    ScopePtr parent = defining.lock();
    if (!parent) fail("a macro was called after its template finished rendering");
    return r.invoke_macro(*m, parent, args);
  });
}

Value Renderer::invoke_macro(const Macro& macro, const ScopePtr& parent, CallArgs& args) {
  if (call_depth_ >= kMaxCallDepth) fail("RecursionError: macro calls nested more than 200 deep");
  struct DepthGuard {
    int& depth;
    explicit DepthGuard(int& d) : depth(d) { ++depth; }
    ~DepthGuard() { --depth; }
  } guard(call_depth_);

  auto scope = std::make_shared<Scope>(parent);
  const size_t n_params = macro.params.size();
  std::vector<bool> bound(n_params, false);
  std::vector<Value> varargs;
  Dict kwargs;
  for (size_t i = 0; i < args.positional.size(); ++i) {
    if (i < n_params) {
      scope->vars[macro.params[i]] = args.positional[i];
      bound[i] = true;
    } else if (macro.uses_varargs) {
      varargs.push_back(args.positional[i]);
    } else {
      fail("TypeError: " + std::string("macro '") + macro.name + "' takes not more than " + std::to_string(n_params) +
           " argument(s)");
    }
  }
  bool caller_given = false;
  for (auto& [name, value] : args.keyword) {
    size_t i = 0;
    while (i < n_params && macro.params[i] != name) ++i;
    if (i < n_params) {
      if (bound[i]) fail("TypeError: macro '" + macro.name + "' got multiple values for argument '" + name + "'");
      scope->vars[name] = value;
      bound[i] = true;
    } else if (name == "caller" && macro.uses_caller) {
      scope->vars["caller"] = value;
      caller_given = true;
    } else if (macro.uses_kwargs) {
      kwargs.set(name, value);
    } else {
      fail("TypeError: macro '" + macro.name + "' takes no keyword argument '" + name + "'");
    }
  }
  const size_t first_default = n_params - macro.defaults.size();
  for (size_t i = 0; i < n_params; ++i) {
    if (bound[i]) continue;
    if (i >= first_default) {
      scope->vars[macro.params[i]] = eval(*macro.defaults[i - first_default], scope);
    } else {
      scope->vars[macro.params[i]] = Value::undefined("parameter '" + macro.params[i] + "' was not provided");
    }
  }
  if (macro.uses_varargs) scope->vars["varargs"] = Value::tuple(std::move(varargs));
  if (macro.uses_kwargs) scope->vars["kwargs"] = Value::dict(std::move(kwargs));
  if (macro.uses_caller && !caller_given) scope->vars["caller"] = Value::undefined("'caller' is undefined");
  std::string out;
  exec_body(macro.body, scope, out);
  return Value::string(std::move(out));
}

Value Renderer::apply_filter_chain(const Expr* filter, Value input, const ScopePtr& scope) {
  if (!filter) return input;
  // The chain is nested with the first filter innermost and a null base at the bottom.
  if (filter->operands[0]) input = apply_filter_chain(filter->operands[0].get(), std::move(input), scope);
  CallArgs args = eval_args(*filter, 1, scope);
  return apply_filter(*this, filter->name, input, args);
}

Value Renderer::call(const Value& callee, CallArgs& args) {
  if (callee.is_undefined()) fail_undefined(callee);
  if (!callee.is_function()) fail("TypeError: '" + callee.type_name() + "' object is not callable");
  return callee.as_function().call(*this, args);
}

Value Renderer::get_attr(const Value& obj, const std::string& name) {
  if (obj.is_undefined()) fail_undefined(obj);
  if (name.size() >= 2 && name[0] == '_' && name[1] == '_') {
    return Value::undefined("access to attribute '" + name + "' of '" + obj.type_name() + "' object is unsafe.");
  }
  if (auto method = find_method(obj, name)) return *method;
  if (obj.is_dict()) {
    if (const Value* v = obj.as_dict().find(name)) return *v;
  } else if (obj.is_namespace()) {
    if (const Value* v = obj.as_namespace().attributes.find(name)) return *v;
  }
  return no_attribute(obj, name);
}

Value Renderer::get_item(const Value& obj, const Value& key) {
  if (obj.is_undefined()) fail_undefined(obj);
  // An undefined key is just a key no container has (Python hashes jinja's Undefined).
  if (obj.is_dict() && key.is_string()) {
    if (const Value* v = obj.as_dict().find(key.as_string())) return *v;
  } else if (((obj.is_list() && !obj.as_list().view) || obj.is_string()) && (key.is_int() || key.is_bool())) {
    int64_t i = key.as_int();
    if (obj.is_list()) {
      const auto& items = obj.as_list().items;
      const auto n = static_cast<int64_t>(items.size());
      if (i < 0) i += n;
      if (i >= 0 && i < n) return items[static_cast<size_t>(i)];
    } else {
      const std::u32string u = decode_utf8(obj.as_string());
      const auto n = static_cast<int64_t>(u.size());
      if (i < 0) i += n;
      if (i >= 0 && i < n) {
        std::string s;
        append_utf8(s, u[static_cast<size_t>(i)]);
        return Value::string(std::move(s));
      }
    }
    return no_element(obj, key);
  }
  // Python's obj[key] failed; jinja then tries getattr(obj, key) for string keys.
  if (key.is_string()) {
    if (auto method = find_method(obj, key.as_string())) return *method;
    if (obj.is_namespace()) {
      if (const Value* v = obj.as_namespace().attributes.find(key.as_string())) return *v;
    }
    return no_attribute(obj, key.as_string());
  }
  return no_element(obj, key);
}

Value Renderer::slice(const Value& obj, const Expr& slice_expr, const ScopePtr& scope) {
  // jinja compiles a slice to a plain Python subscript (not environment.getitem), so a bad
  // slice is an error rather than an undefined value.
  if (obj.is_undefined()) fail_undefined(obj);
  std::optional<int64_t> bounds[3];
  for (int k = 0; k < 3; ++k) {
    if (!slice_expr.operands[static_cast<size_t>(k)]) continue;
    const Value v = eval(*slice_expr.operands[static_cast<size_t>(k)], scope);
    if (v.is_int() || v.is_bool()) {
      bounds[k] = v.as_int();
    } else if (!v.is_none()) {
      if (v.is_undefined()) fail_undefined(v);
      if (obj.is_list() || obj.is_string()) {
        fail("TypeError: slice indices must be integers or None or have an __index__ method");
      }
    }
  }
  const bool sliceable = (obj.is_list() && !obj.as_list().view) || obj.is_string();
  if (!sliceable && folding_constants_) {
    // jinja folds a constant {{ ... }} at compile time through environment.getitem, which
    // turns the TypeError into an undefined value (`{{ 3[1:] }}` prints nothing).
    return Value::undefined(std::string("'") + object_type_repr(obj) + "' cannot be sliced");
  }
  if (obj.is_dict()) fail("TypeError: unhashable type: 'slice'");
  if (!sliceable) fail("TypeError: '" + obj.type_name() + "' object is not subscriptable");
  const int64_t step = bounds[2].value_or(1);
  if (step == 0) fail("ValueError: slice step cannot be zero");
  if (obj.is_list()) {
    const auto& items = obj.as_list().items;
    int64_t begin, end;
    adjust_slice(static_cast<int64_t>(items.size()), bounds[0], bounds[1], step, begin, end);
    std::vector<Value> out;
    for (int64_t i = begin; step > 0 ? i < end : i > end; i += step) out.push_back(items[static_cast<size_t>(i)]);
    return obj.as_list().is_tuple ? Value::tuple(std::move(out)) : Value::list(std::move(out));
  }
  const std::u32string u = decode_utf8(obj.as_string());
  int64_t begin, end;
  adjust_slice(static_cast<int64_t>(u.size()), bounds[0], bounds[1], step, begin, end);
  std::u32string out;
  for (int64_t i = begin; step > 0 ? i < end : i > end; i += step) out.push_back(u[static_cast<size_t>(i)]);
  return Value::string(encode_utf8(out));
}

CallArgs Renderer::eval_args(const Expr& expr, size_t first_operand, const ScopePtr& scope) {
  CallArgs args;
  for (size_t i = first_operand; i < expr.operands.size(); ++i) args.positional.push_back(eval(*expr.operands[i], scope));
  for (const auto& [name, value] : expr.keywords) args.keyword.emplace_back(name, eval(*value, scope));
  if (expr.star_args) {
    const Value extra = eval(*expr.star_args, scope);
    for (Value& v : iterate(extra)) args.positional.push_back(std::move(v));
  }
  if (expr.star_kwargs) {
    const Value extra = eval(*expr.star_kwargs, scope);
    if (!extra.is_dict()) fail("TypeError: argument after ** must be a mapping, not " + extra.type_name());
    for (const auto& [name, value] : extra.as_dict().entries) args.keyword.emplace_back(name, value);
  }
  return args;
}

Value Renderer::eval(const Expr& expr, const ScopePtr& scope) {
  switch (expr.kind) {
    case ExprKind::kLiteral: return expr.literal;
    case ExprKind::kName: {
      if (const Value* v = scope->find(expr.name)) return *v;
      return Value::undefined("'" + expr.name + "' is undefined");
    }
    case ExprKind::kList:
    case ExprKind::kTuple: {
      std::vector<Value> items;
      items.reserve(expr.operands.size());
      for (const auto& e : expr.operands) items.push_back(eval(*e, scope));
      return expr.kind == ExprKind::kList ? Value::list(std::move(items)) : Value::tuple(std::move(items));
    }
    case ExprKind::kDict: {
      Dict d;
      for (size_t i = 0; i + 1 < expr.operands.size(); i += 2) {
        const Value key = eval(*expr.operands[i], scope);
        if (!key.is_string()) fail("unsupported: dict literal keys must be strings, got " + key.type_name());
        d.set(key.as_string(), eval(*expr.operands[i + 1], scope));
      }
      return Value::dict(std::move(d));
    }
    case ExprKind::kNegate: return unary_op(expr.name, eval(*expr.operands[0], scope));
    case ExprKind::kNot: return Value::boolean(!eval(*expr.operands[0], scope).truthy());
    case ExprKind::kBinary:
      return binary_op(expr.name, eval(*expr.operands[0], scope), eval(*expr.operands[1], scope));
    case ExprKind::kAnd: {
      Value left = eval(*expr.operands[0], scope);
      return left.truthy() ? eval(*expr.operands[1], scope) : left;
    }
    case ExprKind::kOr: {
      Value left = eval(*expr.operands[0], scope);
      return left.truthy() ? left : eval(*expr.operands[1], scope);
    }
    case ExprKind::kConcat: {
      std::string out;
      for (const auto& e : expr.operands) out += eval(*e, scope).to_str();
      return Value::string(std::move(out));
    }
    case ExprKind::kCompare: {
      Value left = eval(*expr.operands[0], scope);
      for (size_t i = 0; i < expr.compare_ops.size(); ++i) {
        Value right = eval(*expr.operands[i + 1], scope);
        if (!compare(expr.compare_ops[i], left, right)) return Value::boolean(false);
        left = std::move(right);
      }
      return Value::boolean(true);
    }
    case ExprKind::kCondition: {
      if (eval(*expr.operands[1], scope).truthy()) return eval(*expr.operands[0], scope);
      if (expr.operands[2]) return eval(*expr.operands[2], scope);
      return Value::undefined("the inline if-expression on line " + std::to_string(expr.line) +
                              " evaluated to false and no else section was defined.");
    }
    case ExprKind::kGetAttr: return get_attr(eval(*expr.operands[0], scope), expr.name);
    case ExprKind::kGetItem: {
      const Value obj = eval(*expr.operands[0], scope);
      const Expr& index = *expr.operands[1];
      if (index.kind == ExprKind::kSlice) return slice(obj, index, scope);
      return get_item(obj, eval(index, scope));
    }
    case ExprKind::kSlice: fail("unsupported: a slice outside of [...]");
    case ExprKind::kCall: {
      const Value callee = eval(*expr.operands[0], scope);
      CallArgs args = eval_args(expr, 1, scope);
      return call(callee, args);
    }
    case ExprKind::kFilter: {
      const Value input = eval(*expr.operands[0], scope);
      CallArgs args = eval_args(expr, 1, scope);
      return apply_filter(*this, expr.name, input, args);
    }
    case ExprKind::kTest: {
      const Value input = eval(*expr.operands[0], scope);
      CallArgs args = eval_args(expr, 1, scope);
      return Value::boolean(apply_test(*this, expr.name, input, args));
    }
  }
  fail("unsupported expression");
}

}  // namespace tandem::jinja
