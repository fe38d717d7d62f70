#pragma once
// An insert-only hash index from byte-string keys to dense indices 0..n-1, with the keys kept
// in one arena: the lookup structure behind group tables and exact distinct sets. Open
// addressing with linear probing; each slot holds the entry index and 32 bits of the hash, so a
// probe rarely touches a key that does not match.

#include <cstdint>
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

    /// Finds `key` (whose hash is `hash`) or adds it with the next index.
    Found insert(std::string_view key, std::uint64_t hash);
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

    std::vector<Entry> entries_;
    std::vector<std::uint64_t> slots_; // 0 = empty; else high 32 hash bits | (index + 1)
    std::string arena_;
};

} // namespace cep::agg
