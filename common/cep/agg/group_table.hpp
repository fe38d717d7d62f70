#pragma once
// Grouping: the group-by fields of a record encoded as one byte string (value_key.hpp, so keys
// sort in jq's order and equal values share a group), a hash table from those keys to
// aggregate states kept in large blocks, and writing the group values back under their paths.

#include "cep/agg/aggregate.hpp"
#include "cep/agg/hash.hpp"
#include "cep/agg/key_index.hpp"
#include "cep/agg/value_key.hpp"
#include "cep/record.hpp"
#include "cep/schema.hpp"

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cep::agg {

/// The group-by paths: their slots, a record's key, and the values written back as JSON.
class GroupFields {
  public:
    /// Registers `paths` in `schema`. Paths must be field names (no `[index]`) and none may be
    /// the prefix of another; throws UsageError otherwise.
    GroupFields(std::vector<Path> paths, Schema& schema);

    std::size_t size() const { return paths_.size(); }
    const Path& path(std::size_t i) const { return paths_[i]; }
    /// Top-level keys the written fields occupy (for name clashes with aggregates).
    std::vector<std::string> top_level_names() const;

    /// Appends each field's encoded value; a missing field is encoded as null.
    void encode(const Record& record, std::string& key) const {
        for (const Slot slot : slots_) {
            const Value& v = record[slot];
            if (v.kind == Kind::missing)
                append_value_key(key, Value::null());
            else
                append_value_key(key, v);
        }
    }

    /// Appends the first `count` fields as JSON members, nested by path:
    /// `"member":{"country":"KR"},"event":"kill"`. Returns false when nothing was written.
    bool append_json(std::span<const Value> values, std::size_t count, std::string& json) const;

  private:
    struct Node {
        std::string key;
        int field = -1; // index into paths_ for a leaf, -1 for an object
        std::vector<Node> children;
    };
    bool append_children(const Node& node, std::span<const Value> values, std::size_t count,
                         std::string& json) const;
    static bool uses(const Node& node, std::size_t count);

    std::vector<Path> paths_;
    std::vector<Slot> slots_;
    Node root_;
};

/// Aggregate states by group key. States live in blocks of many states, so adding a group
/// costs no allocation of its own, and are destroyed with the table.
class GroupTable {
  public:
    explicit GroupTable(const AggregateSet& set) : set_(&set) {}
    ~GroupTable() { destroy_all(); }
    GroupTable(GroupTable&& other) noexcept = default;
    GroupTable& operator=(GroupTable&& other) noexcept;
    GroupTable(const GroupTable&) = delete;
    GroupTable& operator=(const GroupTable&) = delete;

    /// The state of the group `key` (hash: hash_bytes(key)); a new group starts empty.
    std::byte* state_for(std::string_view key, std::uint64_t hash) {
        const auto [group, inserted] = index_.insert(key, hash);
        if (inserted) return add_state();
        return states_[group];
    }
    std::byte* state_for(std::string_view key) { return state_for(key, hash_bytes(key)); }

    std::uint32_t size() const { return index_.size(); }
    bool empty() const { return index_.empty(); }
    std::string_view key(std::uint32_t group) const { return index_.key(group); }
    std::byte* state(std::uint32_t group) { return states_[group]; }
    const std::byte* state(std::uint32_t group) const { return states_[group]; }

    /// Group indices ordered by key (field by field, jq's order).
    std::vector<std::uint32_t> sorted() const;
    /// Bytes held: keys, index and states with their sketches.
    std::size_t memory() const;

  private:
    std::byte* add_state();
    void destroy_all() noexcept;

    const AggregateSet* set_;
    KeyIndex index_;
    std::vector<std::byte*> states_;
    std::vector<std::unique_ptr<std::byte[]>> blocks_;
    std::size_t block_used_ = 0;     // states used in the last block
    std::size_t block_capacity_ = 0; // states per block
};

} // namespace cep::agg
