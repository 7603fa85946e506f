#pragma once
// The syntax tree of a parsed template. Nodes are plain structs with a kind and the fields
// that kind uses (noted per field); the renderer walks them directly.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "chat/jinja_value.h"

namespace tandem::jinja {

enum class ExprKind {
  kLiteral,    // literal
  kName,       // name
  kList,       // operands: items
  kTuple,      // operands: items
  kDict,       // operands: key0, value0, key1, value1, ...
  kNegate,     // operands[0]; name is "-" or "+"
  kNot,        // operands[0]
  kBinary,     // name: + - * / // % **; operands[0], operands[1]
  kAnd,        // operands[0], operands[1]
  kOr,         // operands[0], operands[1]
  kConcat,     // operands: the pieces joined with ~
  kCompare,    // operands[0] then one operand per compare_ops entry
  kCondition,  // operands: value, condition, else-value (may be null): `value if condition else other`
  kGetAttr,    // operands[0].name
  kGetItem,    // operands[0][operands[1]]
  kSlice,      // operands: start, stop, step (each may be null); only as a kGetItem index
  kCall,       // operands[0](operands[1..], keywords)
  kFilter,     // operands[0] | name(operands[1..], keywords); operands[0] is null in filter blocks
  kTest,       // operands[0] is name(operands[1..], keywords)
};

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  ExprKind kind = ExprKind::kLiteral;
  int line = 0;
  Value literal;
  std::string name;
  std::vector<ExprPtr> operands;
  std::vector<std::string> compare_ops;  // ==, !=, <, <=, >, >=, in, notin
  std::vector<std::pair<std::string, ExprPtr>> keywords;
  ExprPtr star_args;    // f(*args)
  ExprPtr star_kwargs;  // f(**kwargs)
};

// Where `set`, `for` and `with` store values.
struct Target {
  enum class Kind { kName, kTuple, kNamespaceAttr };
  Kind kind = Kind::kName;
  std::vector<std::string> names;  // one name, the tuple's names, or the namespace variable
  std::string attribute;           // kNamespaceAttr: ns.attribute
};

enum class StmtKind {
  kText,         // text
  kPrint,        // {{ expr }}
  kIf,           // branches (condition, body), else_body
  kFor,          // target in expr [if filter]: body, else_body
  kSet,          // target = expr
  kSetBlock,     // {% set target | filter %}body{% endset %}; filter may be null
  kMacro,        // name(params = defaults): body
  kCallBlock,    // {% call(params) expr %}body{% endcall %}
  kFilterBlock,  // {% filter filter %}body{% endfilter %}
  kWith,         // {% with targets = values %}body{% endwith %}
  kScope,        // body in its own scope ({% generation %})
  kBreak,
  kContinue,
};

struct Stmt;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

struct Macro {
  std::string name;
  std::vector<std::string> params;
  std::vector<ExprPtr> defaults;  // for the last defaults.size() params
  Body body;
  // Whether the body mentions these names; jinja accepts extra arguments only then.
  bool uses_varargs = false;
  bool uses_kwargs = false;
  bool uses_caller = false;
};

struct Stmt {
  StmtKind kind = StmtKind::kText;
  int line = 0;
  std::string text;
  ExprPtr expr;
  ExprPtr filter;  // kFor: loop filter; kSetBlock, kFilterBlock: a kFilter chain over a null base
  Target target;
  std::vector<std::pair<ExprPtr, Body>> branches;
  Body body;
  Body else_body;
  std::shared_ptr<Macro> macro;  // kMacro, and the caller of a kCallBlock
  std::vector<Target> with_targets;
  std::vector<ExprPtr> with_values;
};

}  // namespace tandem::jinja
