#pragma once
// Keys as the window engines hold them, and the order results of one window are written in.
//
// The bytes are cep/key.hpp's encoding (what cep-keyby partitions by): a single string field is
// its raw bytes, other single values their canonical JSON text, composite keys a JSON array.
// Those bytes do not say whether a single-field key came from the string "42" or the number 42
// (the two are one key, as in cep-keyby), so the engines keep that one bit next to the bytes
// to write the field back as it was first seen.

#include <cstdint>
#include <string_view>
#include <vector>

namespace cep::window {

struct KeyRef {
    std::string_view bytes;
    std::uint64_t hash = 0;
    bool is_string = false; ///< a single-field key read from a JSON string
};

/// Order of keys within one window, cheap enough to sort tens of thousands of keys per window:
/// single-field keys in jq's order of types (null < false < true < numbers < strings < arrays <
/// objects), numbers by value, strings by bytes; composite keys by their JSON array text.
class KeyOrder {
  public:
    explicit KeyOrder(bool composite) : composite_(composite) {}

    /// 64 bits that sort like the key (ties are broken by compare()).
    std::uint64_t prefix(std::string_view bytes, bool is_string) const;
    /// Three-way comparison of two keys.
    int compare(std::string_view a, bool a_string, std::string_view b, bool b_string) const;

    /// Sorts `items` (each with `prefix` set and an index) by key; `key_of(index)` gives the key.
    struct Item {
        std::uint64_t prefix;
        std::uint32_t index;
    };
    template <class KeyOf> void sort(std::vector<Item>& items, KeyOf key_of) const;

  private:
    int rank(std::string_view bytes, bool is_string) const;
    bool composite_;
    mutable std::vector<Item> scratch_; // radix sort buffer, kept between windows
};

/// Splits a composite key (a JSON array of canonical values) into its elements' JSON texts.
void split_composite_key(std::string_view bytes, std::vector<std::string_view>& elements);

} // namespace cep::window

#include <algorithm>
#include <utility>

namespace cep::window {

template <class KeyOf> void KeyOrder::sort(std::vector<Item>& items, KeyOf key_of) const {
    const auto by_key = [&](const Item& a, const Item& b) {
        if (a.prefix != b.prefix) return a.prefix < b.prefix;
        const auto [a_bytes, a_string] = key_of(a.index);
        const auto [b_bytes, b_string] = key_of(b.index);
        return compare(a_bytes, a_string, b_bytes, b_string) < 0;
    };
    const std::size_t n = items.size();
    if (n < 1024) {
        std::sort(items.begin(), items.end(), by_key);
        return;
    }
    // A window's keys are sorted once when it fires, often tens of thousands of them: an LSD
    // radix sort on the prefixes, a byte a pass, skipping bytes all keys share (the type, a
    // common leading "p0"), then comparison sorts only where prefixes tie.
    std::size_t counts[8][256] = {};
    for (const Item& item : items)
        for (int b = 0; b < 8; ++b)
            ++counts[b][(item.prefix >> (8 * b)) & 0xff];
    scratch_.resize(n);
    for (int b = 0; b < 8; ++b) {
        std::size_t* count = counts[b];
        if (count[(items[0].prefix >> (8 * b)) & 0xff] == n) continue;
        std::size_t offset = 0;
        for (int d = 0; d < 256; ++d)
            offset += std::exchange(count[d], offset);
        for (const Item& item : items)
            scratch_[count[(item.prefix >> (8 * b)) & 0xff]++] = item;
        items.swap(scratch_);
    }
    for (std::size_t i = 0; i < n;) {
        std::size_t j = i + 1;
        while (j < n && items[j].prefix == items[i].prefix)
            ++j;
        if (j - i > 1)
            std::sort(items.begin() + static_cast<std::ptrdiff_t>(i),
                      items.begin() + static_cast<std::ptrdiff_t>(j), by_key);
        i = j;
    }
}

} // namespace cep::window
