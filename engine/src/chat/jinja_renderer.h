#pragma once
// Walks a parsed template and produces its text. Scoping follows jinja2: `set` at the top
// level or inside if-blocks changes the template's variable, while each for-loop iteration,
// macro call and with-block gets its own scope (hence namespace() for loop-carried state).
//
// One Renderer renders one template once; it is not thread-safe, but any number may render
// the same parsed template concurrently.

#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "chat/jinja_ast.h"
#include "chat/jinja_value.h"

namespace tandem::jinja {

struct Scope;

class Renderer {
 public:
  explicit Renderer(const std::tm& now);
  ~Renderer();
  Renderer(const Renderer&) = delete;
  Renderer& operator=(const Renderer&) = delete;

  // Renders `body` with the context's variables and jinja's globals. Throws jinja::Error.
  std::string render(const Body& body, const Dict& context);

  // What builtins (filters, methods, globals) need from the interpreter.
  Value call(const Value& callee, CallArgs& args);
  Value get_attr(const Value& obj, const std::string& name);  // obj.name
  Value get_item(const Value& obj, const Value& key);         // obj[key]
  const std::tm& now() const { return now_; }
  // Counts work against the render's budget; builtins that make many values (range) call it.
  void charge_steps(size_t steps);
  // Registers a namespace() made during this render. Namespaces are the only mutable values,
  // so the only way to build a reference cycle ({% set ns.me = ns %}); the renderer empties
  // them when it is done so that such a cycle is not leaked.
  void adopt_namespace(const Value& ns) { namespaces_.push_back(ns); }

 private:
  using ScopePtr = std::shared_ptr<Scope>;
  enum class Flow { kNormal, kBreak, kContinue };

  Flow exec_body(const Body& body, const ScopePtr& scope, std::string& out);
  Flow exec(const Stmt& stmt, const ScopePtr& scope, std::string& out);
  Flow exec_for(const Stmt& stmt, const ScopePtr& scope, std::string& out);
  void assign(const Target& target, const Value& value, const ScopePtr& scope);
  Value make_macro(const Macro& macro, const ScopePtr& scope);
  Value invoke_macro(const Macro& macro, const ScopePtr& parent, CallArgs& args);
  Value apply_filter_chain(const Expr* filter, Value input, const ScopePtr& scope);

  Value eval(const Expr& expr, const ScopePtr& scope);
  CallArgs eval_args(const Expr& expr, size_t first_operand, const ScopePtr& scope);
  Value slice(const Value& obj, const Expr& slice_expr, const ScopePtr& scope);
  void charge(size_t output_bytes);

  std::tm now_;
  std::vector<ScopePtr> captured_scopes_;  // scopes closures point into, alive for the render
  std::vector<Value> namespaces_;
  int call_depth_ = 0;
  size_t steps_ = 0;
  size_t output_bytes_ = 0;
  bool folding_constants_ = false;  // evaluating a {{ }} that jinja folds at compile time
};

// Python iteration: list/tuple items, str code points, dict keys; an Undefined yields nothing.
std::vector<Value> iterate(const Value& v);

}  // namespace tandem::jinja
