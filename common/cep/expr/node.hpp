#pragma once
// Private to the expression implementation: the evaluator's node interface, the per-expression
// scratch space, the value semantics every node shares, and the Builder that both front ends
// (the text language and the data form of conditions) use, so they compile to the same nodes.

#include "cep/path.hpp"
#include "cep/record.hpp"
#include "cep/schema.hpp"
#include "cep/value.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <re2/re2.h>
#include <simdjson.h>
#include <string>
#include <string_view>
#include <vector>

namespace cep::expr {

/// Memory reused across records so evaluation does not allocate in steady state. Each node that
/// builds strings or compiles computed regexes owns one entry, so two such results can be alive at
/// once (`lower(a) == lower(b)`).
class Scratch {
  public:
    std::vector<std::string> strings;
    std::vector<std::unique_ptr<re2::RE2>> regexes;
    /// Two parsers, because comparing two objects needs both documents alive at once.
    simdjson::dom::parser json[2];
};

class Node {
  public:
    virtual ~Node() = default;
    virtual Value eval(const Record& record, Scratch& scratch) const = 0;
    /// Whether the value is `true`. Boolean nodes override it to skip building a Value.
    virtual bool test(const Record& record, Scratch& scratch) const {
        const Value v = eval(record, scratch);
        return v.kind == Kind::boolean && v.boolean;
    }
    /// The value when this node is a literal, for folding and specialisation.
    virtual const Value* constant() const { return nullptr; }
    /// The slot when this node reads a field as is, for exists() and specialisation.
    virtual std::optional<Slot> slot() const { return std::nullopt; }
    /// Adds byte strings that the raw text of every record for which test() is true contains,
    /// unless the text has a backslash (an escape could spell them differently). Lets a
    /// filter drop most records without parsing them; adding nothing is always correct.
    virtual void required_bytes(std::vector<std::string>& out) const { (void)out; }

    /// Nodes on the longest path down to a leaf. Evaluation recurses this deep, so the Builder
    /// bounds it: a pathological expression is a compile error, not a stack overflow.
    std::uint32_t height = 1;
};

using NodePtr = std::unique_ptr<Node>;

enum class CmpOp : std::uint8_t { eq, ne, lt, le, gt, ge };
enum class ArithOp : std::uint8_t { add, sub, mul, div, mod };

// ---- value semantics (semantics.cpp) ----

/// Result of compare_numbers when either side is NaN.
inline constexpr int unordered = 2;
/// -1, 0 or 1; exact for every int64/double pair (no rounding through double).
int compare_numbers(const Value& a, const Value& b);
/// JSON equality: numbers by value, missing equals null, objects and arrays structurally.
bool equal_values(const Value& a, const Value& b, Scratch& scratch);
/// The comparison operators; across types only `!=` holds.
bool compare_values(CmpOp op, const Value& a, const Value& b, Scratch& scratch);
/// Whether the JSON array `array_json` (padded: SIMDJSON_PADDING readable bytes after it) has an
/// element equal to `needle`.
bool array_contains(std::string_view array_json, const Value& needle, Scratch& scratch);
/// `+ - * / %`; null for non-numbers (`+` also joins two strings, into `buffer`).
Value arithmetic(ArithOp op, const Value& a, const Value& b, std::string& buffer);
/// Unary minus; null for non-numbers.
Value negate(const Value& a);

// ---- building (nodes.cpp) ----

/// A function call the builder rejects; `argument` is the index of the offending argument, or
/// npos when the call itself (name or arity) is wrong.
struct CallError {
    std::size_t argument;
    std::string message;
};

/// Thrown by the Builder when a node would exceed Builder::max_height.
struct TooDeep {};

/// Builds evaluator nodes, specialising common shapes (`field == "literal"`) and folding
/// literal-only subtrees. Registers every path it reads in the schema.
class Builder {
  public:
    explicit Builder(Schema& schema) : schema_(schema) {}

    NodePtr literal(const Value& value);
    NodePtr field(const Path& path);
    NodePtr compare(CmpOp op, NodePtr lhs, NodePtr rhs);
    NodePtr all(NodePtr lhs, NodePtr rhs); // &&
    NodePtr any(NodePtr lhs, NodePtr rhs); // ||
    NodePtr negation(NodePtr operand);     // !
    /// `needle in [items...]`.
    NodePtr in_list(NodePtr needle, std::vector<NodePtr> items);
    /// `needle in haystack`, where haystack is an array-valued expression.
    NodePtr in_value(NodePtr needle, NodePtr haystack);
    NodePtr arithmetic(ArithOp op, NodePtr lhs, NodePtr rhs);
    NodePtr minus(NodePtr operand);
    /// A function call; throws CallError for an unknown name, a wrong arity or a bad argument.
    NodePtr call(std::string_view name, std::vector<NodePtr> args);

    /// The scratch an expression built by this builder needs.
    std::unique_ptr<Scratch> make_scratch() const;

    /// Names of the functions, for messages.
    static std::string_view function_names();

    /// The deepest tree the evaluator accepts; far beyond what people write.
    static constexpr std::uint32_t max_height = 1000;

  private:
    NodePtr fold(NodePtr node);
    /// Sets the height of a node whose tallest input has height `below`; throws TooDeep.
    NodePtr grown(NodePtr node, std::uint32_t below);
    std::size_t new_string() { return strings_++; }
    std::size_t new_regex() { return regexes_++; }

    Schema& schema_;
    std::size_t strings_ = 0;
    std::size_t regexes_ = 0;
    Scratch fold_scratch_;
};

/// The text-language spelling of a literal (strings quoted and escaped), for Expression::source().
std::string literal_source(const Value& value);

} // namespace cep::expr
