#pragma once
// The value of a record's first field, read straight from its bytes. Archives written by
// loggers usually start every line with the event time (`{"ts":"2026-11-01T12:00:00.000Z",...`);
// a tool that needs only that field (cep-replay) reads it here instead of running a JSON
// parser over the whole line.

#include "cep/value.hpp"

#include <charconv>
#include <cstdint>
#include <optional>
#include <string_view>

namespace cep {

/// For a line that starts exactly `{"KEY":` (no blanks), the value when it is a string without
/// escapes or an integer, followed by `,` or `}`. nullopt for anything else: then parse the
/// line. The line itself is not validated beyond that.
inline std::optional<Value> leading_field(std::string_view line, std::string_view key) {
    const std::size_t start = key.size() + 4; // {"KEY":
    if (line.size() <= start || line[0] != '{' || line[1] != '"' || line.compare(2, key.size(), key) != 0 ||
        line[key.size() + 2] != '"' || line[key.size() + 3] != ':')
        return std::nullopt;
    if (line[start] == '"') {
        // A plain loop: find_first_of tests each byte with a memchr call over the set, which
        // costs more than the rest of reading the time.
        std::size_t close = start + 1;
        while (close < line.size() && line[close] != '"' && line[close] != '\\')
            ++close;
        if (close == line.size() || line[close] != '"' || close + 1 >= line.size() ||
            (line[close + 1] != ',' && line[close + 1] != '}'))
            return std::nullopt;
        return Value::of_string(line.substr(start + 1, close - start - 1));
    }
    std::int64_t number = 0;
    const char* end = line.data() + line.size();
    const auto [stop, error] = std::from_chars(line.data() + start, end, number);
    if (error != std::errc() || stop == end || (*stop != ',' && *stop != '}')) return std::nullopt;
    // JSON has no leading zeros: leave "012" to the parser, which rejects it.
    if (line[start] == '0' && stop - (line.data() + start) > 1) return std::nullopt;
    if (line[start] == '-' && line[start + 1] == '0' && stop - (line.data() + start) > 2) return std::nullopt;
    return Value::of_int(number);
}

/// The key leading_field() looks for when the time field is `path`: a plain top-level name
/// (`ts` or `.ts`); nullopt for nested or quoted paths, which need the parser.
inline std::optional<std::string_view> leading_key(std::string_view path) {
    if (path.starts_with('.')) path.remove_prefix(1);
    if (path.empty() || path.starts_with('@') || path.find_first_of(".[]\"\\ ") != std::string_view::npos)
        return std::nullopt;
    return path;
}

} // namespace cep
