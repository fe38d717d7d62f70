#pragma once
// An insert-only hash index from byte-string keys to dense indices 0..n-1, with the keys kept
// in one arena: the lookup structure behind group tables and exact distinct sets. Open
// addressing with linear probing; each slot holds the entry index and 32 bits of the hash, so a
// probe rarely touches a key that does not match.

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cep::agg {

class KeyIndex {
  public:
    struct Found {
        std::uint32_t index;
        bool inserted;
    };

    /// Finds `key` (whose hash is `hash`) or adds it with the next index. The probe for a key
    /// that is present is inline: it is the per-record path of grouping.
    Found insert(std::string_view key, std::uint64_t hash) {
        if (!slots_.empty()) {
            const std::size_t mask = slots_.size() - 1;
            const std::uint64_t tag = hash & 0xffffffff00000000ULL;
            for (std::size_t i = static_cast<std::size_t>(hash) & mask;; i = (i + 1) & mask) {
                const std::uint64_t slot = slots_[i];
                if (slot == 0) break;
                if ((slot & 0xffffffff00000000ULL) == tag) {
                    const auto index = static_cast<std::uint32_t>((slot & 0xffffffffULL) - 1);
                    const Entry& e = entries_[index];
                    if (e.hash == hash && e.size == key.size() &&
                        std::memcmp(arena_.data() + e.offset, key.data(), key.size()) == 0)
                        return {index, false};
                }
            }
        }
        return {add(key, hash), true};
    }
    std::optional<std::uint32_t> find(std::string_view key, std::uint64_t hash) const;

    std::string_view key(std::uint32_t index) const {
        const Entry& e = entries_[index];
        return {arena_.data() + e.offset, e.size};
    }
    std::uint64_t hash(std::uint32_t index) const { return entries_[index].hash; }
    std::uint32_t size() const { return static_cast<std::uint32_t>(entries_.size()); }
    bool empty() const { return entries_.empty(); }
    void clear();
    void reserve(std::size_t keys, std::size_t key_bytes);
    /// Heap bytes held.
    std::size_t memory() const {
        return entries_.capacity() * sizeof(Entry) + slots_.capacity() * sizeof(std::uint64_t) +
               arena_.capacity();
    }

  private:
    struct Entry {
        std::uint64_t hash;
        std::uint64_t offset;
        std::uint32_t size;
    };
    static std::uint64_t slot_of(std::uint32_t index, std::uint64_t hash) {
        return (hash & 0xffffffff00000000ULL) | (static_cast<std::uint64_t>(index) + 1);
    }
    void grow();
    /// Adds a key known to be absent.
    std::uint32_t add(std::string_view key, std::uint64_t hash);

    std::vector<Entry> entries_;
    std::vector<std::uint64_t> slots_; // 0 = empty; else high 32 hash bits | (index + 1)
    std::string arena_;
};

} // namespace cep::agg
