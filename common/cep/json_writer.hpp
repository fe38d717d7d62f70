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

bool is_valid_utf8(std::string_view text);
std::string base64_encode(std::string_view bytes);

} // namespace cep
