#pragma once
// Field paths: `member.playerId`, `items[0].id`, `a["odd key"]`, with an optional leading `.`.

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace cep {

struct PathStep {
    enum class Type { key, index } type = Type::key;
    std::string key;
    std::size_t index = 0;
    bool operator==(const PathStep&) const = default;
};

struct Path {
    std::vector<PathStep> steps;
    bool operator==(const Path&) const = default;
    /// Canonical text form, e.g. `member.playerId`, `items[0]`, `a["odd key"]`.
    std::string to_string() const;
};

/// A syntax error in a path or expression; `column` is 1-based within the source text.
struct SyntaxError : std::runtime_error {
    std::size_t column;
    SyntaxError(std::size_t col, const std::string& message) : std::runtime_error(message), column(col) {}
};

/// Parses a complete path; throws SyntaxError.
Path parse_path(std::string_view text);

/// Parses a path starting at `pos` (advanced past it); stops at the first character that
/// cannot continue a path. Used by the expression lexer. Columns in errors are pos-based.
Path parse_path_prefix(std::string_view text, std::size_t& pos);

/// Splits a comma-separated list of paths (`-k a,b.c`); commas inside brackets/quotes are kept.
std::vector<Path> parse_path_list(std::string_view text);

} // namespace cep
