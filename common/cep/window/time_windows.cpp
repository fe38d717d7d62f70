// Tumbling and sliding event-time windows (Flink's TumblingEventTimeWindows and
// SlidingEventTimeWindows with EventTimeTrigger).
//
// State is one pane per window: a hash index from key to a dense index, and the keys'
// aggregate states in a chunked arena at that index. Every key of a window fires at the same
// watermark, so a pane is written out and dropped whole, and its memory is reused by a later
// window; there is nothing per key to look up in a global table, and nothing to free per key.
// Records mostly land in the newest window, so the last pane used is checked first.

#include "cep/agg/hash.hpp"
#include "cep/window/engine.hpp"
#include "cep/window/key_table.hpp"
#include "cep/window/state_arena.hpp"

#include <algorithm>
#include <vector>

namespace cep::window {
namespace {

constexpr std::uint8_t flag_string = 1;  // the key came from a JSON string
constexpr std::uint8_t flag_emitted = 2; // a result for this key and window was written

class TimeWindows final : public Engine {
  public:
    explicit TimeWindows(const EngineContext& context)
        : spec_(context.spec), aggs_(context.aggs), sink_(context.sink), order_(context.composite_key) {}

    bool add(const Record& record, std::optional<Timestamp> time, const KeyRef& key,
             Timestamp watermark) override {
        const Timestamp t = *time;
        if (spec_.kind == WindowKind::tumbling) {
            const Timestamp start = aligned_start(t, spec_.size);
            return add_to({start, start + spec_.size}, record, key, watermark);
        }
        // Sliding: the windows holding t start at multiples of the slide in (t - size, t].
        const Timestamp last = aligned_start(t, spec_.slide);
        const Timestamp first = last - (last - t + spec_.size - 1) / spec_.slide * spec_.slide;
        bool added = false;
        for (Timestamp start = first; start <= last; start += spec_.slide)
            added |= add_to({start, start + spec_.size}, record, key, watermark);
        return added;
    }

    // Most records belong to the newest window.
    void prefetch(const KeyRef& key) override {
        if (last_ != nullptr) last_->keys.prefetch(key.hash);
    }

    void advance(Timestamp watermark) override {
        std::size_t i = 0;
        while (i < panes_.size()) {
            Pane& pane = *panes_[i];
            if (max_timestamp_of(pane.bounds) > watermark) break; // later panes end later
            if (!pane.fired) fire(pane);
            if (cleanup_time(pane.bounds, spec_.lateness) <= watermark) {
                release(i);
                continue;
            }
            ++i;
        }
    }

    void finish() override {
        for (auto& pane : panes_)
            if (!pane->fired) fire(*pane);
        while (!panes_.empty())
            release(panes_.size() - 1);
    }

    void snapshot(agg::ByteWriter& out) const override {
        out.varint(panes_.size());
        std::string state;
        for (const auto& pane : panes_) {
            out.svarint(pane->bounds.start);
            out.svarint(pane->bounds.end);
            out.u8(pane->fired ? 1 : 0);
            out.varint(pane->keys.size());
            for (std::uint32_t i = 0; i < pane->keys.size(); ++i) {
                out.bytes(pane->keys.key(i));
                out.u8(pane->flags[i]);
                if (aggs_ != nullptr) {
                    state.clear();
                    aggs_->write_state(pane->states.at(i), state);
                    out.bytes(state);
                }
                if (spec_.collect) out.bytes(pane->events[i]);
            }
        }
    }

    void restore(agg::ByteReader& in) override {
        while (!panes_.empty())
            release(panes_.size() - 1);
        const std::uint64_t count = in.count(3);
        for (std::uint64_t p = 0; p < count; ++p) {
            auto pane = new_pane();
            pane->bounds.start = in.svarint();
            pane->bounds.end = in.svarint();
            pane->fired = in.u8() != 0;
            const std::uint64_t keys = in.count(2);
            for (std::uint64_t k = 0; k < keys; ++k) {
                const std::string_view key = in.bytes();
                const auto found = pane->keys.insert(key, agg::hash_bytes(key));
                if (!found.inserted) throw RuntimeError("corrupt window snapshot: a key twice in one window");
                pane->states.push();
                pane->flags.push_back(in.u8());
                if (aggs_ != nullptr) aggs_->read_state(pane->states.at(found.index), in.bytes());
                if (spec_.collect) pane->events.emplace_back(in.bytes());
            }
            if (!panes_.empty() && panes_.back()->bounds.end >= pane->bounds.end)
                throw RuntimeError("corrupt window snapshot: windows out of order");
            panes_.push_back(std::move(pane));
        }
    }

    std::uint64_t state_size() const override {
        std::uint64_t n = 0;
        for (const auto& pane : panes_)
            n += pane->keys.size();
        return n;
    }

  private:
    struct Pane {
        explicit Pane(const agg::AggregateSet* aggs) : states(aggs) {}
        Bounds bounds;
        bool fired = false; // the on-time firing happened (or the window opened already due)
        KeyTable keys;
        StateArena states;               // at each key's index
        std::vector<std::uint8_t> flags; // at each key's index
        std::vector<std::string> events; // at each key's index, with --collect
        std::string window_json;         // `"window":{...}`, formatted once
    };

    bool add_to(const Bounds& bounds, const Record& record, const KeyRef& key, Timestamp watermark) {
        // Flink drops a record for a window whose cleanup time the watermark has reached.
        if (cleanup_time(bounds, spec_.lateness) <= watermark) return false;
        Pane& pane = pane_for(bounds, watermark);
        const auto [index, inserted] = pane.keys.insert(key.bytes, key.hash);
        if (inserted) {
            pane.states.push();
            pane.flags.push_back(key.is_string ? flag_string : 0);
            if (spec_.collect) pane.events.emplace_back();
        }
        if (aggs_ != nullptr) aggs_->add(pane.states.at(index), record);
        if (spec_.collect) collect_record(pane.events[index], record.raw);
        // A window the watermark has passed fires again for each record it still accepts
        // (Flink's late firing); with --emit updates an open window fires on every change.
        if (pane.fired)
            emit(pane, index, false);
        else if (spec_.emit == EmitMode::updates)
            emit(pane, index, true);
        return true;
    }

    Pane& pane_for(const Bounds& bounds, Timestamp watermark) {
        if (last_ != nullptr && last_->bounds.end == bounds.end) return *last_;
        auto it = std::lower_bound(
            panes_.begin(), panes_.end(), bounds.end,
            [](const std::unique_ptr<Pane>& p, Timestamp end) { return p->bounds.end < end; });
        if (it == panes_.end() || (*it)->bounds.end != bounds.end) {
            auto pane = new_pane();
            pane->bounds = bounds;
            // A window that opens when the watermark has passed its end never sees its on-time
            // firing; each record it accepts fires it (as in Flink's EventTimeTrigger.onElement).
            pane->fired = max_timestamp_of(bounds) <= watermark;
            it = panes_.insert(it, std::move(pane));
        }
        last_ = it->get();
        return *last_;
    }

    std::unique_ptr<Pane> new_pane() {
        if (spare_.empty()) return std::make_unique<Pane>(aggs_);
        auto pane = std::move(spare_.back());
        spare_.pop_back();
        return pane;
    }

    void release(std::size_t i) {
        std::unique_ptr<Pane> pane = std::move(panes_[i]);
        panes_.erase(panes_.begin() + static_cast<std::ptrdiff_t>(i));
        if (last_ == pane.get()) last_ = nullptr;
        if (spare_.size() >= max_spare) return;
        // Keep the pane's buffers: the next window of the stream needs about as many keys.
        pane->keys.clear();
        pane->states.clear();
        pane->flags.clear();
        pane->events.clear();
        pane->window_json.clear();
        pane->fired = false;
        spare_.push_back(std::move(pane));
    }

    void fire(Pane& pane) {
        pane.fired = true;
        order_items_.clear();
        order_items_.reserve(pane.keys.size());
        for (std::uint32_t i = 0; i < pane.keys.size(); ++i)
            order_items_.push_back({order_.prefix(pane.keys.key(i), pane.flags[i] & flag_string), i});
        order_.sort(order_items_, [&](std::uint32_t i) {
            return std::pair{pane.keys.key(i), (pane.flags[i] & flag_string) != 0};
        });
        // In key order the panes' entries, keys, flags and states are read at random: a cache
        // miss each, which dominated firing 100k keys. Ask for them a few results ahead.
        const std::size_t n = order_items_.size();
        for (std::size_t k = 0; k < n; ++k) {
            if (k + 2 * prefetch_ahead < n)
                pane.keys.prefetch_entry(order_items_[k + 2 * prefetch_ahead].index);
            if (k + prefetch_ahead < n) {
                const std::uint32_t ahead = order_items_[k + prefetch_ahead].index;
                pane.keys.prefetch_key(ahead);
                __builtin_prefetch(&pane.flags[ahead]);
                if (aggs_ != nullptr) __builtin_prefetch(pane.states.at(ahead));
            }
            emit(pane, order_items_[k].index, false);
        }
    }

    void emit(Pane& pane, std::uint32_t index, bool early) {
        if (pane.window_json.empty()) pane.window_json = sink_.window_json(pane.bounds);
        Result result;
        result.key = {pane.keys.key(index), 0, (pane.flags[index] & flag_string) != 0};
        result.window = pane.bounds;
        result.state = pane.states.at(index);
        if (spec_.collect) result.events = pane.events[index];
        result.update = (pane.flags[index] & flag_emitted) != 0;
        result.early = early;
        result.window_json = &pane.window_json;
        sink_.result(result);
        pane.flags[index] |= flag_emitted;
    }

    static constexpr std::size_t max_spare = 2;
    static constexpr std::size_t prefetch_ahead = 8; // results

    const WindowSpec& spec_;
    agg::AggregateSet* aggs_;
    ResultSink& sink_;
    KeyOrder order_;
    std::vector<std::unique_ptr<Pane>> panes_; // open windows, by end
    std::vector<std::unique_ptr<Pane>> spare_; // released panes, buffers kept
    Pane* last_ = nullptr;
    std::vector<KeyOrder::Item> order_items_;
};

} // namespace

std::unique_ptr<Engine> make_time_windows(const EngineContext& context) {
    return std::make_unique<TimeWindows>(context);
}

} // namespace cep::window
