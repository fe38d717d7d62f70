#pragma once
// The most frequent values with Space-Saving (Metwally, Agrawal, El Abbadi 2005): at most
// `capacity` counters; a new value that finds no free counter takes over the smallest one and
// inherits its count as an overestimate. Guarantees: every value with true frequency > n /
// capacity is held, and a held count overestimates by at most the count it inherited (its
// `error`, <= n / capacity). While no counter was ever taken over, every count is exact.
//
// Merging follows Cafaro et al. ("Parallel Space Saving on multi- and many-core processors",
// 2016): counts of common values add; a value missing from one side is credited with that
// side's minimum count (0 when that side never evicted), then the largest `capacity` remain.

#include "cep/agg/binary.hpp"

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cep::agg {

class SpaceSaving {
  public:
    explicit SpaceSaving(std::uint32_t capacity);

    /// Counts `key` (any byte string; here an encoded value) `count` times.
    void add(std::string_view key, std::uint64_t count = 1);
    void merge(const SpaceSaving& other);

    struct Item {
        std::string_view key;
        std::uint64_t count;
        std::uint64_t error; ///< how much `count` may exceed the true count
    };
    /// Up to n items, by count descending, then by `key_less` ascending.
    template <class Less> std::vector<Item> top(std::size_t n, Less key_less) const;

    std::uint32_t capacity() const { return capacity_; }
    std::size_t size() const { return entries_.size(); }
    /// No counter was ever taken over: every count is exact.
    bool exact() const { return !evicted_; }
    std::size_t memory() const;

    void write(ByteWriter& out) const;
    static SpaceSaving read(ByteReader& in);

  private:
    struct Entry {
        std::string key;
        std::uint64_t hash;
        std::uint64_t count;
        std::uint64_t error;
        std::uint32_t heap_pos;
    };
    std::uint32_t find(std::string_view key, std::uint64_t hash) const; // entries_.size() if absent
    void index_insert(std::uint32_t entry);
    void index_erase(std::uint32_t entry);
    void grow_index();
    void sift_down(std::uint32_t pos);
    void swap_heap(std::uint32_t a, std::uint32_t b);
    void rebuild(std::vector<Entry> entries);

    std::uint32_t capacity_;
    bool evicted_ = false;
    std::vector<Entry> entries_;
    std::vector<std::uint32_t> heap_;  // entry indices, a min-heap by count
    std::vector<std::uint32_t> index_; // open addressing: entry + 1, 0 = empty
};

template <class Less> std::vector<SpaceSaving::Item> SpaceSaving::top(std::size_t n, Less key_less) const {
    std::vector<Item> items;
    items.reserve(entries_.size());
    for (const Entry& e : entries_)
        items.push_back({e.key, e.count, e.error});
    std::sort(items.begin(), items.end(), [&](const Item& a, const Item& b) {
        if (a.count != b.count) return a.count > b.count;
        return key_less(a.key, b.key);
    });
    if (items.size() > n) items.resize(n);
    return items;
}

} // namespace cep::agg
