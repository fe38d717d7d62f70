#pragma once
// The expression language shared by every tool (see man/cep.7.scd, EXPRESSIONS).
//
//   event == "level_up" && level >= 30 && member.country in ["KR", "JP"]
//
// Compiling registers every path the expression reads in the Schema, so the record is parsed
// once for the whole pipeline; evaluation reads only slots and never allocates for the common
// cases (comparisons, boolean logic, arithmetic on numbers, string tests on fields).
// Evaluation reuses scratch space owned by the Expression, so one Expression must not be
// evaluated from two threads at once; compile one per thread instead.

#include "cep/record.hpp"
#include "cep/schema.hpp"
#include "cep/value.hpp"

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace cep::expr {

class Node; // compiled tree, private to the implementation

/// Scratch space for values computed during evaluation (e.g. `lower(name)`), reused across
/// records so evaluation does not allocate in steady state.
class Scratch;

class Expression {
  public:
    Expression();
    ~Expression();
    Expression(Expression&&) noexcept;
    Expression& operator=(Expression&&) noexcept;

    /// True when the expression's value is `true` (anything else, including null, is false).
    bool test(const Record& record) const;
    /// The expression's value. Strings may point into scratch owned by this Expression and stay
    /// valid until the next evaluation. A field that is absent gives Kind::missing (every
    /// operator reads it as null).
    Value evaluate(const Record& record) const;

    /// Byte strings that the raw text of every record for which test() is true contains,
    /// unless the text has a backslash (see RawPrefilter); empty when there are none.
    std::vector<std::string> required_bytes() const;

    /// The source text, for messages.
    const std::string& source() const { return source_; }

  private:
    friend Expression compile(std::string_view, Schema&);
    friend Expression compile_conditions(const nlohmann::json&, Schema&);
    std::unique_ptr<Node> root_;
    std::unique_ptr<Scratch> scratch_;
    std::string source_;
};

/// Compiles `source`; throws cep::SyntaxError with a 1-based column on error.
Expression compile(std::string_view source, Schema& schema);

/// Compiles the data form used for event definitions: a JSON array of
/// {field, value, type, operator} objects (or an object with a `conditions` array), all of
/// which must hold. Throws cep::UsageError naming the offending condition.
Expression compile_conditions(const nlohmann::json& conditions, Schema& schema);

/// Formats a SyntaxError as `expression:1:12: message` plus the source line and a caret.
std::string format_syntax_error(std::string_view source, std::size_t column, std::string_view message);

} // namespace cep::expr
