#include "cep/time.hpp"

#include <charconv>

namespace cep {

std::optional<Duration> parse_duration(std::string_view text) {
    if (text.empty()) return std::nullopt;
    Duration total = 0;
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::int64_t amount = 0;
        auto [ptr, ec] = std::from_chars(text.data() + pos, text.data() + text.size(), amount);
        if (ec != std::errc() || amount < 0) return std::nullopt;
        pos = static_cast<std::size_t>(ptr - text.data());
        std::size_t unit_end = pos;
        while (unit_end < text.size() && text[unit_end] >= 'a' && text[unit_end] <= 'z') ++unit_end;
        const std::string_view unit = text.substr(pos, unit_end - pos);
        Duration scale = 0;
        if (unit == "ns") scale = 1;
        else if (unit == "us") scale = 1'000;
        else if (unit == "ms") scale = 1'000'000;
        else if (unit == "s") scale = 1'000'000'000;
        else if (unit == "m") scale = 60'000'000'000;
        else if (unit == "h") scale = 3'600'000'000'000;
        else if (unit == "d") scale = 86'400'000'000'000;
        else return std::nullopt;
        total += amount * scale;
        pos = unit_end;
    }
    return total;
}

} // namespace cep
