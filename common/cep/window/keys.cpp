#include "cep/window/keys.hpp"

#include <bit>
#include <charconv>
#include <cstring>

namespace cep::window {
namespace {

// The first 7 bytes, big-endian, so that comparing prefixes compares bytes.
std::uint64_t leading_bytes(std::string_view bytes) {
    std::uint64_t v = 0;
    const std::size_t n = std::min<std::size_t>(bytes.size(), 7);
    for (std::size_t i = 0; i < 7; ++i)
        v = (v << 8) | (i < n ? static_cast<std::uint8_t>(bytes[i]) : 0);
    return v;
}

double parse_number(std::string_view text) {
    double d = 0;
    std::from_chars(text.data(), text.data() + text.size(), d);
    return d;
}

// Doubles as unsigned integers in the same order (negative numbers reversed).
std::uint64_t ordered_bits(double d) {
    const auto bits = std::bit_cast<std::uint64_t>(d);
    return (bits >> 63) != 0 ? ~bits : bits | (std::uint64_t{1} << 63);
}

constexpr int rank_number = 3;

} // namespace

int KeyOrder::rank(std::string_view bytes, bool is_string) const {
    if (composite_) return 0;
    if (is_string) return 4;
    switch (bytes.empty() ? 'n' : bytes[0]) {
    case 'n':
        return 0;
    case 'f':
        return 1;
    case 't':
        return 2;
    case '[':
        return 5;
    case '{':
        return 6;
    default:
        return rank_number;
    }
}

std::uint64_t KeyOrder::prefix(std::string_view bytes, bool is_string) const {
    const int r = rank(bytes, is_string);
    const std::uint64_t low =
        r == rank_number ? ordered_bits(parse_number(bytes)) >> 8 : leading_bytes(bytes);
    return (static_cast<std::uint64_t>(r) << 56) | low;
}

int KeyOrder::compare(std::string_view a, bool a_string, std::string_view b, bool b_string) const {
    const int ra = rank(a, a_string), rb = rank(b, b_string);
    if (ra != rb) return ra < rb ? -1 : 1;
    if (ra == rank_number) {
        const double da = parse_number(a), db = parse_number(b);
        if (da != db) return da < db ? -1 : 1;
    }
    const int c = a.compare(b);
    return c < 0 ? -1 : c > 0 ? 1 : 0;
}

void split_composite_key(std::string_view bytes, std::vector<std::string_view>& elements) {
    elements.clear();
    if (bytes.size() < 2 || bytes.front() != '[') return;
    int depth = 0;
    bool in_string = false;
    std::size_t begin = 1;
    for (std::size_t i = 1; i + 1 < bytes.size(); ++i) {
        const char c = bytes[i];
        if (in_string) {
            if (c == '\\')
                ++i; // the escaped character cannot end the string
            else if (c == '"')
                in_string = false;
            continue;
        }
        switch (c) {
        case '"':
            in_string = true;
            break;
        case '[':
        case '{':
            ++depth;
            break;
        case ']':
        case '}':
            --depth;
            break;
        case ',':
            if (depth == 0) {
                elements.push_back(bytes.substr(begin, i - begin));
                begin = i + 1;
            }
            break;
        default:
            break;
        }
    }
    elements.push_back(bytes.substr(begin, bytes.size() - 1 - begin));
}

} // namespace cep::window
