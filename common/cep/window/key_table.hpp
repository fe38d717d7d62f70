#pragma once
// Keys -> dense indices 0..n-1, insert-only, keys kept in one arena: the per-window key lookup
// of the window engines, on the per-record path.
//
// Unlike agg::KeyIndex, whose slots point to an entry that points to the key (two more cache
// misses on every hit), a slot here holds a key of up to 8 bytes itself, and a longer key's
// 64-bit hash; a hit on a short key touches one cache line. With 100k keys per window that is
// the difference between one and three misses per record.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace cep::window {

/// Callers pass agg::hash_bytes(key) as the hash; the table rehashes with it when it grows.
class KeyTable {
  public:
    struct Found {
        std::uint32_t index;
        bool inserted;
    };

    Found insert(std::string_view key, std::uint64_t hash) {
        // Up to 3/4 full: linear probing stays short, and the table stays small enough to cache.
        if ((entries_.size() + 1) * 4 > slots_.size() * 3) grow();
        const Slot probe = slot_for(key, hash);
        const std::size_t mask = slots_.size() - 1;
        for (std::size_t i = static_cast<std::size_t>(hash) & mask;; i = (i + 1) & mask) {
            Slot& slot = slots_[i];
            if (slot.index == 0) {
                slot = probe;
                slot.index = static_cast<std::uint32_t>(entries_.size()) + 1;
                entries_.push_back({arena_.size(), static_cast<std::uint32_t>(key.size())});
                arena_.append(key);
                return {slot.index - 1, true};
            }
            if (slot.word == probe.word && slot.check == probe.check &&
                (key.size() <= inline_bytes || this->key(slot.index - 1) == key))
                return {slot.index - 1, false};
        }
    }

    /// Starts loading the slot where `hash` is looked up first.
    void prefetch(std::uint64_t hash) const {
        if (!slots_.empty())
            __builtin_prefetch(&slots_[static_cast<std::size_t>(hash) & (slots_.size() - 1)]);
    }

    /// For walks in an order other than insertion (results sorted by key): start loading the
    /// entry of `index`, and some iterations later, once that has arrived, its key's bytes.
    void prefetch_entry(std::uint32_t index) const { __builtin_prefetch(&entries_[index]); }
    void prefetch_key(std::uint32_t index) const {
        __builtin_prefetch(arena_.data() + entries_[index].offset);
    }

    std::string_view key(std::uint32_t index) const {
        const Entry& e = entries_[index];
        return {arena_.data() + e.offset, e.size};
    }
    std::uint32_t size() const { return static_cast<std::uint32_t>(entries_.size()); }
    /// Forgets every key; keeps the buffers for the next window.
    void clear() {
        entries_.clear();
        arena_.clear();
        std::fill(slots_.begin(), slots_.end(), Slot{});
    }

  private:
    static constexpr std::size_t inline_bytes = 8;
    struct Slot {
        std::uint64_t word = 0;  // a short key's bytes, or a long key's hash
        std::uint32_t check = 0; // a short key's length; 0xffffffff for long keys
        std::uint32_t index = 0; // entry index + 1; 0 = empty
    };
    struct Entry {
        std::size_t offset;
        std::uint32_t size;
    };

    static Slot slot_for(std::string_view key, std::uint64_t hash) {
        Slot slot;
        if (key.size() <= inline_bytes) {
            std::memcpy(&slot.word, key.data(), key.size());
            slot.check = static_cast<std::uint32_t>(key.size());
        } else {
            slot.word = hash;
            slot.check = 0xffffffff;
        }
        return slot;
    }

    void grow();

    std::vector<Slot> slots_;
    std::vector<Entry> entries_;
    std::string arena_;
};

} // namespace cep::window
