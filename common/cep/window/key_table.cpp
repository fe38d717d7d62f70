#include "cep/window/key_table.hpp"

#include "cep/agg/hash.hpp"

namespace cep::window {

void KeyTable::grow() {
    const std::size_t capacity = slots_.empty() ? 64 : slots_.size() * 2;
    slots_.assign(capacity, Slot{});
    const std::size_t mask = capacity - 1;
    for (std::uint32_t index = 0; index < entries_.size(); ++index) {
        const std::string_view k = key(index);
        const std::uint64_t hash = agg::hash_bytes(k);
        std::size_t i = static_cast<std::size_t>(hash) & mask;
        while (slots_[i].index != 0)
            i = (i + 1) & mask;
        slots_[i] = slot_for(k, hash);
        slots_[i].index = index + 1;
    }
}

} // namespace cep::window
