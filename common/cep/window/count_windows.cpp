// Count windows (Flink's countWindow): per key, in arrival order. `--count N` fires every N
// records with those N (GlobalWindows + PurgingTrigger(CountTrigger.of(N))); `--count N --every M`
// fires every M records with the last N, fewer while fewer have arrived
// (GlobalWindows + CountEvictor.of(N) + CountTrigger.of(M)).
//
// Aggregates cannot take a record back out, so the sliding form is built from panes of
// g = gcd(N, M) records: a key keeps a ring of N / g panes, each with its own aggregate state,
// and a firing merges the panes it spans. The tumbling form is one pane of N.

#include "cep/agg/hash.hpp"
#include "cep/errors.hpp"
#include "cep/window/engine.hpp"
#include "cep/window/key_table.hpp"
#include "cep/window/state_arena.hpp"

#include <algorithm>
#include <numeric>
#include <vector>

namespace cep::window {
namespace {

class CountWindows final : public Engine {
  public:
    explicit CountWindows(const EngineContext& context)
        : spec_(context.spec), aggs_(context.aggs), sink_(context.sink), order_(context.composite_key),
          pane_records_(std::gcd(context.spec.count, context.spec.every)),
          ring_(static_cast<std::uint32_t>(context.spec.count / pane_records_)), states_(context.aggs),
          scratch_(context.aggs) {
        scratch_.push();
    }

    bool add(const Record& record, std::optional<Timestamp> time, const KeyRef& key, Timestamp) override {
        const auto [k, inserted] = keys_.insert(key.bytes, key.hash);
        if (inserted) {
            key_state_.push_back({0, key.is_string, false});
            for (std::uint32_t r = 0; r < ring_; ++r) {
                states_.push();
                panes_.emplace_back();
            }
        }
        KeyState& ks = key_state_[k];
        const std::uint32_t slot = slot_of(k, ks.total / pane_records_);
        if (ks.total % pane_records_ == 0) clear_pane(slot);
        Pane& pane = panes_[slot];
        ++pane.n;
        if (time) {
            pane.times = pane.has_time
                             ? Bounds{std::min(pane.times.start, *time), std::max(pane.times.end, *time)}
                             : Bounds{*time, *time};
            pane.has_time = true;
        }
        if (aggs_ != nullptr) aggs_->add(states_.at(slot), record);
        if (spec_.collect) collect_record(pane.events, record.raw);
        ++ks.total;
        if (ks.total % spec_.every == 0)
            emit(k, false);
        else if (spec_.emit == EmitMode::updates)
            emit(k, true);
        return true;
    }

    void advance(Timestamp) override {}

    void finish() override {
        // Flink never fires a count window that did not fill up; at the end of input we write
        // what the next firing would have held, so no record goes unreported.
        std::vector<KeyOrder::Item> items;
        for (std::uint32_t k = 0; k < key_state_.size(); ++k)
            if (key_state_[k].total % spec_.every != 0)
                items.push_back({order_.prefix(keys_.key(k), key_state_[k].is_string), k});
        order_.sort(items, [&](std::uint32_t k) { return std::pair{keys_.key(k), key_state_[k].is_string}; });
        for (const auto& item : items)
            emit(item.index, false);
        keys_.clear();
        key_state_.clear();
        states_.clear();
        panes_.clear();
    }

    void snapshot(agg::ByteWriter& out) const override {
        out.varint(key_state_.size());
        std::string state;
        for (std::uint32_t k = 0; k < key_state_.size(); ++k) {
            const KeyState& ks = key_state_[k];
            out.bytes(keys_.key(k));
            out.u8((ks.is_string ? 1 : 0) | (ks.emitted ? 2 : 0));
            out.varint(ks.total);
            for (std::uint32_t r = 0; r < ring_; ++r) {
                const std::uint32_t slot = k * ring_ + r;
                const Pane& pane = panes_[slot];
                out.varint(pane.n);
                out.u8(pane.has_time ? 1 : 0);
                out.svarint(pane.times.start);
                out.svarint(pane.times.end);
                if (aggs_ != nullptr) {
                    state.clear();
                    aggs_->write_state(states_.at(slot), state);
                    out.bytes(state);
                }
                if (spec_.collect) out.bytes(pane.events);
            }
        }
    }

    void restore(agg::ByteReader& in) override {
        keys_.clear();
        key_state_.clear();
        states_.clear();
        panes_.clear();
        const std::uint64_t keys = in.count(3);
        for (std::uint64_t i = 0; i < keys; ++i) {
            const std::string_view key = in.bytes();
            const auto found = keys_.insert(key, agg::hash_bytes(key));
            if (!found.inserted) throw RuntimeError("corrupt window snapshot: a key twice");
            const std::uint8_t flags = in.u8();
            key_state_.push_back({in.varint(), (flags & 1) != 0, (flags & 2) != 0});
            for (std::uint32_t r = 0; r < ring_; ++r) {
                const std::uint32_t slot = states_.size();
                states_.push();
                Pane& pane = panes_.emplace_back();
                pane.n = in.varint();
                pane.has_time = in.u8() != 0;
                pane.times.start = in.svarint();
                pane.times.end = in.svarint();
                if (aggs_ != nullptr) aggs_->read_state(states_.at(slot), in.bytes());
                if (spec_.collect) pane.events = in.bytes();
            }
        }
    }

    std::uint64_t state_size() const override { return key_state_.size(); }

  private:
    struct KeyState {
        std::uint64_t total; // records seen
        bool is_string;
        bool emitted; // --emit updates: the next window's partial result was written
    };
    struct Pane {
        std::uint64_t n = 0;
        bool has_time = false;
        Bounds times;       // smallest and largest event time
        std::string events; // --collect
    };

    std::uint32_t slot_of(std::uint32_t key, std::uint64_t pane) const {
        return key * ring_ + static_cast<std::uint32_t>(pane % ring_);
    }

    void clear_pane(std::uint32_t slot) {
        Pane& pane = panes_[slot];
        pane.n = 0;
        pane.has_time = false;
        pane.events.clear();
        states_.reset(slot);
    }

    /// Writes the window the key's next firing covers, as far as it has arrived: the records
    /// (F - N, total] where F is the next multiple of M at or after `total`.
    void emit(std::uint32_t k, bool early) {
        KeyState& ks = key_state_[k];
        const std::uint64_t fire_at = (ks.total + spec_.every - 1) / spec_.every * spec_.every;
        const std::uint64_t from = fire_at > spec_.count ? fire_at - spec_.count : 0;
        // With M > N the records between windows belong to none (Flink's evictor drops them).
        if (ks.total <= from) return;
        const std::uint64_t first_pane = from / pane_records_;
        const std::uint64_t last_pane = (ks.total - 1) / pane_records_;

        Result result;
        result.key = {keys_.key(k), 0, ks.is_string};
        result.update = ks.emitted;
        result.early = early;
        if (first_pane == last_pane) {
            const std::uint32_t slot = slot_of(k, last_pane);
            const Pane& pane = panes_[slot];
            result.count = pane.n;
            result.has_bounds = pane.has_time;
            result.window = pane.times;
            result.state = states_.at(slot);
            result.events = pane.events;
        } else {
            std::uint64_t n = 0;
            bool has_time = false;
            Bounds times;
            scratch_.reset(0);
            events_.clear();
            for (std::uint64_t p = first_pane; p <= last_pane; ++p) {
                const std::uint32_t slot = slot_of(k, p);
                const Pane& pane = panes_[slot];
                n += pane.n;
                if (pane.has_time) {
                    times = has_time ? Bounds{std::min(times.start, pane.times.start),
                                              std::max(times.end, pane.times.end)}
                                     : pane.times;
                    has_time = true;
                }
                if (aggs_ != nullptr) aggs_->merge(scratch_.at(0), states_.at(slot));
                if (spec_.collect && !pane.events.empty()) collect_record(events_, pane.events);
            }
            result.count = n;
            result.has_bounds = has_time;
            result.window = times;
            result.state = scratch_.at(0);
            result.events = events_;
        }
        sink_.result(result);
        ks.emitted = early;
    }

    const WindowSpec& spec_;
    agg::AggregateSet* aggs_;
    ResultSink& sink_;
    KeyOrder order_;
    std::uint64_t pane_records_; // g = gcd(N, M)
    std::uint32_t ring_;         // N / g panes per key
    KeyTable keys_;
    std::vector<KeyState> key_state_; // at each key's index
    StateArena states_;               // at key * ring + pane % ring
    std::vector<Pane> panes_;         // likewise
    StateArena scratch_;              // one state: the merge of a sliding window's panes
    std::string events_;
};

} // namespace

std::unique_ptr<Engine> make_count_windows(const EngineContext& context) {
    return std::make_unique<CountWindows>(context);
}

} // namespace cep::window
