#include "cep/key.hpp"

#include "cep/json_writer.hpp"

#include <charconv>
#include <cmath>
#include <simdjson.h>
#include <stdexcept>

namespace cep {
namespace {

void append_integer(std::string& out, std::int64_t value) {
    char digits[24];
    const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
    out.append(digits, end);
}

void append_number(std::string& out, const Value& value) {
    if (value.kind == Kind::integer) {
        append_integer(out, value.integer);
        return;
    }
    const double d = value.floating;
    // An integral double in the int64 range converts exactly, so 42.0 keys like 42 and 1e16
    // like 10000000000000000; -0.0 becomes 0.
    constexpr double int64_end = 9223372036854775808.0; // 2^63
    if (std::isfinite(d) && std::trunc(d) == d && d >= -int64_end && d < int64_end) {
        append_integer(out, static_cast<std::int64_t>(d));
        return;
    }
    if (!std::isfinite(d)) { // JSON has no such numbers; keep the key valid JSON anyway
        out += "null";
        return;
    }
    char digits[32];
    const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, d); // shortest round trip
    out.append(digits, end);
}

/// Object and array keys drop insignificant whitespace, so `{"a": 1}` and `{"a":1}` agree.
void append_minified(std::string& out, std::string_view raw) {
    const std::size_t start = out.size();
    out.resize(start + raw.size());
    std::size_t length = 0;
    if (simdjson::minify(raw.data(), raw.size(), out.data() + start, length) != simdjson::SUCCESS) {
        // The parser already validated the text; should minify still refuse, keep it verbatim.
        out.replace(start, std::string::npos, raw);
        return;
    }
    out.resize(start + length);
}

} // namespace

void append_key(std::string& out, const Value& value) {
    switch (value.kind) {
    case Kind::string:
        out += value.text;
        return;
    default:
        append_key_element(out, value);
        return;
    }
}

void append_key_element(std::string& out, const Value& value) {
    switch (value.kind) {
    case Kind::missing:
    case Kind::null:
        out += "null";
        return;
    case Kind::boolean:
        out += value.boolean ? "true" : "false";
        return;
    case Kind::integer:
    case Kind::floating:
        append_number(out, value);
        return;
    case Kind::string:
        append_json_string(out, value.text);
        return;
    case Kind::object:
    case Kind::array:
        append_minified(out, value.text);
        return;
    }
}

KeyExtractor::KeyExtractor(std::vector<Path> paths, Schema& schema) : paths_(std::move(paths)) {
    if (paths_.empty()) throw std::invalid_argument("KeyExtractor needs at least one path");
    slots_.reserve(paths_.size());
    for (const auto& path : paths_)
        slots_.push_back(schema.add(path));
}

KeyExtractor::KeyExtractor(std::string_view path_list, Schema& schema)
    : KeyExtractor(parse_path_list(path_list), schema) {}

std::string_view KeyExtractor::key(const Record& record, std::string& buffer) const {
    buffer.clear();
    if (slots_.size() == 1) {
        const Value& value = record[slots_[0]];
        // The common case, a string field, is its own key: no copy.
        if (value.kind == Kind::string) return value.text;
        append_key(buffer, value);
        return buffer;
    }
    buffer += '[';
    for (std::size_t i = 0; i < slots_.size(); ++i) {
        if (i > 0) buffer += ',';
        append_key_element(buffer, record[slots_[i]]);
    }
    buffer += ']';
    return buffer;
}

std::string KeyExtractor::missing_reason(std::size_t index) const {
    return "missing key field '" + paths_[index].to_string() + "'";
}

std::string KeyExtractor::describe() const {
    std::string out;
    for (const auto& path : paths_) {
        if (!out.empty()) out += ',';
        out += path.to_string();
    }
    return out;
}

} // namespace cep
