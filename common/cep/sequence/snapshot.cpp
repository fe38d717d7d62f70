// Snapshot and restore of the matching state (Operator::snapshot for cep-sequence).
//
// Ids stay as they were: events, shared-buffer nodes and key states are written slot by slot,
// free ones as a mark, with their free lists in order. A restored engine therefore hands out
// the same ids next and fires simultaneous timers in the same (time, key, rule) order as the
// engine that wrote the snapshot, so a run split by a snapshot writes the bytes of a single run.

#include "cep/errors.hpp"
#include "cep/sequence/engine.hpp"

#include <algorithm>

namespace cep::sequence {
namespace {

void write_value(agg::ByteWriter& out, const Value& v) {
    out.u8(static_cast<std::uint8_t>(v.kind));
    switch (v.kind) {
    case Kind::boolean:
        out.u8(v.boolean ? 1 : 0);
        break;
    case Kind::integer:
        out.svarint(v.integer);
        break;
    case Kind::floating:
        out.f64(v.floating);
        break;
    case Kind::string:
    case Kind::object:
    case Kind::array:
        out.varint(v.text.size()); // the text itself is in the event's `texts`
        break;
    default:
        break;
    }
}

/// Reads a value; a string, object or array gets its text length in `text_size` (the text is in
/// the event's `texts`, where the caller points the view).
Value read_value(agg::ByteReader& in, std::size_t& text_size) {
    const std::uint8_t kind = in.u8();
    if (kind > static_cast<std::uint8_t>(Kind::array))
        throw RuntimeError("corrupt sequence snapshot: value kind");
    Value v = Value::with_kind(static_cast<Kind>(kind));
    text_size = 0;
    switch (v.kind) {
    case Kind::boolean:
        v.boolean = in.u8() != 0;
        break;
    case Kind::integer:
        v.integer = in.svarint();
        break;
    case Kind::floating:
        v.floating = in.f64();
        break;
    case Kind::string:
    case Kind::object:
    case Kind::array:
        text_size = static_cast<std::size_t>(in.varint());
        break;
    default:
        break;
    }
    return v;
}

std::uint32_t read_index(agg::ByteReader& in, std::size_t limit, const char* what) {
    const std::uint64_t v = in.varint();
    if (v != none && v >= limit) throw RuntimeError(std::string("corrupt sequence snapshot: ") + what);
    return static_cast<std::uint32_t>(v);
}

void write_runs(agg::ByteWriter& out, const std::vector<Run>& runs) {
    out.varint(runs.size());
    for (const Run& r : runs) {
        out.varint(r.node);
        out.svarint(r.start_time);
        out.varint(r.start_seq);
        out.varint(r.state);
    }
}

std::vector<Run> read_runs(agg::ByteReader& in, std::size_t nodes) {
    std::vector<Run> runs(in.count(4));
    for (Run& r : runs) {
        r.node = read_index(in, nodes, "run node");
        r.start_time = in.svarint();
        r.start_seq = in.varint();
        r.state = static_cast<StateId>(in.varint());
    }
    return runs;
}

} // namespace

void EventStore::snapshot(agg::ByteWriter& out) const {
    out.varint(events_.size());
    for (const Event& e : events_) {
        out.u8(e.free ? 1 : 0);
        if (e.free) continue;
        out.svarint(e.time);
        out.varint(e.seq);
        out.varint(e.refs);
        out.u8(e.has_raw ? 1 : 0);
        if (e.has_raw) out.bytes(e.raw);
        out.bytes(e.texts);
        out.varint(e.captured.size());
        for (std::size_t i = 0; i < e.captured.size(); ++i) {
            write_value(out, e.captured[i]);
            out.varint(e.offsets[i]);
        }
    }
    out.varint(free_.size());
    for (std::uint32_t id : free_)
        out.varint(id);
}

void EventStore::restore(agg::ByteReader& in, const std::vector<std::uint32_t>& capture_from) {
    events_.assign(in.count(1), Event{});
    for (Event& e : events_) {
        e.free = in.u8() != 0;
        if (e.free) continue;
        e.time = in.svarint();
        e.seq = in.varint();
        e.refs = static_cast<std::uint32_t>(in.varint());
        e.has_raw = in.u8() != 0;
        if (e.has_raw) e.raw.assign(in.bytes());
        e.texts.assign(in.bytes());
        const std::size_t n = in.count(2);
        e.captured.resize(n);
        e.offsets.resize(n);
        for (std::size_t i = 0; i < n; ++i) {
            std::size_t size = 0;
            e.captured[i] = read_value(in, size);
            const std::uint64_t offset = in.varint();
            if (offset > e.texts.size() || size > e.texts.size() - offset)
                throw RuntimeError("corrupt sequence snapshot: captured text out of range");
            e.offsets[i] = static_cast<std::uint32_t>(offset);
            e.captured[i].text = std::string_view(e.texts.data() + offset, size);
        }
    }
    remap_captures(capture_from);
    free_.resize(in.count(1));
    for (std::uint32_t& id : free_) {
        id = read_index(in, events_.size(), "free event");
        if (!events_[id].free) throw RuntimeError("corrupt sequence snapshot: a live event on the free list");
    }
}

void EventStore::remap_captures(const std::vector<std::uint32_t>& capture_from) {
    bool identity = true;
    for (std::uint32_t j = 0; j < capture_from.size(); ++j)
        identity = identity && capture_from[j] == j;
    if (identity) return;
    std::vector<Value> captured;
    std::vector<std::uint32_t> offsets;
    for (Event& e : events_) {
        if (e.free) continue;
        captured.assign(capture_from.size(), Value{});
        offsets.assign(capture_from.size(), 0);
        for (std::size_t j = 0; j < capture_from.size(); ++j) {
            const std::uint32_t from = capture_from[j];
            if (from == none || from >= e.captured.size()) continue; // not captured then: missing
            captured[j] = e.captured[from];
            offsets[j] = e.offsets[from];
        }
        e.captured.swap(captured);
        e.offsets.swap(offsets);
    }
}

void Engine::snapshot(agg::ByteWriter& out) const {
    // Shared counting: whether it is on, its conditions by text and the key groups by paths
    // (so a restore under other rules can find them), and where each rule starts counting.
    out.u8(shared_on_ && !explain_ ? 1 : 0);
    out.varint(shared_conds_.size());
    for (const SharedCondition& c : shared_conds_)
        out.bytes(program_->conditions.text(c.id));
    out.varint(program_->key_groups.size());
    for (const KeyGroup& g : program_->key_groups)
        out.bytes(g.paths);
    out.varint(shared_since_.size());
    for (const std::uint64_t since : shared_since_)
        out.varint(since);
    out.svarint(now_);
    out.varint(seq_);
    out.varint(expired_keys_);
    out.svarint(next_sweep_);
    out.varint(dropped_partials_.size());
    for (const auto& [rule, n] : dropped_partials_) {
        out.bytes(rule);
        out.varint(n);
    }
    events_.snapshot(out);
    out.varint(nodes_.size());
    for (const Node& n : nodes_) {
        out.varint(n.event);
        out.varint(n.prev);
        out.varint(n.refs);
        out.varint(n.stage);
    }
    out.varint(free_nodes_.size());
    for (std::uint32_t id : free_nodes_)
        out.varint(id);
    out.varint(key_states_.size());
    for (const KeyState& ks : key_states_) {
        out.u8(ks.live ? 1 : 0);
        out.varint(ks.generation);
        if (!ks.live) continue;
        out.bytes(ks.key);
        out.bytes(ks.key_json);
        out.u64(ks.hash);
        out.svarint(ks.last_time);
        out.varint(ks.group);
        out.svarint(ks.sweep_at);
        out.svarint(ks.timer_at);
        out.varint(ks.logs.size());
        for (const ConditionLog& log : ks.logs) {
            out.varint(log.cond);
            out.varint(log.size());
            for (std::size_t i = log.head; i < log.entries.size(); ++i) {
                out.svarint(log.entries[i].time);
                out.varint(log.entries[i].seq);
                out.varint(log.entries[i].event);
            }
        }
        out.varint(ks.done.size());
        for (const std::uint64_t bits : ks.done)
            out.u64(bits);
        out.varint(ks.rules.size());
        for (const RuleState& state : ks.rules) {
            out.varint(state.rule);
            out.u8(state.done ? 1 : 0);
            out.varint(state.matches);
            out.varint(state.seen);
            out.svarint(state.timer);
            out.varint(state.counted_up_to);
            write_runs(out, state.runs);
            write_runs(out, state.completed);
            out.varint(state.items.size());
            for (const Item& item : state.items) {
                out.varint(item.event);
                out.varint(item.part);
                out.svarint(item.time);
                out.varint(item.seq);
                out.varint(item.index);
            }
        }
    }
    out.varint(free_keys_.size());
    for (std::uint32_t id : free_keys_)
        out.varint(id);
    // The timer heap as it is: a timer may be due before its state's deadline (it was set
    // earlier and fires as a no-op), and at the end of input timers fire in heap order.
    out.varint(timers_.size());
    for (const Timer& t : timers_) {
        out.svarint(t.at);
        out.varint(t.key);
        out.varint(t.generation);
        out.varint(t.rule);
    }
}

void Engine::restore(agg::ByteReader& in, const std::vector<std::uint32_t>& old_to_new,
                     const std::vector<std::uint32_t>& capture_from) {
    const bool shared = in.u8() != 0;
    if (shared != (shared_on_ && !explain_))
        throw RuntimeError(shared
                               ? "the sequence snapshot counts through shared logs (taken without --timeouts "
                                 "and --explain): restore it without them"
                               : "the sequence snapshot counts per rule (taken with --timeouts or "
                                 "--explain): restore it with them");
    std::vector<std::string> old_texts(in.count(1));
    for (std::string& text : old_texts)
        text.assign(in.bytes());
    std::vector<std::string> old_group_paths(in.count(1));
    for (std::string& paths : old_group_paths)
        paths.assign(in.bytes());
    std::vector<std::uint64_t> old_since(in.count(1));
    for (std::uint64_t& since : old_since)
        since = in.varint();
    if (old_since.size() != old_to_new.size()) throw RuntimeError("corrupt sequence snapshot: rule count");
    now_ = in.svarint();
    seq_ = in.varint();
    // A rule the snapshot did not have (or had otherwise) starts counting now.
    shared_since_.assign(program_->rules.size(), seq_);
    for (std::size_t r = 0; r < old_to_new.size(); ++r)
        if (old_to_new[r] != none && old_to_new[r] < shared_since_.size())
            shared_since_[old_to_new[r]] = old_since[r];
    expired_keys_ = in.varint();
    next_sweep_ = in.svarint();
    dropped_partials_.clear();
    for (std::uint64_t n = in.count(2); n > 0; --n) {
        std::string rule(in.bytes());
        dropped_partials_[rule] = in.varint();
    }
    events_.restore(in, capture_from);
    const std::size_t event_count = events_.size();

    nodes_.assign(in.count(4), Node{});
    for (Node& n : nodes_) {
        n.event = read_index(in, event_count, "node event");
        n.prev = read_index(in, nodes_.size(), "node link");
        n.refs = static_cast<std::uint32_t>(in.varint());
        n.stage = static_cast<std::uint16_t>(in.varint());
    }
    free_nodes_.resize(in.count(1));
    for (std::uint32_t& id : free_nodes_)
        id = read_index(in, nodes_.size(), "free node");

    const std::size_t rule_count = program_->rules.size();
    reset_tables();
    key_states_.assign(in.count(2), KeyState{});
    std::vector<std::uint32_t> emptied; // keys whose every rule was dropped
    live_keys_ = 0;
    for (std::uint32_t index = 0; index < key_states_.size(); ++index) {
        KeyState& ks = key_states_[index];
        ks.live = in.u8() != 0;
        ks.generation = static_cast<std::uint32_t>(in.varint());
        if (!ks.live) continue;
        ks.key.assign(in.bytes());
        ks.key_json.assign(in.bytes());
        ks.hash = in.u64();
        ks.last_time = in.svarint();
        ks.group = read_index(in, old_group_paths.size(), "key group"); // the snapshot's, until remapped
        ks.sweep_at = in.svarint();
        ks.timer_at = in.svarint();
        ks.logs.resize(in.count(2));
        for (ConditionLog& log : ks.logs) {
            log.cond = read_index(in, old_texts.size(), "log condition");
            log.entries.resize(in.count(3));
            for (LogEntry& e : log.entries) {
                e.time = in.svarint();
                e.seq = in.varint();
                const std::uint64_t event = in.varint();
                if (event != none && event >= event_count)
                    throw RuntimeError("corrupt sequence snapshot: log event");
                e.event = static_cast<std::uint32_t>(event);
            }
        }
        std::vector<std::uint64_t> done(in.count(8));
        for (std::uint64_t& bits : done)
            bits = in.u64();
        for (std::uint32_t r = 0; r < done.size() * 64; ++r) {
            if ((done[r / 64] >> (r % 64) & 1) == 0) continue;
            if (r >= old_to_new.size()) throw RuntimeError("corrupt sequence snapshot: done rule");
            if (old_to_new[r] != none) mark_done(ks, old_to_new[r]);
        }
        std::vector<RuleState> states(in.count(6));
        for (RuleState& state : states) {
            const std::uint64_t rule = in.varint();
            if (rule >= old_to_new.size()) throw RuntimeError("corrupt sequence snapshot: rule index");
            state.rule = static_cast<std::uint32_t>(rule);
            state.done = in.u8() != 0;
            state.matches = in.varint();
            state.seen = in.varint();
            state.timer = in.svarint();
            state.counted_up_to = in.varint();
            state.runs = read_runs(in, nodes_.size());
            state.completed = read_runs(in, nodes_.size());
            state.items.resize(in.count(5));
            for (Item& item : state.items) {
                item.event = read_index(in, event_count, "item event");
                item.part = static_cast<std::uint32_t>(in.varint());
                item.time = in.svarint();
                item.seq = in.varint();
                item.index = in.varint();
            }
        }
        // Rules the current program no longer has (or changed) give back what they held.
        for (RuleState& state : states) {
            const std::uint32_t rule = old_to_new[state.rule];
            if (rule == none) {
                finish_state(state);
                state.rule = none;
                continue;
            }
            if (rule >= rule_count) throw RuntimeError("corrupt sequence snapshot: rule mapping");
            state.rule = rule;
        }
        std::erase_if(states, [](const RuleState& s) { return s.rule == none; });
        std::sort(states.begin(), states.end(),
                  [](const RuleState& a, const RuleState& b) { return a.rule < b.rule; });
        ks.rules = std::move(states);
    }
    remap_logs(old_texts, old_group_paths); // moves a key with logs to its group under these rules
    for (std::uint32_t index = 0; index < key_states_.size(); ++index) {
        KeyState& ks = key_states_[index];
        if (!ks.live) continue;
        if (ks.rules.empty() && ks.logs.empty() && ks.done.empty()) {
            ks.live = false;
            ++ks.generation;
            emptied.push_back(index);
            continue;
        }
        if (ks.rules.empty() && ks.logs.empty()) { // only done marks: the group of one of them
            std::uint32_t r = 0;
            while (!is_done(ks, r))
                ++r;
            ks.group = program_->rules[r].key_group;
        }
        if (!ks.rules.empty()) {
            if (!ks.logs.empty() && ks.group != program_->rules[ks.rules.front().rule].key_group)
                throw RuntimeError(
                    "corrupt sequence snapshot: a key's logs and rules have different key paths");
            ks.group = program_->rules[ks.rules.front().rule].key_group;
        }
        if (std::any_of(ks.rules.begin(), ks.rules.end(),
                        [&](const RuleState& s) { return program_->rules[s.rule].key_group != ks.group; }))
            throw RuntimeError("corrupt sequence snapshot: a key's rules have different key paths");
        index_key(index);
        ++live_keys_;
    }
    free_keys_.resize(in.count(1));
    for (std::uint32_t& id : free_keys_) {
        id = read_index(in, key_states_.size(), "free key");
        if (key_states_[id].live)
            throw RuntimeError("corrupt sequence snapshot: a live key on the free list");
    }
    free_keys_.insert(free_keys_.end(), emptied.begin(), emptied.end());

    timers_.resize(in.count(4));
    for (Timer& t : timers_) {
        t.at = in.svarint();
        t.key = read_index(in, key_states_.size(), "timer key");
        t.generation = static_cast<std::uint32_t>(in.varint());
        const std::uint64_t rule = in.varint();
        if (rule != sweep_timer && rule != key_timer) throw RuntimeError("corrupt sequence snapshot: timer");
        t.rule = static_cast<std::uint32_t>(rule); // a key's states whose rules are gone just do not fire
    }
    std::make_heap(timers_.begin(), timers_.end(), timer_later);
}

} // namespace cep::sequence
