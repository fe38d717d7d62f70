#pragma once
// Values as byte strings: one canonical, self-delimiting encoding used wherever values are
// compared, hashed or kept (group keys, distinct/count_distinct, top, sketches), so that the
// same JSON value always lands in the same group, bucket or counter.
//
// Identity follows JSON's data model, not its spelling: numbers compare by value, so `1`, `1.0`
// and `1e0` are one value; strings compare by their decoded bytes. Objects and arrays are kept
// as their raw text, so `{"a":1}` and `{ "a": 1 }` are different values (documented in
// cep-agg(1)). The tag bytes are chosen so that encoded values sort in jq's order:
// missing < null < false < true < numbers < strings < arrays < objects.

#include "cep/value.hpp"

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace cep::agg {

enum class KeyTag : std::uint8_t {
    missing = 0,
    null = 1,
    false_ = 2,
    true_ = 3,
    integer = 4,  ///< 8 bytes little-endian; also floats that are whole and fit an int64
    floating = 5, ///< 8 bytes, the IEEE bits
    string = 6,   ///< varint length, bytes
    array = 7,    ///< varint length, raw JSON text
    object = 8,   ///< varint length, raw JSON text
};

/// Appends the canonical encoding of `value` to `out` (any kind).
void append_any_value_key(std::string& out, const Value& value);

/// Appends the canonical encoding of `value` to `out`. Short strings, the usual group keys,
/// are encoded inline: this runs for every record and group field.
inline void append_value_key(std::string& out, const Value& value) {
    if (value.kind == Kind::string && value.text.size() < 0x80) {
        const std::size_t at = out.size();
        out.resize(at + 2 + value.text.size());
        char* p = out.data() + at;
        p[0] = static_cast<char>(KeyTag::string);
        p[1] = static_cast<char>(value.text.size()); // a one-byte varint
        std::memcpy(p + 2, value.text.data(), value.text.size());
        return;
    }
    append_any_value_key(out, value);
}

/// Decodes the value at `pos` (advanced past it). Strings and raw JSON point into `key`.
/// Throws RuntimeError on malformed input (only possible for bytes read from a sketch).
Value read_value_key(std::string_view key, std::size_t& pos);

/// Three-way comparison of two encoded values in jq's order (numbers by value).
int compare_value_keys(std::string_view a, std::size_t& pos_a, std::string_view b, std::size_t& pos_b);

/// Three-way comparison of two sequences of encoded values (group keys), field by field.
int compare_key_sequences(std::string_view a, std::string_view b);

/// Appends a decoded value as JSON; missing is written as null.
void append_value_json(std::string& out, const Value& value);

} // namespace cep::agg
