#pragma once
// A JSON value as operators see it: scalars decoded, objects and arrays kept as raw JSON text.
// Values borrow their bytes (from the input buffer or the parser's string buffer) and are valid
// until the next record is read, so no allocation happens on the per-record path.

#include <cstdint>
#include <string_view>

namespace cep {

enum class Kind : std::uint8_t { missing, null, boolean, integer, floating, string, object, array };

std::string_view kind_name(Kind kind);

struct Value {
    Kind kind = Kind::missing;
    bool boolean = false;
    std::int64_t integer = 0;
    double floating = 0.0;
    /// Decoded string contents for strings; raw JSON text for objects and arrays.
    std::string_view text;

    static Value with_kind(Kind k) {
        Value v;
        v.kind = k;
        return v;
    }
    static Value missing() { return {}; }
    static Value null() { return with_kind(Kind::null); }
    static Value of_bool(bool b) {
        Value v = with_kind(Kind::boolean);
        v.boolean = b;
        return v;
    }
    static Value of_int(std::int64_t i) {
        Value v = with_kind(Kind::integer);
        v.integer = i;
        return v;
    }
    static Value of_double(double d) {
        Value v = with_kind(Kind::floating);
        v.floating = d;
        return v;
    }
    static Value of_string(std::string_view s) {
        Value v = with_kind(Kind::string);
        v.text = s;
        return v;
    }
    static Value of_raw(Kind k, std::string_view raw) {
        Value v = with_kind(k);
        v.text = raw;
        return v;
    }

    bool is_missing() const { return kind == Kind::missing; }
    bool is_number() const { return kind == Kind::integer || kind == Kind::floating; }
    double as_double() const { return kind == Kind::integer ? static_cast<double>(integer) : floating; }
};

} // namespace cep
