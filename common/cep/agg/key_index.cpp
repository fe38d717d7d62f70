#include "cep/agg/key_index.hpp"

#include <algorithm>
#include <cstring>

namespace cep::agg {

std::uint32_t KeyIndex::add(std::string_view key, std::uint64_t hash) {
    if ((entries_.size() + 1) * 2 > slots_.size()) grow();
    const std::size_t mask = slots_.size() - 1;
    std::size_t i = static_cast<std::size_t>(hash) & mask;
    while (slots_[i] != 0)
        i = (i + 1) & mask;
    const auto index = static_cast<std::uint32_t>(entries_.size());
    entries_.push_back({hash, arena_.size(), static_cast<std::uint32_t>(key.size())});
    arena_.append(key);
    slots_[i] = slot_of(index, hash);
    return index;
}

std::optional<std::uint32_t> KeyIndex::find(std::string_view key, std::uint64_t hash) const {
    if (slots_.empty()) return std::nullopt;
    const std::size_t mask = slots_.size() - 1;
    const std::uint64_t tag = hash & 0xffffffff00000000ULL;
    for (std::size_t i = static_cast<std::size_t>(hash) & mask;; i = (i + 1) & mask) {
        const std::uint64_t slot = slots_[i];
        if (slot == 0) return std::nullopt;
        if ((slot & 0xffffffff00000000ULL) == tag) {
            const auto index = static_cast<std::uint32_t>((slot & 0xffffffffULL) - 1);
            const Entry& e = entries_[index];
            if (e.hash == hash && e.size == key.size() &&
                std::memcmp(arena_.data() + e.offset, key.data(), key.size()) == 0)
                return index;
        }
    }
}

void KeyIndex::grow() {
    const std::size_t capacity = slots_.empty() ? 16 : slots_.size() * 2;
    slots_.assign(capacity, 0);
    const std::size_t mask = capacity - 1;
    for (std::uint32_t index = 0; index < entries_.size(); ++index) {
        std::size_t i = static_cast<std::size_t>(entries_[index].hash) & mask;
        while (slots_[i] != 0)
            i = (i + 1) & mask;
        slots_[i] = slot_of(index, entries_[index].hash);
    }
}

void KeyIndex::reserve(std::size_t keys, std::size_t key_bytes) {
    entries_.reserve(keys);
    arena_.reserve(key_bytes);
    while (slots_.size() < keys * 2)
        grow();
}

void KeyIndex::clear() {
    entries_.clear();
    arena_.clear();
    std::fill(slots_.begin(), slots_.end(), 0);
}

} // namespace cep::agg
