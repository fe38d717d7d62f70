#include "cep/agg/space_saving.hpp"

#include "cep/agg/hash.hpp"

#include <algorithm>

namespace cep::agg {

SpaceSaving::SpaceSaving(std::uint32_t capacity) : capacity_(capacity) {
    if (capacity == 0) throw RuntimeError("Space-Saving capacity must be positive");
}

std::uint32_t SpaceSaving::find(std::string_view key, std::uint64_t hash) const {
    const auto none = static_cast<std::uint32_t>(entries_.size());
    if (index_.empty()) return none;
    const std::size_t mask = index_.size() - 1;
    for (std::size_t i = static_cast<std::size_t>(hash) & mask;; i = (i + 1) & mask) {
        const std::uint32_t slot = index_[i];
        if (slot == 0) return none;
        const Entry& e = entries_[slot - 1];
        if (e.hash == hash && e.key == key) return slot - 1;
    }
}

void SpaceSaving::grow_index() {
    index_.assign(index_.empty() ? 16 : index_.size() * 2, 0);
    for (std::uint32_t e = 0; e < entries_.size(); ++e)
        index_insert(e);
}

void SpaceSaving::index_insert(std::uint32_t entry) {
    const std::size_t mask = index_.size() - 1;
    std::size_t i = static_cast<std::size_t>(entries_[entry].hash) & mask;
    while (index_[i] != 0)
        i = (i + 1) & mask;
    index_[i] = entry + 1;
}

void SpaceSaving::index_erase(std::uint32_t entry) {
    // Linear probing without tombstones: after removing a slot, pull back later members of
    // the same probe run so every remaining key stays reachable from its home slot.
    const std::size_t mask = index_.size() - 1;
    std::size_t i = static_cast<std::size_t>(entries_[entry].hash) & mask;
    while (index_[i] != entry + 1)
        i = (i + 1) & mask;
    std::size_t hole = i;
    for (std::size_t j = (hole + 1) & mask; index_[j] != 0; j = (j + 1) & mask) {
        const std::size_t home = static_cast<std::size_t>(entries_[index_[j] - 1].hash) & mask;
        // Move j into the hole unless its home lies cyclically in (hole, j].
        const bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
        if (!stays) {
            index_[hole] = index_[j];
            hole = j;
        }
    }
    index_[hole] = 0;
}

void SpaceSaving::swap_heap(std::uint32_t a, std::uint32_t b) {
    std::swap(heap_[a], heap_[b]);
    entries_[heap_[a]].heap_pos = a;
    entries_[heap_[b]].heap_pos = b;
}

void SpaceSaving::sift_down(std::uint32_t pos) {
    const auto n = static_cast<std::uint32_t>(heap_.size());
    for (;;) {
        const std::uint32_t left = 2 * pos + 1;
        if (left >= n) return;
        std::uint32_t smallest = left;
        const std::uint32_t right = left + 1;
        if (right < n && entries_[heap_[right]].count < entries_[heap_[left]].count) smallest = right;
        if (entries_[heap_[smallest]].count >= entries_[heap_[pos]].count) return;
        swap_heap(pos, smallest);
        pos = smallest;
    }
}

void SpaceSaving::add(std::string_view key, std::uint64_t count) {
    const std::uint64_t hash = hash_bytes(key);
    std::uint32_t e = find(key, hash);
    if (e < entries_.size()) {
        // Counts only grow, so in a min-heap the entry can only move down.
        entries_[e].count += count;
        sift_down(entries_[e].heap_pos);
        return;
    }
    if (entries_.size() < capacity_) {
        if ((entries_.size() + 1) * 2 > index_.size()) grow_index();
        e = static_cast<std::uint32_t>(entries_.size());
        entries_.push_back({std::string(key), hash, count, 0, static_cast<std::uint32_t>(heap_.size())});
        heap_.push_back(e);
        index_insert(e);
        // A new entry with the smallest possible count belongs at the top: sift it up.
        std::uint32_t pos = entries_[e].heap_pos;
        while (pos > 0) {
            const std::uint32_t parent = (pos - 1) / 2;
            if (entries_[heap_[parent]].count <= entries_[heap_[pos]].count) break;
            swap_heap(pos, parent);
            pos = parent;
        }
        return;
    }
    // Full: the least counted value gives its counter to the new one.
    evicted_ = true;
    e = heap_[0];
    Entry& victim = entries_[e];
    index_erase(e);
    victim.key.assign(key); // reuses the string's capacity: no allocation in steady state
    victim.hash = hash;
    victim.error = victim.count;
    victim.count += count;
    index_insert(e);
    sift_down(0);
}

void SpaceSaving::rebuild(std::vector<Entry> entries) {
    entries_ = std::move(entries);
    heap_.resize(entries_.size());
    for (std::uint32_t i = 0; i < entries_.size(); ++i) {
        heap_[i] = i;
        entries_[i].heap_pos = i;
    }
    for (std::uint32_t i = static_cast<std::uint32_t>(heap_.size()) / 2; i-- > 0;)
        sift_down(i);
    index_.clear();
    std::size_t slots = 16;
    while (slots < entries_.size() * 2)
        slots *= 2;
    index_.assign(slots, 0);
    for (std::uint32_t e = 0; e < entries_.size(); ++e)
        index_insert(e);
}

void SpaceSaving::merge(const SpaceSaving& other) {
    if (other.entries_.empty()) return;
    // A value absent from a side that evicted may have had up to that side's minimum count.
    const std::uint64_t min_this = evicted_ && !heap_.empty() ? entries_[heap_[0]].count : 0;
    const std::uint64_t min_other =
        other.evicted_ && !other.heap_.empty() ? other.entries_[other.heap_[0]].count : 0;
    std::vector<Entry> combined;
    combined.reserve(entries_.size() + other.entries_.size());
    std::vector<bool> matched(other.entries_.size(), false);
    for (Entry& e : entries_) {
        const std::uint32_t o = other.find(e.key, e.hash);
        if (o < other.entries_.size()) {
            matched[o] = true;
            combined.push_back({std::move(e.key), e.hash, e.count + other.entries_[o].count,
                                e.error + other.entries_[o].error, 0});
        } else {
            combined.push_back({std::move(e.key), e.hash, e.count + min_other, e.error + min_other, 0});
        }
    }
    for (std::uint32_t o = 0; o < other.entries_.size(); ++o) {
        if (matched[o]) continue;
        const Entry& e = other.entries_[o];
        combined.push_back({e.key, e.hash, e.count + min_this, e.error + min_this, 0});
    }
    evicted_ = evicted_ || other.evicted_;
    if (combined.size() > capacity_) {
        std::nth_element(combined.begin(), combined.begin() + capacity_, combined.end(),
                         [](const Entry& a, const Entry& b) { return a.count > b.count; });
        combined.resize(capacity_);
        evicted_ = true;
    }
    rebuild(std::move(combined));
}

std::size_t SpaceSaving::memory() const {
    std::size_t bytes = entries_.capacity() * sizeof(Entry) + heap_.capacity() * sizeof(std::uint32_t) +
                        index_.capacity() * sizeof(std::uint32_t);
    for (const Entry& e : entries_)
        if (e.key.capacity() > 15) bytes += e.key.capacity() + 1;
    return bytes;
}

void SpaceSaving::write(ByteWriter& out) const {
    out.varint(capacity_);
    out.u8(evicted_ ? 1 : 0);
    out.varint(entries_.size());
    for (const Entry& e : entries_) {
        out.bytes(e.key);
        out.varint(e.count);
        out.varint(e.error);
    }
}

SpaceSaving SpaceSaving::read(ByteReader& in) {
    const std::uint64_t capacity = in.varint();
    if (capacity == 0 || capacity > 100'000'000) throw RuntimeError("corrupt top-k sketch: bad capacity");
    SpaceSaving summary(static_cast<std::uint32_t>(capacity));
    summary.evicted_ = in.u8() != 0;
    const std::uint64_t n = in.count(3);
    if (n > capacity) throw RuntimeError("corrupt top-k sketch: more entries than capacity");
    std::vector<Entry> entries;
    entries.reserve(n);
    for (std::uint64_t i = 0; i < n; ++i) {
        const std::string_view key = in.bytes();
        const std::uint64_t count = in.varint();
        const std::uint64_t error = in.varint();
        if (error > count) throw RuntimeError("corrupt top-k sketch: error above count");
        entries.push_back({std::string(key), hash_bytes(key), count, error, 0});
    }
    summary.rebuild(std::move(entries));
    for (std::uint32_t e = 0; e < summary.entries_.size(); ++e)
        if (summary.find(summary.entries_[e].key, summary.entries_[e].hash) != e)
            throw RuntimeError("corrupt top-k sketch: duplicate value");
    return summary;
}

} // namespace cep::agg
