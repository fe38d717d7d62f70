#include "cep/schema.hpp"

namespace cep {

Slot Schema::add(const Path& path) {
    std::uint32_t node = 0;
    for (const auto& step : path.steps) {
        std::uint32_t next = 0;
        bool found = false;
        if (step.type == PathStep::Type::key) {
            for (auto& [key, child] : nodes_[node].keys)
                if (key == step.key) { next = child; found = true; break; }
            if (!found) {
                next = static_cast<std::uint32_t>(nodes_.size());
                nodes_[node].keys.emplace_back(step.key, next);
                nodes_.emplace_back();
            }
        } else {
            for (auto& [index, child] : nodes_[node].items)
                if (index == step.index) { next = child; found = true; break; }
            if (!found) {
                next = static_cast<std::uint32_t>(nodes_.size());
                nodes_[node].items.emplace_back(step.index, next);
                nodes_.emplace_back();
            }
        }
        node = next;
    }
    if (nodes_[node].slot < 0) {
        nodes_[node].slot = static_cast<std::int64_t>(paths_.size());
        paths_.push_back(path);
    }
    return static_cast<Slot>(nodes_[node].slot);
}

} // namespace cep
