#pragma once
// Appending JSON text to a string without building a DOM: for records that operators create.

#include <cstdint>
#include <string>
#include <string_view>

namespace cep {

/// Appends `text` as a quoted JSON string. Bytes that are not valid UTF-8 become U+FFFD.
void append_json_string(std::string& out, std::string_view text);
void append_json_number(std::string& out, double value);
inline void append_json_number(std::string& out, std::int64_t value) { out += std::to_string(value); }
/// Appends a span of nanoseconds as milliseconds: an integer when whole, else a fraction
/// (the `late_by_ms` of late records).
inline void append_json_millis(std::string& out, std::int64_t nanos) {
    constexpr std::int64_t per_milli = 1'000'000;
    if (nanos % per_milli == 0)
        append_json_number(out, nanos / per_milli);
    else
        append_json_number(out, static_cast<double>(nanos) / static_cast<double>(per_milli));
}

bool is_valid_utf8(std::string_view text);
std::string base64_encode(std::string_view bytes);

} // namespace cep
