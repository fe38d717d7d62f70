#pragma once
// Aggregate states of one AggregateSet, addressed by a dense index and kept in fixed-size
// chunks. Chunks never move: a state may hold objects (strings, sketches) that cannot be
// relocated by copying bytes, and growing one big buffer would copy them. Every index below
// size() holds a constructed state; reset() empties one for reuse.

#include "cep/agg/aggregate.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <vector>

namespace cep::window {

class StateArena {
  public:
    /// `set` may be null (no --agg): states are then empty and every pointer is null.
    explicit StateArena(const agg::AggregateSet* set) : set_(set) {
        if (set_ == nullptr) return;
        align_ = std::max<std::size_t>(set_->state_align(), alignof(std::max_align_t));
        stride_ = (set_->state_size() + set_->state_align() - 1) / set_->state_align() * set_->state_align();
        if (stride_ == 0) stride_ = set_->state_align();
        per_chunk_ = std::max<std::size_t>(1, chunk_bytes / stride_);
    }
    ~StateArena() { clear(); }
    StateArena(const StateArena&) = delete;
    StateArena& operator=(const StateArena&) = delete;

    std::uint32_t size() const { return size_; }
    bool enabled() const { return set_ != nullptr; }

    std::byte* at(std::uint32_t index) {
        if (set_ == nullptr) return nullptr;
        return chunks_[index / per_chunk_].get() + (index % per_chunk_) * stride_;
    }
    const std::byte* at(std::uint32_t index) const { return const_cast<StateArena*>(this)->at(index); }

    /// Constructs an empty state at index size() and returns it.
    std::byte* push() {
        const std::uint32_t index = size_;
        if (set_ != nullptr) {
            if (index / per_chunk_ == chunks_.size())
                chunks_.emplace_back(
                    static_cast<std::byte*>(::operator new (per_chunk_* stride_, std::align_val_t{align_})),
                    Free{align_});
            set_->init(at(index));
        }
        ++size_;
        return at(index);
    }
    /// Empties the state at `index` (frees its sketches) so it can hold another window.
    void reset(std::uint32_t index) {
        if (set_ == nullptr) return;
        set_->destroy(at(index));
        set_->init(at(index));
    }
    /// Destroys every state; the chunks stay allocated for reuse.
    void clear() noexcept {
        if (set_ != nullptr)
            for (std::uint32_t i = 0; i < size_; ++i)
                set_->destroy(at(i));
        size_ = 0;
    }

  private:
    static constexpr std::size_t chunk_bytes = 64 * 1024;
    struct Free {
        std::size_t align;
        void operator()(std::byte* p) const noexcept { ::operator delete (p, std::align_val_t{align}); }
    };

    const agg::AggregateSet* set_;
    std::size_t align_ = 1;
    std::size_t stride_ = 0;
    std::size_t per_chunk_ = 1;
    std::vector<std::unique_ptr<std::byte[], Free>> chunks_;
    std::uint32_t size_ = 0;
};

} // namespace cep::window
