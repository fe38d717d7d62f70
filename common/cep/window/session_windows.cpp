// Session windows (Flink's EventTimeSessionWindows with EventTimeTrigger): each record opens
// the window [t, t + gap), and a key's windows that intersect or touch are merged, as Flink's
// TimeWindow.intersects does (start <= other.end && end >= other.start). A session therefore
// ends `gap` after its last record and fires when the watermark reaches end - 1.
//
// Sessions live in a slab addressed by id (their aggregate states in a chunked arena at the
// same id), each key holding a list of its sessions by start. Timers are a min-heap of
// (time, session); a session's timer is not moved when the session grows, it is re-armed when
// it comes due, so extending a session costs nothing on the heap.

#include "cep/agg/hash.hpp"
#include "cep/errors.hpp"
#include "cep/window/engine.hpp"
#include "cep/window/key_table.hpp"
#include "cep/window/state_arena.hpp"

#include <algorithm>
#include <functional>
#include <vector>

namespace cep::window {
namespace {

constexpr std::uint32_t none = 0xffffffff;

bool intersects(const Bounds& a, const Bounds& b) {
    return a.start <= b.end && a.end >= b.start;
}

class SessionWindows final : public Engine {
  public:
    explicit SessionWindows(const EngineContext& context)
        : spec_(context.spec), aggs_(context.aggs), sink_(context.sink), order_(context.composite_key),
          states_(context.aggs) {}

    bool add(const Record& record, std::optional<Timestamp> time, const KeyRef& key,
             Timestamp watermark) override {
        const Timestamp t = *time;
        const Bounds window{t, saturating_add(t, spec_.gap)};
        const auto [k, inserted] = keys_.insert(key.bytes, key.hash);
        if (inserted) key_info_.push_back({none, key.is_string});

        // The key's sessions this record's window touches, and where a new one would go.
        Bounds cover = window;
        std::uint32_t first = none, before = none;
        for (std::uint32_t id = key_info_[k].head; id != none; id = sessions_[id].next) {
            const Session& s = sessions_[id];
            if (s.bounds.start > window.end) break;
            if (intersects(s.bounds, window)) {
                if (first == none) first = id;
                cover = {std::min(cover.start, s.bounds.start), std::max(cover.end, s.bounds.end)};
            } else if (first == none) {
                before = id;
            }
        }
        // Flink merges first and then drops the record if the merged window is past its
        // allowed lateness; a late record can thus still join a session that is kept.
        if (cleanup_time(cover, spec_.lateness) <= watermark) return false;

        std::uint32_t target = first;
        if (target == none) {
            target = allocate(static_cast<std::uint32_t>(k));
            Session& s = sessions_[target];
            s.bounds = window;
            std::uint32_t& link = before == none ? key_info_[k].head : sessions_[before].next;
            s.next = link;
            link = target;
            if (s.next == none && before == none) ++live_keys_;
        } else {
            // Sessions are disjoint and sorted, so the ones the record bridges follow `first`.
            Session& s = sessions_[target];
            while (s.next != none && intersects(sessions_[s.next].bounds, cover))
                absorb(target, s.next);
            s.bounds = cover;
        }

        Session& s = sessions_[target];
        if (aggs_ != nullptr) aggs_->add(states_.at(target), record);
        if (spec_.collect) collect_record(s.events, record.raw);
        if (max_timestamp_of(s.bounds) <= watermark) {
            // Late but within the allowed lateness: Flink fires such a window at once.
            emit(target, false);
            s.closed = true;
            schedule(target, cleanup_time(s.bounds, spec_.lateness));
        } else {
            // Open (again: a late record can extend a fired session past the watermark).
            s.closed = false;
            if (spec_.emit == EmitMode::updates) emit(target, true);
            schedule(target, max_timestamp_of(s.bounds));
        }
        return true;
    }

    void advance(Timestamp watermark) override {
        due_.clear();
        while (!timers_.empty() && timers_.front().time <= watermark) {
            std::pop_heap(timers_.begin(), timers_.end(), std::greater<>{});
            const Timer timer = timers_.back();
            timers_.pop_back();
            Session& s = sessions_[timer.session];
            if (!s.live || s.generation != timer.generation || !s.has_timer || s.timer_at != timer.time)
                continue;
            s.has_timer = false;
            if (!s.closed && max_timestamp_of(s.bounds) <= watermark) {
                due_.push_back(timer.session);
            } else if (s.closed && cleanup_time(s.bounds, spec_.lateness) <= watermark) {
                release(timer.session);
            } else {
                schedule(timer.session,
                         s.closed ? cleanup_time(s.bounds, spec_.lateness) : max_timestamp_of(s.bounds));
            }
        }
        fire_due(watermark);
        compact_keys();
    }

    void finish() override {
        due_.clear();
        for (std::uint32_t id = 0; id < sessions_.size(); ++id)
            if (sessions_[id].live && !sessions_[id].closed) due_.push_back(id);
        fire_due(max_timestamp);
        for (std::uint32_t id = 0; id < sessions_.size(); ++id)
            if (sessions_[id].live) release(id);
        timers_.clear();
        compact_keys();
    }

    void snapshot(agg::ByteWriter& out) const override {
        std::uint64_t keys = 0;
        for (const KeyInfo& info : key_info_)
            keys += info.head != none ? 1 : 0;
        out.varint(keys);
        std::string state;
        for (std::uint32_t k = 0; k < key_info_.size(); ++k) {
            if (key_info_[k].head == none) continue;
            out.bytes(keys_.key(k));
            out.u8(key_info_[k].is_string ? 1 : 0);
            std::uint64_t n = 0;
            for (std::uint32_t id = key_info_[k].head; id != none; id = sessions_[id].next)
                ++n;
            out.varint(n);
            for (std::uint32_t id = key_info_[k].head; id != none; id = sessions_[id].next) {
                const Session& s = sessions_[id];
                out.svarint(s.bounds.start);
                out.svarint(s.bounds.end);
                out.u8((s.closed ? 1 : 0) | (s.emitted ? 2 : 0));
                out.varint(s.emitted_bounds.size());
                for (const Bounds& b : s.emitted_bounds) {
                    out.svarint(b.start);
                    out.svarint(b.end);
                }
                if (aggs_ != nullptr) {
                    state.clear();
                    aggs_->write_state(states_.at(id), state);
                    out.bytes(state);
                }
                if (spec_.collect) out.bytes(s.events);
            }
        }
    }

    void restore(agg::ByteReader& in) override {
        for (std::uint32_t id = 0; id < sessions_.size(); ++id)
            if (sessions_[id].live) release(id);
        timers_.clear();
        compact_keys();
        const std::uint64_t keys = in.count(3);
        for (std::uint64_t i = 0; i < keys; ++i) {
            const std::string_view key = in.bytes();
            const auto [k, inserted] = keys_.insert(key, agg::hash_bytes(key));
            if (inserted) key_info_.push_back({none, false});
            if (key_info_[k].head != none) throw RuntimeError("corrupt window snapshot: a key twice");
            key_info_[k].is_string = in.u8() != 0;
            ++live_keys_;
            const std::uint64_t n = in.count(3);
            std::uint32_t previous = none;
            for (std::uint64_t j = 0; j < n; ++j) {
                const std::uint32_t id = allocate(static_cast<std::uint32_t>(k));
                Session& s = sessions_[id];
                s.bounds.start = in.svarint();
                s.bounds.end = in.svarint();
                const std::uint8_t flags = in.u8();
                s.closed = (flags & 1) != 0;
                s.emitted = (flags & 2) != 0;
                const std::uint64_t emitted = in.count(2);
                for (std::uint64_t e = 0; e < emitted; ++e) {
                    const Timestamp start = in.svarint();
                    s.emitted_bounds.push_back({start, in.svarint()});
                }
                if (aggs_ != nullptr) aggs_->read_state(states_.at(id), in.bytes());
                if (spec_.collect) s.events = in.bytes();
                (previous == none ? key_info_[k].head : sessions_[previous].next) = id;
                previous = id;
                schedule(id, s.closed ? cleanup_time(s.bounds, spec_.lateness) : max_timestamp_of(s.bounds));
            }
        }
    }

    std::uint64_t state_size() const override { return sessions_.size() - free_.size(); }

  private:
    struct Session {
        Bounds bounds;
        std::uint32_t key = 0;
        std::uint32_t next = none; // the key's next session, by start
        std::uint32_t generation = 0;
        bool live = false;
        bool closed = false;  // fired at or after its end; open again if a late record extends it
        bool emitted = false; // a result was written for it (or for a session it absorbed)
        bool has_timer = false;
        Timestamp timer_at = 0;
        std::vector<Bounds> emitted_bounds; // bounds of the results written so far
        std::string events;                 // --collect
    };
    struct KeyInfo {
        std::uint32_t head = none; // first session, by start
        bool is_string = false;
    };
    struct Timer {
        Timestamp time;
        std::uint32_t session;
        std::uint32_t generation;
        bool operator>(const Timer& other) const { return time > other.time; }
    };

    static Timestamp saturating_add(Timestamp t, Duration d) {
        Timestamp r;
        return __builtin_add_overflow(t, d, &r) ? max_timestamp : r;
    }

    std::uint32_t allocate(std::uint32_t key) {
        std::uint32_t id;
        if (!free_.empty()) {
            id = free_.back();
            free_.pop_back();
        } else {
            id = static_cast<std::uint32_t>(sessions_.size());
            sessions_.emplace_back();
            states_.push();
        }
        Session& s = sessions_[id];
        s.key = key;
        s.next = none;
        s.live = true;
        s.closed = false;
        s.emitted = false;
        s.has_timer = false;
        return id;
    }

    /// Unlinks a session, frees its state and makes its id reusable.
    void release(std::uint32_t id) {
        Session& s = sessions_[id];
        KeyInfo& info = key_info_[s.key];
        std::uint32_t* link = &info.head;
        while (*link != id)
            link = &sessions_[*link].next;
        *link = s.next;
        if (info.head == none) --live_keys_;
        free_session(id);
    }

    void free_session(std::uint32_t id) {
        Session& s = sessions_[id];
        s.live = false;
        ++s.generation;
        s.emitted_bounds.clear();
        std::string().swap(s.events);
        states_.reset(id);
        free_.push_back(id);
    }

    /// Merges session `from` (the one after `into` in the key's list) into `into`.
    void absorb(std::uint32_t into, std::uint32_t from) {
        Session& a = sessions_[into];
        Session& b = sessions_[from];
        if (aggs_ != nullptr) aggs_->merge(states_.at(into), states_.at(from));
        if (spec_.collect && !b.events.empty()) collect_record(a.events, b.events);
        a.emitted = a.emitted || b.emitted;
        a.emitted_bounds.insert(a.emitted_bounds.end(), b.emitted_bounds.begin(), b.emitted_bounds.end());
        a.next = b.next;
        free_session(from);
    }

    void schedule(std::uint32_t id, Timestamp time) {
        Session& s = sessions_[id];
        if (s.has_timer && s.timer_at <= time) return; // re-armed when that timer comes due
        s.has_timer = true;
        s.timer_at = time;
        timers_.push_back({time, id, s.generation});
        std::push_heap(timers_.begin(), timers_.end(), std::greater<>{});
    }

    /// Writes the sessions in due_ by end, then key; then keeps them for late records or frees them.
    void fire_due(Timestamp watermark) {
        if (due_.empty()) return;
        batch_.clear();
        for (std::uint32_t id : due_) {
            const Session& s = sessions_[id];
            batch_.push_back({s.bounds.end, order_.prefix(keys_.key(s.key), key_info_[s.key].is_string), id});
        }
        std::sort(batch_.begin(), batch_.end(), [&](const Due& a, const Due& b) {
            if (a.end != b.end) return a.end < b.end;
            if (a.prefix != b.prefix) return a.prefix < b.prefix;
            const Session& sa = sessions_[a.id];
            const Session& sb = sessions_[b.id];
            return order_.compare(keys_.key(sa.key), key_info_[sa.key].is_string, keys_.key(sb.key),
                                  key_info_[sb.key].is_string) < 0;
        });
        for (const Due& due : batch_) {
            emit(due.id, false);
            Session& s = sessions_[due.id];
            s.closed = true;
            const Timestamp cleanup = cleanup_time(s.bounds, spec_.lateness);
            if (cleanup <= watermark)
                release(due.id);
            else
                schedule(due.id, cleanup);
        }
    }

    void emit(std::uint32_t id, bool early) {
        Session& s = sessions_[id];
        replaced_.clear();
        for (const Bounds& b : s.emitted_bounds)
            if (b != s.bounds && std::find(replaced_.begin(), replaced_.end(), b) == replaced_.end())
                replaced_.push_back(b);
        std::sort(replaced_.begin(), replaced_.end(),
                  [](const Bounds& a, const Bounds& b) { return a.start < b.start; });
        Result result;
        result.key = {keys_.key(s.key), 0, key_info_[s.key].is_string};
        result.window = s.bounds;
        result.state = states_.at(id);
        if (spec_.collect) result.events = s.events;
        result.update = s.emitted;
        result.early = early;
        result.replaces = replaced_;
        sink_.result(result);
        s.emitted = true;
        s.emitted_bounds.assign(1, s.bounds);
    }

    /// Keys are never removed from the index one by one; once most have no sessions left the
    /// index is rebuilt with the live ones, so a stream of ever-new keys runs in bounded memory.
    void compact_keys() {
        if (keys_.size() <= 2 * static_cast<std::size_t>(live_keys_) + 4096) return;
        KeyTable keys;
        std::vector<KeyInfo> info;
        for (std::uint32_t k = 0; k < keys_.size(); ++k) {
            if (key_info_[k].head == none) continue;
            const auto found = keys.insert(keys_.key(k), agg::hash_bytes(keys_.key(k)));
            info.push_back(key_info_[k]);
            for (std::uint32_t id = key_info_[k].head; id != none; id = sessions_[id].next)
                sessions_[id].key = found.index;
        }
        keys_ = std::move(keys);
        key_info_ = std::move(info);
    }

    struct Due {
        Timestamp end;
        std::uint64_t prefix;
        std::uint32_t id;
    };

    const WindowSpec& spec_;
    agg::AggregateSet* aggs_;
    ResultSink& sink_;
    KeyOrder order_;
    KeyTable keys_;
    std::vector<KeyInfo> key_info_; // at each key's index
    std::uint32_t live_keys_ = 0;   // keys with at least one session
    std::vector<Session> sessions_;
    StateArena states_; // at each session's id
    std::vector<std::uint32_t> free_;
    std::vector<Timer> timers_; // min-heap
    std::vector<std::uint32_t> due_;
    std::vector<Due> batch_;
    std::vector<Bounds> replaced_;
};

} // namespace

std::unique_ptr<Engine> make_session_windows(const EngineContext& context) {
    return std::make_unique<SessionWindows>(context);
}

} // namespace cep::window
