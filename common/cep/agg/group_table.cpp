#include "cep/agg/group_table.hpp"

#include "cep/agg/value_key.hpp"
#include "cep/errors.hpp"
#include "cep/json_writer.hpp"

#include <algorithm>

namespace cep::agg {

GroupFields::GroupFields(std::vector<Path> paths, Schema& schema) : paths_(std::move(paths)) {
    for (std::size_t i = 0; i < paths_.size(); ++i) {
        const Path& path = paths_[i];
        for (const auto& step : path.steps)
            if (step.type != PathStep::Type::key)
                throw UsageError("group path '" + path.to_string() +
                                 "': array indices cannot be written back; group by a field name");
        for (std::size_t j = 0; j < i; ++j) {
            const Path& other = paths_[j];
            const std::size_t common = std::min(path.steps.size(), other.steps.size());
            if (std::equal(path.steps.begin(), path.steps.begin() + static_cast<std::ptrdiff_t>(common),
                           other.steps.begin()))
                throw UsageError(path == other ? "group path '" + path.to_string() + "' given twice"
                                               : "group paths '" + other.to_string() + "' and '" +
                                                     path.to_string() + "' overlap: one contains the other");
        }
        slots_.push_back(schema.add(path));
        // Insert into the output tree, keeping first-seen order at every level.
        Node* node = &root_;
        for (std::size_t s = 0; s < path.steps.size(); ++s) {
            const std::string& key = path.steps[s].key;
            auto it = std::find_if(node->children.begin(), node->children.end(),
                                   [&](const Node& child) { return child.key == key; });
            if (it == node->children.end()) {
                node->children.push_back(Node{key, -1, {}});
                it = node->children.end() - 1;
            }
            node = &*it;
        }
        node->field = static_cast<int>(i);
    }
}

std::vector<std::string> GroupFields::top_level_names() const {
    std::vector<std::string> names;
    for (const Node& child : root_.children)
        names.push_back(child.key);
    return names;
}

bool GroupFields::uses(const Node& node, std::size_t count) {
    if (node.field >= 0) return static_cast<std::size_t>(node.field) < count;
    return std::any_of(node.children.begin(), node.children.end(),
                       [&](const Node& c) { return uses(c, count); });
}

bool GroupFields::append_children(const Node& node, std::span<const Value> values, std::size_t count,
                                  std::string& json) const {
    bool wrote = false;
    for (const Node& child : node.children) {
        if (!uses(child, count)) continue;
        if (wrote) json += ',';
        wrote = true;
        append_json_string(json, child.key);
        json += ':';
        if (child.field >= 0) {
            append_value_json(json, values[static_cast<std::size_t>(child.field)]);
        } else {
            json += '{';
            append_children(child, values, count, json);
            json += '}';
        }
    }
    return wrote;
}

bool GroupFields::append_json(std::span<const Value> values, std::size_t count, std::string& json) const {
    return append_children(root_, values, count, json);
}

GroupTable& GroupTable::operator=(GroupTable&& other) noexcept {
    if (this != &other) {
        destroy_all();
        set_ = other.set_;
        index_ = std::move(other.index_);
        states_ = std::move(other.states_);
        blocks_ = std::move(other.blocks_);
        block_used_ = other.block_used_;
        block_capacity_ = other.block_capacity_;
        other.states_.clear();
        other.blocks_.clear();
        other.block_used_ = other.block_capacity_ = 0;
    }
    return *this;
}

std::byte* GroupTable::add_state() {
    if (block_used_ == block_capacity_) {
        // Blocks of about 64 KiB: one allocation per thousands of small groups.
        block_capacity_ = std::max<std::size_t>(1, (std::size_t{64} << 10) / set_->state_size());
        blocks_.push_back(std::make_unique<std::byte[]>(block_capacity_ * set_->state_size()));
        block_used_ = 0;
    }
    std::byte* state = blocks_.back().get() + block_used_ * set_->state_size();
    set_->init(state);
    ++block_used_;
    states_.push_back(state);
    return state;
}

void GroupTable::destroy_all() noexcept {
    for (std::byte* state : states_)
        set_->destroy(state);
    states_.clear();
}

std::vector<std::uint32_t> GroupTable::sorted() const {
    std::vector<std::uint32_t> order(size());
    for (std::uint32_t i = 0; i < order.size(); ++i)
        order[i] = i;
    std::sort(order.begin(), order.end(),
              [&](std::uint32_t a, std::uint32_t b) { return compare_key_sequences(key(a), key(b)) < 0; });
    return order;
}

std::size_t GroupTable::memory() const {
    std::size_t bytes = index_.memory() + states_.capacity() * sizeof(std::byte*);
    bytes += (blocks_.size() * block_capacity_ - (states_.size())) * set_->state_size();
    for (const std::byte* state : states_)
        bytes += set_->memory(state);
    return bytes;
}

} // namespace cep::agg
