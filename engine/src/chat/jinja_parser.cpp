#include "chat/jinja_parser.h"

#include <algorithm>
#include <functional>
#include <initializer_list>

#include "chat/jinja_builtins.h"
#include "chat/jinja_error.h"
#include "chat/jinja_lexer.h"

namespace tandem::jinja {

namespace {

using Names = std::vector<std::string_view>;

// Deeper nesting than this (of blocks or of expressions) is refused rather than risking the
// stack; real chat templates nest a handful of levels.
constexpr int kMaxNesting = 200;

// The tags whose arrival ends a body, and the block they close, for error messages.
struct OpenBlock {
  std::string_view tag;
  int line;
  Names end_tags;
};

std::string quoted_list(const Names& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i) out += i + 1 == names.size() ? " or " : ", ";
    out += "'" + std::string(names[i]) + "'";
  }
  return out;
}

ExprPtr make_expr(ExprKind kind, int line) {
  auto e = std::make_unique<Expr>();
  e->kind = kind;
  e->line = line;
  return e;
}

void collect_names(const Expr* e, const std::function<void(const std::string&)>& visit);

void collect_names(const Body& body, const std::function<void(const std::string&)>& visit) {
  for (const auto& s : body) {
    collect_names(s->expr.get(), visit);
    collect_names(s->filter.get(), visit);
    for (const auto& [cond, branch] : s->branches) {
      collect_names(cond.get(), visit);
      collect_names(branch, visit);
    }
    collect_names(s->body, visit);
    collect_names(s->else_body, visit);
    for (const auto& v : s->with_values) collect_names(v.get(), visit);
    if (s->macro) {
      for (const auto& d : s->macro->defaults) collect_names(d.get(), visit);
      collect_names(s->macro->body, visit);
    }
  }
}

void collect_names(const Expr* e, const std::function<void(const std::string&)>& visit) {
  if (!e) return;
  if (e->kind == ExprKind::kName) visit(e->name);
  for (const auto& o : e->operands) collect_names(o.get(), visit);
  for (const auto& [k, v] : e->keywords) collect_names(v.get(), visit);
  collect_names(e->star_args.get(), visit);
  collect_names(e->star_kwargs.get(), visit);
}

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

  Body parse() {
    Body body = parse_body({});
    return body;
  }

 private:
  // ---- token stream ----
  const Token& current() const { return tokens_[pos_]; }
  const Token& peek(size_t n = 1) const { return tokens_[std::min(pos_ + n, tokens_.size() - 1)]; }
  const Token& advance() {
    const Token& t = tokens_[pos_];
    if (pos_ + 1 < tokens_.size()) ++pos_;
    return t;
  }
  bool at_op(std::string_view op) const { return current().type == TokenType::kOperator && current().text == op; }
  bool at_name(std::string_view name) const { return current().type == TokenType::kName && current().text == name; }
  bool skip_op(std::string_view op) {
    if (!at_op(op)) return false;
    advance();
    return true;
  }
  bool skip_name(std::string_view name) {
    if (!at_name(name)) return false;
    advance();
    return true;
  }

  [[noreturn]] void fail(const std::string& message, int line) const { throw Error(ErrorKind::kSyntax, message, line); }

  // Counts recursion through the parser; see kMaxNesting.
  struct NestingGuard {
    Parser& p;
    explicit NestingGuard(Parser& parser) : p(parser) {
      if (++p.nesting_ > kMaxNesting) {
        p.fail("the template nests blocks or expressions more than " + std::to_string(kMaxNesting) + " levels deep",
               p.current().line);
      }
    }
    ~NestingGuard() { --p.nesting_; }
  };
  [[noreturn]] void fail_unexpected(const std::string& expected) const {
    fail("expected " + expected + ", got " + describe(current()), current().line);
  }

  void expect_op(std::string_view op) {
    if (!skip_op(op)) fail_unexpected("'" + std::string(op) + "'");
  }
  std::string expect_name() {
    if (current().type != TokenType::kName) fail_unexpected("a name");
    return advance().text;
  }
  void expect_block_end() {
    if (current().type != TokenType::kBlockEnd) fail_unexpected("end of statement block '%}'");
    advance();
  }

  // ---- statements ----

  // Parses statements until a block whose tag is in `end_tags`; leaves the stream on that tag
  // name (after its `{%`).
  Body parse_body(Names end_tags) {
    Body body;
    while (true) {
      const Token& t = current();
      switch (t.type) {
        case TokenType::kText: {
          auto s = std::make_unique<Stmt>();
          s->kind = StmtKind::kText;
          s->line = t.line;
          s->text = t.text;
          body.push_back(std::move(s));
          advance();
          break;
        }
        case TokenType::kVariableBegin: {
          const int line = advance().line;
          auto s = std::make_unique<Stmt>();
          s->kind = StmtKind::kPrint;
          s->line = line;
          s->expr = parse_tuple(false, true, {}, false);
          if (current().type != TokenType::kVariableEnd) fail_unexpected("end of print statement '}}'");
          advance();
          body.push_back(std::move(s));
          break;
        }
        case TokenType::kBlockBegin: {
          const Token& tag = peek();
          if (tag.type == TokenType::kName &&
              std::find(end_tags.begin(), end_tags.end(), tag.text) != end_tags.end()) {
            advance();
            return body;
          }
          advance();
          parse_statement(body);
          break;
        }
        case TokenType::kEnd:
          if (!end_tags.empty()) {
            const OpenBlock& open = open_blocks_.back();
            fail("unexpected end of template: the '" + std::string(open.tag) + "' block opened on line " +
                     std::to_string(open.line) + " needs " + quoted_list(open.end_tags),
                 t.line);
          }
          return body;
        default: fail("unexpected " + describe(t), t.line);
      }
    }
  }

  // Parses the body of a block tag that ends with one of `end_tags`; returns the tag that
  // ended it and leaves the stream after that tag's name.
  std::string parse_block_body(std::string_view tag, int line, Names end_tags, Body& body) {
    NestingGuard guard(*this);
    open_blocks_.push_back({tag, line, end_tags});
    body = parse_body(end_tags);
    open_blocks_.pop_back();
    return advance().text;
  }

  void parse_statement(Body& body) {
    const Token& tag = current();
    if (tag.type != TokenType::kName) fail("expected a tag name after '{%', got " + describe(tag), tag.line);
    const std::string name = tag.text;
    const int line = tag.line;
    advance();
    auto s = std::make_unique<Stmt>();
    s->line = line;
    if (name == "if") {
      parse_if(*s, line);
    } else if (name == "for") {
      parse_for(*s, line);
    } else if (name == "set") {
      parse_set(*s, line);
    } else if (name == "macro") {
      parse_macro(*s, line);
    } else if (name == "call") {
      parse_call_block(*s, line);
    } else if (name == "filter") {
      s->kind = StmtKind::kFilterBlock;
      s->filter = parse_filters(nullptr, /*start_inline=*/true);
      expect_block_end();
      parse_block_body("filter", line, {"endfilter"}, s->body);
      expect_block_end();
    } else if (name == "with") {
      parse_with(*s, line);
    } else if (name == "print") {
      s->kind = StmtKind::kPrint;
      s->expr = parse_tuple(false, true, {}, false);
      expect_block_end();
    } else if (name == "generation") {
      s->kind = StmtKind::kScope;
      expect_block_end();
      parse_block_body("generation", line, {"endgeneration"}, s->body);
      expect_block_end();
    } else if (name == "break" || name == "continue") {
      if (loop_depth_ == 0) fail("'" + name + "' outside of a for loop", line);
      s->kind = name == "break" ? StmtKind::kBreak : StmtKind::kContinue;
      expect_block_end();
    } else if (name == "include" || name == "extends" || name == "import" || name == "from" || name == "block") {
      fail("unsupported tag '" + name + "': chat templates are rendered standalone, without a template loader",
           line);
    } else if (name == "autoescape") {
      fail("unsupported tag 'autoescape': chat templates render without HTML escaping", line);
    } else if (name == "do") {
      fail("unknown tag 'do': the jinja2 'do' extension is not enabled for chat templates (as in transformers)",
           line);
    } else {
      if (!open_blocks_.empty()) {
        const OpenBlock& open = open_blocks_.back();
        fail("unexpected tag '" + name + "': the '" + std::string(open.tag) + "' block opened on line " +
                 std::to_string(open.line) + " expects " + quoted_list(open.end_tags),
             line);
      }
      fail("unknown tag '" + name + "'", line);
    }
    body.push_back(std::move(s));
  }

  void parse_if(Stmt& s, int line) {
    s.kind = StmtKind::kIf;
    ExprPtr condition = parse_tuple(false, false, {}, false);
    expect_block_end();
    while (true) {
      Body branch;
      const std::string ended = parse_block_body("if", line, {"elif", "else", "endif"}, branch);
      s.branches.emplace_back(std::move(condition), std::move(branch));
      if (ended == "elif") {
        condition = parse_tuple(false, false, {}, false);
        expect_block_end();
        continue;
      }
      if (ended == "else") {
        expect_block_end();
        parse_block_body("if", line, {"endif"}, s.else_body);
      }
      expect_block_end();
      return;
    }
  }

  void parse_for(Stmt& s, int line) {
    s.kind = StmtKind::kFor;
    s.target = parse_target(/*with_namespace=*/false, {"in"});
    if (!skip_name("in")) fail_unexpected("'in'");
    s.expr = parse_tuple(false, false, {"recursive"}, false);
    if (skip_name("if")) s.filter = parse_expression(true);
    if (at_name("recursive")) fail("unsupported: recursive for loops", current().line);
    expect_block_end();
    ++loop_depth_;
    const std::string ended = parse_block_body("for", line, {"endfor", "else"}, s.body);
    --loop_depth_;
    if (ended == "else") {
      expect_block_end();
      parse_block_body("for", line, {"endfor"}, s.else_body);
    }
    expect_block_end();
  }

  void parse_set(Stmt& s, int line) {
    s.target = parse_target(/*with_namespace=*/true, {});
    if (skip_op("=")) {
      s.kind = StmtKind::kSet;
      s.expr = parse_tuple(false, true, {}, false);
      expect_block_end();
      return;
    }
    s.kind = StmtKind::kSetBlock;
    if (s.target.kind != Target::Kind::kName) fail("a block set needs a single variable name", line);
    if (at_op("|")) s.filter = parse_filters(nullptr, false);
    expect_block_end();
    parse_block_body("set", line, {"endset"}, s.body);
    expect_block_end();
  }

  void parse_signature(Macro& m) {
    expect_op("(");
    while (!at_op(")")) {
      if (!m.params.empty()) expect_op(",");
      m.params.push_back(expect_name());
      if (skip_op("=")) {
        m.defaults.push_back(parse_expression(true));
      } else if (!m.defaults.empty()) {
        fail("non-default argument follows default argument", current().line);
      }
    }
    expect_op(")");
  }

  void mark_special_names(Macro& m) {
    collect_names(m.body, [&](const std::string& n) {
      if (n == "varargs") m.uses_varargs = true;
      if (n == "kwargs") m.uses_kwargs = true;
      if (n == "caller") m.uses_caller = true;
    });
  }

  void parse_macro(Stmt& s, int line) {
    s.kind = StmtKind::kMacro;
    s.macro = std::make_shared<Macro>();
    s.macro->name = expect_name();
    parse_signature(*s.macro);
    expect_block_end();
    const int saved_depth = loop_depth_;
    loop_depth_ = 0;
    parse_block_body("macro", line, {"endmacro"}, s.macro->body);
    loop_depth_ = saved_depth;
    expect_block_end();
    mark_special_names(*s.macro);
  }

  void parse_call_block(Stmt& s, int line) {
    s.kind = StmtKind::kCallBlock;
    s.macro = std::make_shared<Macro>();
    s.macro->name = "caller";
    if (at_op("(")) parse_signature(*s.macro);
    s.expr = parse_expression(true);
    if (s.expr->kind != ExprKind::kCall) fail("{% call %} needs a macro call, like {% call wrap() %}", line);
    expect_block_end();
    const int saved_depth = loop_depth_;
    loop_depth_ = 0;
    parse_block_body("call", line, {"endcall"}, s.macro->body);
    loop_depth_ = saved_depth;
    expect_block_end();
    mark_special_names(*s.macro);
  }

  void parse_with(Stmt& s, int line) {
    s.kind = StmtKind::kWith;
    while (current().type != TokenType::kBlockEnd) {
      if (!s.with_targets.empty()) expect_op(",");
      Target t;
      t.names.push_back(expect_name());
      s.with_targets.push_back(std::move(t));
      expect_op("=");
      s.with_values.push_back(parse_expression(true));
    }
    expect_block_end();
    parse_block_body("with", line, {"endwith"}, s.body);
    expect_block_end();
  }

  // A name, a namespace attribute (ns.x, only for set) or a tuple of names.
  Target parse_target(bool with_namespace, Names extra_end) {
    Target t;
    std::vector<std::string> names;
    bool is_tuple = false;
    while (true) {
      if (!names.empty()) expect_op(",");
      if (is_tuple_end(extra_end)) break;
      if (at_op("(")) fail("unsupported: nested tuple assignment targets", current().line);
      if (current().type != TokenType::kName) fail_unexpected("a variable name to assign to");
      const int line = current().line;
      std::string name = advance().text;
      if (name == "true" || name == "false" || name == "none" || name == "True" || name == "False" ||
          name == "None") {
        fail("can't assign to the constant '" + name + "'", line);
      }
      if (with_namespace && at_op(".")) {
        advance();
        t.kind = Target::Kind::kNamespaceAttr;
        t.names = {std::move(name)};
        t.attribute = expect_name();
        return t;
      }
      names.push_back(std::move(name));
      if (!at_op(",")) break;
      is_tuple = true;
    }
    if (names.empty()) fail_unexpected("a variable name to assign to");
    t.kind = is_tuple ? Target::Kind::kTuple : Target::Kind::kName;
    t.names = std::move(names);
    return t;
  }

  // ---- expressions ----

  bool is_tuple_end(const Names& extra_end) const {
    const Token& t = current();
    if (t.type == TokenType::kVariableEnd || t.type == TokenType::kBlockEnd || t.type == TokenType::kEnd) return true;
    if (t.type == TokenType::kOperator && t.text == ")") return true;
    return t.type == TokenType::kName && std::find(extra_end.begin(), extra_end.end(), t.text) != extra_end.end();
  }

  ExprPtr parse_tuple(bool simplified, bool with_condexpr, Names extra_end, bool explicit_parentheses) {
    const int line = current().line;
    std::vector<ExprPtr> items;
    bool is_tuple = false;
    while (true) {
      if (!items.empty()) expect_op(",");
      if (is_tuple_end(extra_end)) break;
      items.push_back(simplified ? parse_primary() : parse_expression(with_condexpr));
      if (at_op(",")) {
        is_tuple = true;
      } else {
        break;
      }
    }
    if (!is_tuple) {
      if (!items.empty()) return std::move(items[0]);
      if (!explicit_parentheses) fail("expected an expression, got " + describe(current()), current().line);
    }
    auto e = make_expr(ExprKind::kTuple, line);
    e->operands = std::move(items);
    return e;
  }

  ExprPtr parse_expression(bool with_condexpr) {
    NestingGuard guard(*this);
    return with_condexpr ? parse_condexpr() : parse_or();
  }

  ExprPtr parse_condexpr() {
    int line = current().line;
    ExprPtr value = parse_or();
    while (skip_name("if")) {
      auto e = make_expr(ExprKind::kCondition, line);
      ExprPtr condition = parse_or();
      ExprPtr otherwise = skip_name("else") ? parse_condexpr() : nullptr;
      e->operands.push_back(std::move(value));
      e->operands.push_back(std::move(condition));
      e->operands.push_back(std::move(otherwise));
      value = std::move(e);
      line = current().line;
    }
    return value;
  }

  ExprPtr parse_or() {
    ExprPtr left = parse_and();
    while (at_name("or")) {
      const int line = advance().line;
      auto e = make_expr(ExprKind::kOr, line);
      e->operands.push_back(std::move(left));
      e->operands.push_back(parse_and());
      left = std::move(e);
    }
    return left;
  }

  ExprPtr parse_and() {
    ExprPtr left = parse_not();
    while (at_name("and")) {
      const int line = advance().line;
      auto e = make_expr(ExprKind::kAnd, line);
      e->operands.push_back(std::move(left));
      e->operands.push_back(parse_not());
      left = std::move(e);
    }
    return left;
  }

  ExprPtr parse_not() {
    NestingGuard guard(*this);
    if (at_name("not")) {
      const int line = advance().line;
      auto e = make_expr(ExprKind::kNot, line);
      e->operands.push_back(parse_not());
      return e;
    }
    return parse_compare();
  }

  ExprPtr parse_compare() {
    const int line = current().line;
    ExprPtr first = parse_math1();
    std::vector<std::string> ops;
    std::vector<ExprPtr> rest;
    while (true) {
      const Token& t = current();
      if (t.type == TokenType::kOperator &&
          (t.text == "==" || t.text == "!=" || t.text == "<" || t.text == "<=" || t.text == ">" || t.text == ">=")) {
        ops.push_back(advance().text);
      } else if (at_name("in")) {
        advance();
        ops.push_back("in");
      } else if (at_name("not") && peek().type == TokenType::kName && peek().text == "in") {
        advance();
        advance();
        ops.push_back("notin");
      } else {
        break;
      }
      rest.push_back(parse_math1());
    }
    if (ops.empty()) return first;
    auto e = make_expr(ExprKind::kCompare, line);
    e->operands.push_back(std::move(first));
    for (auto& r : rest) e->operands.push_back(std::move(r));
    e->compare_ops = std::move(ops);
    return e;
  }

  ExprPtr binary(std::string op, ExprPtr left, ExprPtr right, int line) {
    auto e = make_expr(ExprKind::kBinary, line);
    e->name = std::move(op);
    e->operands.push_back(std::move(left));
    e->operands.push_back(std::move(right));
    return e;
  }

  ExprPtr parse_math1() {
    ExprPtr left = parse_concat();
    while (at_op("+") || at_op("-")) {
      const Token& op = advance();
      const std::string text = op.text;
      const int line = op.line;
      left = binary(text, std::move(left), parse_concat(), line);
    }
    return left;
  }

  ExprPtr parse_concat() {
    const int line = current().line;
    ExprPtr first = parse_math2();
    if (!at_op("~")) return first;
    auto e = make_expr(ExprKind::kConcat, line);
    e->operands.push_back(std::move(first));
    while (skip_op("~")) e->operands.push_back(parse_math2());
    return e;
  }

  ExprPtr parse_math2() {
    ExprPtr left = parse_pow();
    while (at_op("*") || at_op("/") || at_op("//") || at_op("%")) {
      const Token& op = advance();
      const std::string text = op.text;
      const int line = op.line;
      left = binary(text, std::move(left), parse_pow(), line);
    }
    return left;
  }

  ExprPtr parse_pow() {
    ExprPtr left = parse_unary(true);
    while (at_op("**")) {
      const int line = advance().line;
      left = binary("**", std::move(left), parse_unary(true), line);
    }
    return left;
  }

  ExprPtr parse_unary(bool with_filter) {
    NestingGuard guard(*this);
    ExprPtr node;
    if (at_op("-") || at_op("+")) {
      const Token& op = advance();
      node = make_expr(ExprKind::kNegate, op.line);
      node->name = op.text;
      node->operands.push_back(parse_unary(false));
    } else {
      node = parse_primary();
    }
    node = parse_postfix(std::move(node));
    if (with_filter) node = parse_filter_expr(std::move(node));
    return node;
  }

  ExprPtr parse_primary() {
    const Token& t = current();
    const int line = t.line;
    switch (t.type) {
      case TokenType::kName: {
        const std::string name = advance().text;
        auto e = make_expr(ExprKind::kLiteral, line);
        if (name == "true" || name == "True") {
          e->literal = Value::boolean(true);
        } else if (name == "false" || name == "False") {
          e->literal = Value::boolean(false);
        } else if (name == "none" || name == "None") {
          e->literal = Value::none();
        } else {
          e->kind = ExprKind::kName;
          e->name = name;
        }
        return e;
      }
      case TokenType::kString: {
        std::string text;
        while (current().type == TokenType::kString) text += advance().text;  // 'a' 'b' is 'ab'
        auto e = make_expr(ExprKind::kLiteral, line);
        e->literal = Value::string(std::move(text));
        return e;
      }
      case TokenType::kInteger: {
        auto e = make_expr(ExprKind::kLiteral, line);
        e->literal = Value::integer(advance().integer);
        return e;
      }
      case TokenType::kFloat: {
        auto e = make_expr(ExprKind::kLiteral, line);
        e->literal = Value::number(advance().number);
        return e;
      }
      case TokenType::kOperator:
        if (t.text == "(") {
          advance();
          ExprPtr e = parse_tuple(false, true, {}, true);
          expect_op(")");
          return e;
        }
        if (t.text == "[") return parse_list();
        if (t.text == "{") return parse_dict();
        break;
      default: break;
    }
    fail("expected an expression, got " + describe(t), line);
  }

  ExprPtr parse_list() {
    auto e = make_expr(ExprKind::kList, advance().line);
    while (!at_op("]")) {
      if (!e->operands.empty()) expect_op(",");
      if (at_op("]")) break;
      e->operands.push_back(parse_expression(true));
    }
    expect_op("]");
    return e;
  }

  ExprPtr parse_dict() {
    auto e = make_expr(ExprKind::kDict, advance().line);
    while (!at_op("}")) {
      if (!e->operands.empty()) expect_op(",");
      if (at_op("}")) break;
      e->operands.push_back(parse_expression(true));
      expect_op(":");
      e->operands.push_back(parse_expression(true));
    }
    expect_op("}");
    return e;
  }

  ExprPtr parse_postfix(ExprPtr node) {
    while (true) {
      if (at_op(".") || at_op("[")) {
        node = parse_subscript(std::move(node));
      } else if (at_op("(")) {
        node = parse_call(std::move(node));
      } else {
        return node;
      }
    }
  }

  ExprPtr parse_filter_expr(ExprPtr node) {
    while (true) {
      if (at_op("|")) {
        node = parse_filters(std::move(node), false);
      } else if (at_name("is")) {
        node = parse_test(std::move(node));
      } else if (at_op("(")) {
        node = parse_call(std::move(node));
      } else {
        return node;
      }
    }
  }

  ExprPtr parse_subscript(ExprPtr node) {
    const Token& t = advance();
    const int line = t.line;
    if (t.text == ".") {
      const Token& attr = current();
      if (attr.type == TokenType::kName) {
        auto e = make_expr(ExprKind::kGetAttr, line);
        e->operands.push_back(std::move(node));
        e->name = advance().text;
        return e;
      }
      if (attr.type != TokenType::kInteger) fail_unexpected("an attribute name or number after '.'");
      auto index = make_expr(ExprKind::kLiteral, attr.line);
      index->literal = Value::integer(advance().integer);
      auto e = make_expr(ExprKind::kGetItem, line);
      e->operands.push_back(std::move(node));
      e->operands.push_back(std::move(index));
      return e;
    }
    std::vector<ExprPtr> args;
    while (!at_op("]")) {
      if (!args.empty()) expect_op(",");
      args.push_back(parse_subscribed());
    }
    expect_op("]");
    if (args.empty()) fail("expected a subscript expression inside '[]'", line);
    auto e = make_expr(ExprKind::kGetItem, line);
    e->operands.push_back(std::move(node));
    if (args.size() == 1) {
      e->operands.push_back(std::move(args[0]));
    } else {
      auto tuple = make_expr(ExprKind::kTuple, line);
      tuple->operands = std::move(args);
      e->operands.push_back(std::move(tuple));
    }
    return e;
  }

  // An index or a slice start:stop:step.
  ExprPtr parse_subscribed() {
    const int line = current().line;
    ExprPtr start;
    if (!at_op(":")) {
      start = parse_expression(true);
      if (!at_op(":")) return start;
    }
    advance();  // the first ':'
    auto slice = make_expr(ExprKind::kSlice, line);
    slice->operands.push_back(std::move(start));
    if (at_op(":") || at_op("]") || at_op(",")) {
      slice->operands.push_back(nullptr);
    } else {
      slice->operands.push_back(parse_expression(true));
    }
    if (skip_op(":")) {
      if (at_op("]") || at_op(",")) {
        slice->operands.push_back(nullptr);
      } else {
        slice->operands.push_back(parse_expression(true));
      }
    } else {
      slice->operands.push_back(nullptr);
    }
    return slice;
  }

  // Parses `(args, name=value, *args, **kwargs)` into e.
  void parse_call_args(Expr& e) {
    const int line = current().line;
    expect_op("(");
    bool require_comma = false;
    auto ensure = [&](bool ok) {
      if (!ok) fail("invalid syntax for function call expression", line);
    };
    while (!at_op(")")) {
      if (require_comma) {
        expect_op(",");
        if (at_op(")")) break;
      }
      if (at_op("*")) {
        ensure(!e.star_args && !e.star_kwargs);
        advance();
        e.star_args = parse_expression(true);
      } else if (at_op("**")) {
        ensure(!e.star_kwargs);
        advance();
        e.star_kwargs = parse_expression(true);
      } else if (current().type == TokenType::kName && peek().type == TokenType::kOperator && peek().text == "=") {
        ensure(!e.star_kwargs);
        std::string key = advance().text;
        advance();
        e.keywords.emplace_back(std::move(key), parse_expression(true));
      } else {
        ensure(!e.star_args && !e.star_kwargs && e.keywords.empty());
        e.operands.push_back(parse_expression(true));
      }
      require_comma = true;
    }
    expect_op(")");
  }

  ExprPtr parse_call(ExprPtr callee) {
    auto e = make_expr(ExprKind::kCall, current().line);
    e->operands.push_back(std::move(callee));
    parse_call_args(*e);
    return e;
  }

  std::string parse_dotted_name() {
    std::string name = expect_name();
    while (skip_op(".")) {
      name += '.';
      name += expect_name();
    }
    return name;
  }

  // `| name(args) | name ...`; with start_inline the first filter has no leading pipe.
  ExprPtr parse_filters(ExprPtr node, bool start_inline) {
    while (at_op("|") || start_inline) {
      if (!start_inline) advance();
      start_inline = false;
      const int line = current().line;
      const std::string name = parse_dotted_name();
      if (!is_known_filter(name)) fail("unknown filter '" + name + "'", line);
      auto e = make_expr(ExprKind::kFilter, line);
      e->name = name;
      e->operands.push_back(std::move(node));
      if (at_op("(")) parse_call_args(*e);
      node = std::move(e);
    }
    return node;
  }

  ExprPtr parse_test(ExprPtr node) {
    const int line = advance().line;  // 'is'
    const bool negated = skip_name("not");
    const std::string name = parse_dotted_name();
    if (!is_known_test(name)) fail("unknown test '" + name + "'", line);
    auto e = make_expr(ExprKind::kTest, line);
    e->name = name;
    e->operands.push_back(std::move(node));
    const Token& t = current();
    if (at_op("(")) {
      parse_call_args(*e);
    } else if ((t.type == TokenType::kName || t.type == TokenType::kString || t.type == TokenType::kInteger ||
                t.type == TokenType::kFloat || at_op("[") || at_op("{")) &&
               !(at_name("else") || at_name("or") || at_name("and"))) {
      if (at_name("is")) fail("tests cannot be chained with 'is'", t.line);
      e->operands.push_back(parse_postfix(parse_primary()));
    }
    if (!negated) return e;
    auto n = make_expr(ExprKind::kNot, line);
    n->operands.push_back(std::move(e));
    return n;
  }

  std::vector<Token> tokens_;
  size_t pos_ = 0;
  int loop_depth_ = 0;
  int nesting_ = 0;
  std::vector<OpenBlock> open_blocks_;
};

}  // namespace

Body parse_template(std::string_view source) { return Parser(tokenize(source)).parse(); }

}  // namespace tandem::jinja
