// The evaluator's nodes and the Builder that picks them. The hot shapes (`field == "text"`,
// `field == 3`, `field < 2.5`, `a && b && c`) get nodes that read the slot directly and answer
// test() without building a Value; everything else goes through the generic semantics.

#include "cep/expr/node.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>

namespace cep::expr {
namespace {

bool is_true(const Value& v) {
    return v.kind == Kind::boolean && v.boolean;
}

/// A node whose value is its test(): comparisons, logic and predicates.
class BoolNode : public Node {
  public:
    Value eval(const Record& record, Scratch& scratch) const final {
        return Value::of_bool(test(record, scratch));
    }
};

class Literal final : public Node {
  public:
    explicit Literal(const Value& value) : value_(value) {
        if (value.kind == Kind::string || value.kind == Kind::object || value.kind == Kind::array) {
            // Padded, because contains() and equality hand object/array text to simdjson as is.
            storage_ = simdjson::padded_string(value.text);
            value_.text = std::string_view(storage_.data(), storage_.size());
        }
    }
    Value eval(const Record&, Scratch&) const override { return value_; }
    bool test(const Record&, Scratch&) const override { return is_true(value_); }
    const Value* constant() const override { return &value_; }

  private:
    simdjson::padded_string storage_;
    Value value_;
};

class Field final : public Node {
  public:
    explicit Field(Slot slot) : slot_(slot) {}
    Value eval(const Record& record, Scratch&) const override { return record[slot_]; }
    bool test(const Record& record, Scratch&) const override { return is_true(record[slot_]); }
    std::optional<Slot> slot() const override { return slot_; }

  private:
    Slot slot_;
};

// ---- comparisons ----

bool holds(CmpOp op, int c) {
    switch (op) {
    case CmpOp::eq:
        return c == 0;
    case CmpOp::ne:
        return c != 0;
    case CmpOp::lt:
        return c < 0;
    case CmpOp::le:
        return c <= 0;
    case CmpOp::gt:
        return c > 0;
    case CmpOp::ge:
        return c >= 0;
    }
    return false;
}

class FieldEqualsString final : public BoolNode {
  public:
    FieldEqualsString(Slot slot, std::string_view text, bool negate)
        : slot_(slot), text_(text), negate_(negate) {}
    bool test(const Record& record, Scratch&) const override {
        const Value& v = record[slot_];
        return (v.kind == Kind::string && v.text == text_) != negate_;
    }
    void required_bytes(std::vector<std::string>& out) const override {
        // A string equal to text_ is written in the record as "text_" unless it uses escapes,
        // which need a backslash; so is text_ itself when it has nothing JSON must escape.
        if (negate_) return;
        for (const char c : text_)
            if (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) return;
        out.push_back('"' + text_ + '"');
    }

  private:
    Slot slot_;
    std::string text_;
    bool negate_;
};

class FieldEqualsInt final : public BoolNode {
  public:
    FieldEqualsInt(Slot slot, std::int64_t n, bool negate)
        : slot_(slot), literal_(Value::of_int(n)), negate_(negate) {}
    bool test(const Record& record, Scratch&) const override {
        const Value& v = record[slot_];
        bool equal = false;
        if (v.kind == Kind::integer)
            equal = v.integer == literal_.integer;
        else if (v.kind == Kind::floating)
            equal = compare_numbers(v, literal_) == 0;
        return equal != negate_;
    }

  private:
    Slot slot_;
    Value literal_;
    bool negate_;
};

/// `field OP number` for any operator.
class FieldCompareNumber final : public BoolNode {
  public:
    FieldCompareNumber(Slot slot, CmpOp op, const Value& number) : slot_(slot), op_(op), literal_(number) {}
    bool test(const Record& record, Scratch&) const override {
        const Value& v = record[slot_];
        if (!v.is_number()) return op_ == CmpOp::ne;
        const int c = compare_numbers(v, literal_);
        if (c == unordered) return op_ == CmpOp::ne;
        return holds(op_, c);
    }

  private:
    Slot slot_;
    CmpOp op_;
    Value literal_;
};

/// `field OP "text"` for the ordering operators.
class FieldCompareString final : public BoolNode {
  public:
    FieldCompareString(Slot slot, CmpOp op, std::string_view text) : slot_(slot), op_(op), text_(text) {}
    bool test(const Record& record, Scratch&) const override {
        const Value& v = record[slot_];
        if (v.kind != Kind::string) return op_ == CmpOp::ne;
        const int c = v.text.compare(text_);
        return holds(op_, (c > 0) - (c < 0));
    }

  private:
    Slot slot_;
    CmpOp op_;
    std::string text_;
};

class Compare final : public BoolNode {
  public:
    Compare(CmpOp op, NodePtr lhs, NodePtr rhs) : op_(op), lhs_(std::move(lhs)), rhs_(std::move(rhs)) {}
    bool test(const Record& record, Scratch& scratch) const override {
        const Value a = lhs_->eval(record, scratch);
        const Value b = rhs_->eval(record, scratch);
        return compare_values(op_, a, b, scratch);
    }

  private:
    CmpOp op_;
    NodePtr lhs_;
    NodePtr rhs_;
};

// ---- logic ----

class All final : public BoolNode {
  public:
    std::vector<NodePtr> children;
    bool test(const Record& record, Scratch& scratch) const override {
        for (const auto& child : children)
            if (!child->test(record, scratch)) return false;
        return true;
    }
    void required_bytes(std::vector<std::string>& out) const override {
        for (const auto& child : children)
            child->required_bytes(out);
    }
};

class Any final : public BoolNode {
  public:
    std::vector<NodePtr> children;
    bool test(const Record& record, Scratch& scratch) const override {
        for (const auto& child : children)
            if (child->test(record, scratch)) return true;
        return false;
    }
};

class Not final : public BoolNode {
  public:
    explicit Not(NodePtr operand) : operand_(std::move(operand)) {}
    bool test(const Record& record, Scratch& scratch) const override {
        return !operand_->test(record, scratch);
    }

  private:
    NodePtr operand_;
};

// ---- membership ----

/// `x in [literals]`: strings are kept sorted for a binary search; the rest compared in turn.
class InLiterals final : public BoolNode {
  public:
    InLiterals(NodePtr needle, std::vector<NodePtr> items) : needle_(std::move(needle)) {
        for (auto& item : items) {
            const Value& v = *item->constant();
            if (v.kind == Kind::string)
                strings_.emplace_back(v.text);
            else
                others_.push_back(std::move(item));
        }
        std::sort(strings_.begin(), strings_.end());
        strings_.erase(std::unique(strings_.begin(), strings_.end()), strings_.end());
    }
    bool test(const Record& record, Scratch& scratch) const override {
        const Value v = needle_->eval(record, scratch);
        if (v.kind == Kind::string) {
            // A string only equals strings, so the other items need no look.
            if (strings_.size() <= 8)
                return std::find(strings_.begin(), strings_.end(), v.text) != strings_.end();
            return std::binary_search(strings_.begin(), strings_.end(), v.text,
                                      [](std::string_view a, std::string_view b) { return a < b; });
        }
        for (const auto& item : others_)
            if (equal_values(v, *item->constant(), scratch)) return true;
        return false;
    }

  private:
    NodePtr needle_;
    std::vector<std::string> strings_;
    std::vector<NodePtr> others_;
};

class InList final : public BoolNode {
  public:
    InList(NodePtr needle, std::vector<NodePtr> items)
        : needle_(std::move(needle)), items_(std::move(items)) {}
    bool test(const Record& record, Scratch& scratch) const override {
        const Value v = needle_->eval(record, scratch);
        for (const auto& item : items_)
            if (equal_values(v, item->eval(record, scratch), scratch)) return true;
        return false;
    }

  private:
    NodePtr needle_;
    std::vector<NodePtr> items_;
};

class InValue final : public BoolNode {
  public:
    InValue(NodePtr needle, NodePtr haystack) : needle_(std::move(needle)), haystack_(std::move(haystack)) {}
    bool test(const Record& record, Scratch& scratch) const override {
        const Value v = needle_->eval(record, scratch);
        const Value h = haystack_->eval(record, scratch);
        return h.kind == Kind::array && array_contains(h.text, v, scratch);
    }

  private:
    NodePtr needle_;
    NodePtr haystack_;
};

// ---- arithmetic ----

class Arithmetic final : public Node {
  public:
    Arithmetic(ArithOp op, NodePtr lhs, NodePtr rhs, std::size_t buffer)
        : op_(op), lhs_(std::move(lhs)), rhs_(std::move(rhs)), buffer_(buffer) {}
    Value eval(const Record& record, Scratch& scratch) const override {
        const Value a = lhs_->eval(record, scratch);
        const Value b = rhs_->eval(record, scratch);
        return expr::arithmetic(op_, a, b, scratch.strings[buffer_]);
    }

  private:
    ArithOp op_;
    NodePtr lhs_;
    NodePtr rhs_;
    std::size_t buffer_;
};

class Minus final : public Node {
  public:
    explicit Minus(NodePtr operand) : operand_(std::move(operand)) {}
    Value eval(const Record& record, Scratch& scratch) const override {
        return negate(operand_->eval(record, scratch));
    }

  private:
    NodePtr operand_;
};

// ---- functions ----

class Exists final : public BoolNode {
  public:
    explicit Exists(Slot slot) : slot_(slot) {}
    bool test(const Record& record, Scratch&) const override { return !record[slot_].is_missing(); }

  private:
    Slot slot_;
};

enum class StringTest : std::uint8_t { contains, startswith, endswith };

class StringPredicate final : public BoolNode {
  public:
    StringPredicate(StringTest which, NodePtr subject, NodePtr argument)
        : which_(which), subject_(std::move(subject)), argument_(std::move(argument)) {}
    bool test(const Record& record, Scratch& scratch) const override {
        const Value s = subject_->eval(record, scratch);
        const Value x = argument_->eval(record, scratch);
        if (which_ == StringTest::contains && s.kind == Kind::array)
            return array_contains(s.text, x, scratch);
        if (s.kind != Kind::string || x.kind != Kind::string) return false;
        switch (which_) {
        case StringTest::contains:
            return s.text.find(x.text) != std::string_view::npos;
        case StringTest::startswith:
            return s.text.starts_with(x.text);
        case StringTest::endswith:
            return s.text.ends_with(x.text);
        }
        return false;
    }

  private:
    StringTest which_;
    NodePtr subject_;
    NodePtr argument_;
};

re2::RE2::Options regex_options() {
    re2::RE2::Options options;
    options.set_log_errors(false); // errors are reported as compile errors, not printed by RE2
    return options;
}

bool search(const re2::RE2& regex, std::string_view text) {
    return re2::RE2::PartialMatch(re2::StringPiece(text.data(), text.size()), regex);
}

/// `matches(s, "literal")`: the regex is compiled once, when the expression is.
class MatchesLiteral final : public BoolNode {
  public:
    MatchesLiteral(NodePtr subject, std::unique_ptr<re2::RE2> regex)
        : subject_(std::move(subject)), regex_(std::move(regex)) {}
    bool test(const Record& record, Scratch& scratch) const override {
        const Value s = subject_->eval(record, scratch);
        return s.kind == Kind::string && search(*regex_, s.text);
    }

  private:
    NodePtr subject_;
    std::unique_ptr<re2::RE2> regex_;
};

/// `matches(s, pattern)` with a computed pattern: recompiled only when the pattern changes.
class MatchesComputed final : public BoolNode {
  public:
    MatchesComputed(NodePtr subject, NodePtr pattern, std::size_t cache)
        : subject_(std::move(subject)), pattern_(std::move(pattern)), cache_(cache) {}
    bool test(const Record& record, Scratch& scratch) const override {
        const Value s = subject_->eval(record, scratch);
        const Value p = pattern_->eval(record, scratch);
        if (s.kind != Kind::string || p.kind != Kind::string) return false;
        auto& regex = scratch.regexes[cache_];
        if (!regex || regex->pattern() != p.text)
            regex =
                std::make_unique<re2::RE2>(re2::StringPiece(p.text.data(), p.text.size()), regex_options());
        return regex->ok() && search(*regex, s.text);
    }

  private:
    NodePtr subject_;
    NodePtr pattern_;
    std::size_t cache_;
};

class ChangeCase final : public Node {
  public:
    ChangeCase(bool upper, NodePtr operand, std::size_t buffer)
        : upper_(upper), operand_(std::move(operand)), buffer_(buffer) {}
    Value eval(const Record& record, Scratch& scratch) const override {
        const Value v = operand_->eval(record, scratch);
        if (v.kind != Kind::string) return Value::null();
        const char from = upper_ ? 'a' : 'A';
        const auto changes = [from](char c) { return c >= from && c <= from + 25; };
        // Most values are already in the wanted case: hand them back without copying.
        auto first = std::find_if(v.text.begin(), v.text.end(), changes);
        if (first == v.text.end()) return v;
        std::string& out = scratch.strings[buffer_];
        out.assign(v.text);
        for (char& c : out)
            if (changes(c)) c = static_cast<char>(c ^ 0x20);
        return Value::of_string(out);
    }

  private:
    bool upper_;
    NodePtr operand_;
    std::size_t buffer_;
};

class Length final : public Node {
  public:
    explicit Length(NodePtr operand) : operand_(std::move(operand)) {}
    Value eval(const Record& record, Scratch& scratch) const override {
        const Value v = operand_->eval(record, scratch);
        if (v.kind == Kind::string) {
            // Code points: every byte that does not continue a UTF-8 sequence starts one.
            std::int64_t n = 0;
            for (unsigned char c : v.text)
                n += (c & 0xC0) != 0x80;
            return Value::of_int(n);
        }
        if (v.kind != Kind::array && v.kind != Kind::object) return Value::null();
        simdjson::dom::element root;
        if (scratch.json[0].parse(v.text.data(), v.text.size(), false).get(root) != simdjson::SUCCESS)
            return Value::null();
        // size() saturates at 2^24 - 1: count by walking past that.
        std::int64_t n = 0;
        if (v.kind == Kind::array) {
            const simdjson::dom::array items = root.get_array().value_unsafe();
            for ([[maybe_unused]] const auto item : items)
                ++n;
        } else {
            const simdjson::dom::object fields = root.get_object().value_unsafe();
            for ([[maybe_unused]] const auto field : fields)
                ++n;
        }
        return Value::of_int(n);
    }

  private:
    NodePtr operand_;
};

CmpOp mirror(CmpOp op) {
    switch (op) {
    case CmpOp::lt:
        return CmpOp::gt;
    case CmpOp::le:
        return CmpOp::ge;
    case CmpOp::gt:
        return CmpOp::lt;
    case CmpOp::ge:
        return CmpOp::le;
    default:
        return op;
    }
}

bool is_constant(const NodePtr& node) {
    return node->constant() != nullptr;
}

struct FunctionInfo {
    std::string_view name;
    std::size_t arity;
};

constexpr FunctionInfo functions[] = {
    {"contains", 2}, {"endswith", 2}, {"exists", 1},     {"len", 1},
    {"lower", 1},    {"matches", 2},  {"startswith", 2}, {"upper", 1},
};

} // namespace

std::string_view Builder::function_names() {
    return "contains, endswith, exists, len, lower, matches, startswith, upper";
}

std::unique_ptr<Scratch> Builder::make_scratch() const {
    auto scratch = std::make_unique<Scratch>();
    scratch->strings.resize(strings_);
    scratch->regexes.resize(regexes_);
    return scratch;
}

NodePtr Builder::fold(NodePtr node) {
    // Only called for nodes whose inputs are all literals: evaluate once, keep the value.
    fold_scratch_.strings.resize(strings_);
    fold_scratch_.regexes.resize(regexes_);
    const Record nothing{};
    return literal(node->eval(nothing, fold_scratch_));
}

NodePtr Builder::grown(NodePtr node, std::uint32_t below) {
    if (node->constant()) return node;
    node->height = below + 1;
    if (node->height > max_height) throw TooDeep{};
    return node;
}

NodePtr Builder::literal(const Value& value) {
    // A literal is never missing: `missing` only comes from reading a record.
    return std::make_unique<Literal>(value.is_missing() ? Value::null() : value);
}

NodePtr Builder::field(const Path& path) {
    return std::make_unique<Field>(schema_.add(path));
}

NodePtr Builder::compare(CmpOp op, NodePtr lhs, NodePtr rhs) {
    const std::uint32_t below = std::max(lhs->height, rhs->height);
    if (is_constant(lhs) && is_constant(rhs))
        return fold(std::make_unique<Compare>(op, std::move(lhs), std::move(rhs)));
    if (is_constant(lhs) && rhs->slot()) {
        std::swap(lhs, rhs);
        op = mirror(op);
    }
    if (const auto slot = lhs->slot(); slot && is_constant(rhs)) {
        const Value& v = *rhs->constant();
        const bool equality = op == CmpOp::eq || op == CmpOp::ne;
        if (v.kind == Kind::string && equality)
            return grown(std::make_unique<FieldEqualsString>(*slot, v.text, op == CmpOp::ne), below);
        if (v.kind == Kind::string)
            return grown(std::make_unique<FieldCompareString>(*slot, op, v.text), below);
        if (v.kind == Kind::integer && equality)
            return grown(std::make_unique<FieldEqualsInt>(*slot, v.integer, op == CmpOp::ne), below);
        if (v.is_number()) return grown(std::make_unique<FieldCompareNumber>(*slot, op, v), below);
    }
    return grown(std::make_unique<Compare>(op, std::move(lhs), std::move(rhs)), below);
}

NodePtr Builder::all(NodePtr lhs, NodePtr rhs) {
    auto node = std::make_unique<All>();
    for (NodePtr* operand : {&lhs, &rhs}) {
        if (const Value* v = (*operand)->constant()) {
            // Operands have no side effects, so a literal decides or drops out.
            if (!is_true(*v)) return literal(Value::of_bool(false));
            continue;
        }
        if (auto* nested = dynamic_cast<All*>(operand->get()))
            for (auto& child : nested->children)
                node->children.push_back(std::move(child));
        else
            node->children.push_back(std::move(*operand));
    }
    if (node->children.empty()) return literal(Value::of_bool(true));
    std::uint32_t below = 0;
    for (const auto& child : node->children)
        below = std::max(below, child->height);
    return grown(std::move(node), below);
}

NodePtr Builder::any(NodePtr lhs, NodePtr rhs) {
    auto node = std::make_unique<Any>();
    for (NodePtr* operand : {&lhs, &rhs}) {
        if (const Value* v = (*operand)->constant()) {
            if (is_true(*v)) return literal(Value::of_bool(true));
            continue;
        }
        if (auto* nested = dynamic_cast<Any*>(operand->get()))
            for (auto& child : nested->children)
                node->children.push_back(std::move(child));
        else
            node->children.push_back(std::move(*operand));
    }
    if (node->children.empty()) return literal(Value::of_bool(false));
    std::uint32_t below = 0;
    for (const auto& child : node->children)
        below = std::max(below, child->height);
    return grown(std::move(node), below);
}

NodePtr Builder::negation(NodePtr operand) {
    if (const Value* v = operand->constant()) return literal(Value::of_bool(!is_true(*v)));
    const std::uint32_t below = operand->height;
    return grown(std::make_unique<Not>(std::move(operand)), below);
}

NodePtr Builder::in_list(NodePtr needle, std::vector<NodePtr> items) {
    std::uint32_t below = needle->height;
    for (const auto& item : items)
        below = std::max(below, item->height);
    if (std::all_of(items.begin(), items.end(), is_constant)) {
        const bool fold_it = is_constant(needle);
        NodePtr node = std::make_unique<InLiterals>(std::move(needle), std::move(items));
        return fold_it ? fold(std::move(node)) : grown(std::move(node), below);
    }
    return grown(std::make_unique<InList>(std::move(needle), std::move(items)), below);
}

NodePtr Builder::in_value(NodePtr needle, NodePtr haystack) {
    const bool fold_it = is_constant(needle) && is_constant(haystack);
    const std::uint32_t below = std::max(needle->height, haystack->height);
    NodePtr node = std::make_unique<InValue>(std::move(needle), std::move(haystack));
    return fold_it ? fold(std::move(node)) : grown(std::move(node), below);
}

NodePtr Builder::arithmetic(ArithOp op, NodePtr lhs, NodePtr rhs) {
    const bool fold_it = is_constant(lhs) && is_constant(rhs);
    const std::uint32_t below = std::max(lhs->height, rhs->height);
    NodePtr node = std::make_unique<Arithmetic>(op, std::move(lhs), std::move(rhs), new_string());
    return fold_it ? fold(std::move(node)) : grown(std::move(node), below);
}

NodePtr Builder::minus(NodePtr operand) {
    const bool fold_it = is_constant(operand);
    const std::uint32_t below = operand->height;
    NodePtr node = std::make_unique<Minus>(std::move(operand));
    return fold_it ? fold(std::move(node)) : grown(std::move(node), below);
}

NodePtr Builder::call(std::string_view name, std::vector<NodePtr> args) {
    const auto* info = std::find_if(std::begin(functions), std::end(functions),
                                    [name](const FunctionInfo& f) { return f.name == name; });
    if (info == std::end(functions))
        throw CallError{std::string::npos, "unknown function '" + std::string(name) +
                                               "' (known: " + std::string(function_names()) + ")"};
    if (args.size() != info->arity)
        throw CallError{std::string::npos, std::string(name) + "() takes " + std::to_string(info->arity) +
                                               (info->arity == 1 ? " argument" : " arguments") + ", got " +
                                               std::to_string(args.size())};

    if (name == "exists") {
        const auto slot = args[0]->slot();
        if (!slot) throw CallError{0, "exists() takes a field path, e.g. exists(member.id)"};
        return std::make_unique<Exists>(*slot);
    }
    const bool fold_it = std::all_of(args.begin(), args.end(), is_constant);
    std::uint32_t below = 0;
    for (const auto& arg : args)
        below = std::max(below, arg->height);
    NodePtr node;
    if (name == "matches") {
        if (const Value* pattern = args[1]->constant()) {
            if (pattern->kind != Kind::string)
                throw CallError{1, "the pattern of matches() must be a string"};
            auto regex = std::make_unique<re2::RE2>(
                re2::StringPiece(pattern->text.data(), pattern->text.size()), regex_options());
            if (!regex->ok()) throw CallError{1, "invalid regular expression: " + regex->error()};
            node = std::make_unique<MatchesLiteral>(std::move(args[0]), std::move(regex));
        } else {
            node = std::make_unique<MatchesComputed>(std::move(args[0]), std::move(args[1]), new_regex());
        }
    } else if (name == "contains" || name == "startswith" || name == "endswith") {
        const StringTest which = name == "contains"     ? StringTest::contains
                                 : name == "startswith" ? StringTest::startswith
                                                        : StringTest::endswith;
        node = std::make_unique<StringPredicate>(which, std::move(args[0]), std::move(args[1]));
    } else if (name == "lower" || name == "upper") {
        node = std::make_unique<ChangeCase>(name == "upper", std::move(args[0]), new_string());
    } else { // len
        node = std::make_unique<Length>(std::move(args[0]));
    }
    return fold_it ? fold(std::move(node)) : grown(std::move(node), below);
}

std::string literal_source(const Value& value) {
    switch (value.kind) {
    case Kind::missing:
    case Kind::null:
        return "null";
    case Kind::boolean:
        return value.boolean ? "true" : "false";
    case Kind::integer:
        return std::to_string(value.integer);
    case Kind::floating: {
        char buffer[32];
        const auto end = std::to_chars(buffer, buffer + sizeof buffer, value.floating).ptr;
        std::string text(buffer, end);
        // Keep it a float when read back: `2.0`, not `2`.
        if (text.find_first_of(".eEn") == std::string::npos) text += ".0";
        return text;
    }
    case Kind::string: {
        std::string out = "\"";
        for (const char c : value.text) {
            switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\r':
                out += "\\r";
                break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    char escape[8];
                    std::snprintf(escape, sizeof escape, "\\u%04x", static_cast<unsigned>(c));
                    out += escape;
                } else {
                    out += c;
                }
            }
        }
        return out + '"';
    }
    case Kind::object:
    case Kind::array:
        return std::string(value.text);
    }
    return "null";
}

} // namespace cep::expr
