#include "cep/sequence/engine.hpp"

#include "cep/json_writer.hpp"
#include "cep/sequence/loader.hpp"

#include <algorithm>
#include <cstring>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace cep::sequence {

// ---- EventStore ----

std::uint32_t EventStore::add(const Record& record, Timestamp time, std::uint64_t seq,
                              const std::vector<Slot>& captures, bool raw) {
    std::uint32_t id;
    if (!free_.empty()) {
        id = free_.back();
        free_.pop_back();
    } else {
        id = static_cast<std::uint32_t>(events_.size());
        events_.emplace_back();
    }
    Event& e = events_[id];
    e.time = time;
    e.seq = seq;
    e.refs = 0;
    e.free = false;
    e.has_raw = raw;
    if (raw)
        e.raw.assign(record.raw);
    else
        e.raw.clear();
    // Captured values borrow the record's bytes: copy their text.
    e.texts.clear();
    e.captured.resize(captures.size());
    e.offsets.resize(captures.size());
    for (std::size_t i = 0; i < captures.size(); ++i) {
        const Value& v = record[captures[i]];
        e.captured[i] = v;
        e.offsets[i] = static_cast<std::uint32_t>(e.texts.size());
        e.texts.append(v.text);
    }
    return id;
}

std::size_t EventStore::memory() const {
    std::size_t bytes = events_.capacity() * sizeof(Event) + free_.capacity() * sizeof(std::uint32_t);
    for (const Event& e : events_)
        bytes += e.raw.capacity() + e.texts.capacity() + e.captured.capacity() * sizeof(Value);
    return bytes;
}

// ---- key table ----

/// Open addressing with linear probing from the key's 64-bit hash to its KeyState; erasing
/// shifts later entries back, so there are no tombstones.
class Engine::Table {
  public:
    std::uint32_t find(std::string_view key, std::uint64_t hash, const std::vector<KeyState>& states) const {
        if (slots_.empty()) return none;
        for (std::size_t i = hash & mask_;; i = (i + 1) & mask_) {
            const Slot& s = slots_[i];
            if (s.index == none) return none;
            if (s.hash == hash && states[s.index].key == key) return s.index;
        }
    }
    void insert(std::uint64_t hash, std::uint32_t index) {
        if ((size_ + 1) * 2 > slots_.size()) grow();
        place(hash, index);
        ++size_;
    }
    void erase(std::uint64_t hash, std::uint32_t index) {
        std::size_t i = hash & mask_;
        while (slots_[i].index != index)
            i = (i + 1) & mask_;
        // Backward-shift deletion: move up entries whose probe sequence passes the hole.
        for (std::size_t j = (i + 1) & mask_;; j = (j + 1) & mask_) {
            if (slots_[j].index == none) break;
            const std::size_t home = slots_[j].hash & mask_;
            const bool between = i <= j ? (home > i && home <= j) : (home > i || home <= j);
            if (between) continue;
            slots_[i] = slots_[j];
            i = j;
        }
        slots_[i] = {0, none};
        --size_;
    }
    bool empty() const { return size_ == 0; }
    std::size_t memory() const { return slots_.capacity() * sizeof(Slot); }

  private:
    struct Slot {
        std::uint64_t hash = 0;
        std::uint32_t index = none;
    };
    void place(std::uint64_t hash, std::uint32_t index) {
        std::size_t i = hash & mask_;
        while (slots_[i].index != none)
            i = (i + 1) & mask_;
        slots_[i] = {hash, index};
    }
    void grow() {
        std::vector<Slot> old = std::move(slots_);
        slots_.assign(old.empty() ? 16 : old.size() * 2, Slot{});
        mask_ = slots_.size() - 1;
        for (const Slot& s : old)
            if (s.index != none) place(s.hash, s.index);
    }
    std::vector<Slot> slots_;
    std::size_t mask_ = 0;
    std::size_t size_ = 0;
};

// ---- Engine ----

Engine::Engine(Program& program, const TimeExtractor& times) : program_(&program), times_(times) {
    reset_tables();
    plan_shared_counting();
}

void Engine::reset_tables() {
    tables_.clear();
    for (std::size_t i = 0; i < program_->key_groups.size(); ++i)
        tables_.push_back(std::make_unique<Table>());
}

void Engine::index_key(std::uint32_t index) {
    const KeyState& ks = key_states_[index];
    tables_[ks.group]->insert(ks.hash, index);
}

Engine::~Engine() = default;

bool Engine::applies(const CompiledRule& rule, Timestamp time, int topic) const {
    if (topic_filter_ && rule.topic >= 0 && rule.topic != topic) return false;
    if (rule.spec.active_from && time < *rule.spec.active_from) return false;
    if (rule.spec.active_until && time >= *rule.spec.active_until) return false;
    return true;
}

int Engine::topic_of(const Record& record) {
    if (!topic_filter_) return -1;
    if (record.origin.source != last_source_) {
        last_source_.assign(record.origin.source);
        last_topic_ = program_->topic_id(name_stem(last_source_));
    }
    return last_topic_;
}

std::uint32_t Engine::current_event(bool raw) {
    if (current_.stored == none) {
        current_.stored =
            events_.add(*current_.record, current_.time, current_.seq, program_->captures.slots(), raw);
        // Pinned while the record is processed: a rule that counts it and lets it go at once
        // (a match, a full part) must not free it under the rules that take it next.
        events_.retain(current_.stored);
    } else if (raw) {
        events_.add_raw(current_.stored, current_.record->raw);
    }
    return current_.stored;
}

bool Engine::any_holds(const std::vector<std::uint32_t>& conditions, const Record& record) {
    for (const std::uint32_t id : conditions)
        if (program_->conditions.test(id, record)) return true;
    return false;
}

bool Engine::is_empty(const RuleState& state) const {
    return state.runs.empty() && state.completed.empty() && state.items.empty() && !state.done &&
           state.counted_up_to == 0 && state.matches % program_->rules[state.rule].spec.fire.every == 0;
}

bool Engine::key_unused(const KeyState& key) const {
    return key.logs.empty() && key.done.empty() &&
           std::all_of(key.rules.begin(), key.rules.end(),
                       [this](const RuleState& s) { return is_empty(s); });
}

RuleState* Engine::find_rule(KeyState& key, std::uint32_t rule) {
    auto it = std::lower_bound(key.rules.begin(), key.rules.end(), rule,
                               [](const RuleState& s, std::uint32_t r) { return s.rule < r; });
    return it != key.rules.end() && it->rule == rule ? &*it : nullptr;
}

std::uint32_t Engine::find_or_add_key(std::uint32_t group, std::string_view key, const Record& record,
                                      bool create) {
    const std::uint64_t hash = XXH3_64bits(key.data(), key.size());
    Table& table = *tables_[group];
    std::uint32_t index = table.find(key, hash, key_states_);
    if (index != none || !create) return index;
    if (!free_keys_.empty()) {
        index = free_keys_.back();
        free_keys_.pop_back();
    } else {
        index = static_cast<std::uint32_t>(key_states_.size());
        key_states_.emplace_back();
    }
    KeyState& ks = key_states_[index];
    ks.key.assign(key);
    ks.hash = hash;
    ks.group = group;
    ks.live = true;
    ks.rules.clear();
    ks.done.clear();
    ks.timer_at = ks.sweep_at = max_timestamp; // a reused slot's timers are void (generation)
    ks.key_json.clear();
    const KeyGroup& g = program_->key_groups[group];
    if (!g.extractor)
        ks.key_json = "null";
    else if (g.slots.size() == 1)
        append_key_element(ks.key_json, record[g.slots[0]]); // as in the record
    else
        ks.key_json.assign(key); // a composite key is already a JSON array
    table.insert(hash, index);
    ++live_keys_;
    return index;
}

void Engine::erase_key(std::uint32_t index) {
    KeyState& ks = key_states_[index];
    tables_[ks.group]->erase(ks.hash, index);
    ks.live = false;
    ++ks.generation;
    ks.rules.clear();
    ks.done.clear();
    ks.timer_at = max_timestamp; // its timers are void (generation)
    release_logs(ks);
    free_keys_.push_back(index);
    --live_keys_;
}

std::uint32_t Engine::new_node(std::uint32_t event, std::uint32_t prev, std::uint16_t stage) {
    std::uint32_t id;
    if (!free_nodes_.empty()) {
        id = free_nodes_.back();
        free_nodes_.pop_back();
    } else {
        id = static_cast<std::uint32_t>(nodes_.size());
        nodes_.emplace_back();
    }
    nodes_[id] = {event, prev, 1, stage};
    events_.retain(event);
    retain_node(prev);
    return id;
}

void Engine::release_node(std::uint32_t node) {
    while (node != none) {
        Node& n = nodes_[node];
        if (--n.refs != 0) return;
        events_.release(n.event);
        free_nodes_.push_back(node);
        node = n.prev;
    }
}

void Engine::release_items(RuleState& state) {
    for (const Item& item : state.items)
        events_.release(item.event);
    state.items.clear();
}

// ---- conditions ----

bool Engine::stage_holds(const CompiledRule& rule, std::uint16_t stage, const Run& run) {
    const StageCondition& sc = rule.stage_conds[stage];
    const Record& record = *current_.record;
    if (!sc.bound) return program_->conditions.test(sc.id, record);
    const BoundCondition& bc = program_->bound[sc.id];
    bound_values_.resize(bc.inputs.size());
    for (std::size_t i = 0; i < bc.inputs.size(); ++i) {
        const auto& input = bc.inputs[i];
        if (!input.from_stage) {
            bound_values_[i] = record[input.slot];
            continue;
        }
        // The last event the referenced stage took in this partial match.
        Value value;
        for (std::uint32_t n = run.node; n != none; n = nodes_[n].prev) {
            if (nodes_[n].stage == input.ref.stage) {
                value = events_.capture(nodes_[n].event, input.ref.capture);
                break;
            }
        }
        bound_values_[i] = value;
    }
    const Record bound{record.raw, bound_values_, record.origin};
    return bc.expression.test(bound);
}

bool Engine::eval(const CompiledRule& rule, CondId cond, const Run& run) {
    const CondNode& n = rule.nfa.conds[cond];
    switch (n.op) {
    case CondNode::Op::always:
        return true;
    case CondNode::Op::stage:
        return stage_holds(rule, n.a, run);
    case CondNode::Op::negate:
        return !eval(rule, n.a, run);
    case CondNode::Op::all:
        return eval(rule, n.a, run) && eval(rule, n.b, run);
    case CondNode::Op::any:
        return eval(rule, n.a, run) || eval(rule, n.b, run);
    }
    return false;
}

bool Engine::final_after_proceed(const CompiledRule& rule, StateId state, const Run& run) {
    // Iterative: the caller's stack_ is in use.
    // Only states reached through PROCEED count: `state` itself being Final was handled by
    // the caller.
    std::vector<StateId> stack{state};
    while (!stack.empty()) {
        const StateId s = stack.back();
        stack.pop_back();
        for (const Edge& e : rule.nfa.states[s].edges) {
            if (e.action != Action::proceed || !eval(rule, e.cond, run)) continue;
            if (rule.nfa.states[e.target].type == StateType::final) return true;
            stack.push_back(e.target);
        }
    }
    return false;
}

// ---- sequence rules ----

void Engine::process_run(const CompiledRule& rule, const Run& run, bool is_start) {
    // The decision graph: TAKE and IGNORE edges reachable through PROCEED edges that hold.
    edges_.clear();
    stack_.clear();
    stack_.push_back(run.state);
    while (!stack_.empty()) {
        const StateId s = stack_.back();
        stack_.pop_back();
        for (const Edge& e : rule.nfa.states[s].edges) {
            if (!eval(rule, e.cond, run)) continue;
            if (e.action == Action::proceed)
                stack_.push_back(e.target);
            else
                edges_.emplace_back(s, e);
        }
    }
    produced_.clear();
    for (const auto& [source, edge] : edges_) {
        if (edge.action == Action::ignore) {
            // The start state is never kept alive by ignoring: a fresh one exists for every event.
            if (is_start) continue;
            retain_node(run.node);
            produced_.push_back({run.node, run.start_time, run.start_seq, edge.target});
            continue;
        }
        const std::uint32_t event = current_event(rule);
        const std::uint32_t node = new_node(event, run.node, rule.nfa.states[source].stage);
        if (tracing_ && rule.nfa.states[source].type != StateType::stop)
            took_.push_back(rule.nfa.states[source].stage);
        const Timestamp start_time = is_start ? current_.time : run.start_time;
        const std::uint64_t start_seq = is_start ? current_.seq : run.start_seq;
        produced_.push_back({node, start_time, start_seq, edge.target});
        // A state that may proceed to Final right away completes a match with this event.
        if (final_after_proceed(rule, edge.target, run)) {
            retain_node(node);
            produced_.push_back({node, start_time, start_seq, static_cast<StateId>(0)}); // state 0 is Final
        }
    }
    bool discard = false;
    const std::size_t kept_from = new_runs_.size();
    for (const Run& r : produced_) {
        const StateType type = rule.nfa.states[r.state].type;
        if (type == StateType::final) {
            potential_.push_back(r);
        } else if (type == StateType::stop) {
            discard = true;
            if (tracing_) stop_stage_ = rule.nfa.states[r.state].stage;
            release_run(r);
        } else {
            new_runs_.push_back(r);
        }
    }
    if (discard) {
        if (tracing_) ++stopped_;
        // A negated stage's event arrived: this partial match and all it branched into end.
        for (std::size_t i = kept_from; i < new_runs_.size(); ++i)
            release_run(new_runs_[i]);
        new_runs_.resize(kept_from);
    }
}

void Engine::step_sequence(KeyState& key, RuleState& state, const CompiledRule& rule, bool triggered,
                           const Outputs& out) {
    new_runs_.clear();
    potential_.clear();
    for (const Run& run : state.runs) {
        process_run(rule, run, false);
        release_run(run);
    }
    if (triggered) process_run(rule, Run{none, 0, 0, rule.nfa.start}, true);
    state.runs.swap(new_runs_);
    resolve_matches(key, state, rule, out);
    if (max_partials_ > 0 && state.runs.size() > max_partials_) {
        // Over the cap: the oldest partial matches go, the newest have the most time left.
        std::stable_sort(state.runs.begin(), state.runs.end(),
                         [](const Run& a, const Run& b) { return a.start_seq < b.start_seq; });
        const std::size_t drop = state.runs.size() - max_partials_;
        for (std::size_t i = 0; i < drop; ++i)
            release_run(state.runs[i]);
        state.runs.erase(state.runs.begin(), state.runs.begin() + static_cast<std::ptrdiff_t>(drop));
        dropped_partials_[rule.spec.id] += drop;
        if (tracing_)
            trace_notes_.push_back(std::to_string(drop) +
                                   " oldest partial match(es) dropped by --max-partials");
    }
}

void Engine::prune(std::vector<Run>& runs, std::uint64_t pruning_seq, bool inclusive) {
    std::size_t kept = 0;
    for (std::size_t i = 0; i < runs.size(); ++i) {
        const bool drop = inclusive ? runs[i].start_seq <= pruning_seq : runs[i].start_seq < pruning_seq;
        if (drop)
            release_run(runs[i]);
        else
            runs[kept++] = runs[i];
    }
    runs.resize(kept);
}

void Engine::resolve_matches(KeyState& key, RuleState& state, const CompiledRule& rule, const Outputs& out) {
    // Matches in order of their first event (Flink orders them the same way).
    std::stable_sort(potential_.begin(), potential_.end(),
                     [](const Run& a, const Run& b) { return a.start_seq < b.start_seq; });
    if (rule.spec.skip.kind == SkipKind::no_skip) {
        for (const Run& match : potential_) {
            if (!state.done) emit_sequence_match(key, state, rule, match, out);
            release_run(match);
        }
        potential_.clear();
        return;
    }
    // With a skip strategy a match waits until no partial match that began earlier is still
    // open, since that one may complete first and prune it.
    for (const Run& match : potential_) {
        auto at = std::upper_bound(state.completed.begin(), state.completed.end(), match.start_seq,
                                   [](std::uint64_t seq, const Run& r) { return seq < r.start_seq; });
        state.completed.insert(at, match);
    }
    potential_.clear();
    while (!state.completed.empty() && !state.done) {
        std::uint64_t earliest_partial = std::numeric_limits<std::uint64_t>::max();
        for (const Run& r : state.runs)
            earliest_partial = std::min(earliest_partial, r.start_seq);
        const Run match = state.completed.front();
        if (match.start_seq > earliest_partial) break;
        state.completed.erase(state.completed.begin());
        // The pruning event, found on the match's steps (newest first).
        std::uint64_t pruning = 0;
        bool found = false, inclusive = true;
        switch (rule.spec.skip.kind) {
        case SkipKind::skip_to_next:
            pruning = match.start_seq;
            found = true;
            break;
        case SkipKind::skip_past_last:
            pruning = events_[nodes_[match.node].event].seq;
            found = true;
            break;
        case SkipKind::skip_to_first:
        case SkipKind::skip_to_last:
            inclusive = false;
            for (std::uint32_t n = match.node; n != none; n = nodes_[n].prev) {
                if (nodes_[n].stage != rule.skip_stage) continue;
                pruning = events_[nodes_[n].event].seq;
                found = true;
                if (rule.spec.skip.kind == SkipKind::skip_to_last) break; // newest one
            }
            break;
        case SkipKind::no_skip:
            break;
        }
        if (found) {
            prune(state.runs, pruning, inclusive);
            prune(state.completed, pruning, inclusive);
        }
        emit_sequence_match(key, state, rule, match, out);
        release_run(match);
    }
}

bool Engine::fire(RuleState& state, const CompiledRule& rule) {
    ++state.matches;
    bool write = true;
    if (rule.spec.fire.once)
        state.done = true;
    else
        write = state.matches % rule.spec.fire.every == 0;
    if (tracing_ && !write)
        trace_notes_.push_back("match " + std::to_string(state.matches) + " not written (fire: every " +
                               std::to_string(rule.spec.fire.every) + ")");
    if (tracing_ && state.done) trace_notes_.push_back("fire: once, so the rule is done for this key");
    return write;
}

void Engine::finish_state(RuleState& state) {
    for (const Run& r : state.runs)
        release_run(r);
    for (const Run& r : state.completed)
        release_run(r);
    state.runs.clear();
    state.completed.clear();
    release_items(state);
    if (state.done) {
        // A rule done for this key (fire: once) keeps only its mark, for as long as the key
        // lives: give back what its matching used.
        std::vector<Run>().swap(state.runs);
        std::vector<Run>().swap(state.completed);
        std::vector<Item>().swap(state.items);
    }
}

void Engine::collect_run(std::uint32_t node) {
    match_events_.clear();
    for (std::uint32_t n = node; n != none; n = nodes_[n].prev)
        match_events_.emplace_back(nodes_[n].stage, nodes_[n].event);
    std::reverse(match_events_.begin(), match_events_.end());
}

void Engine::collect_items(const std::vector<Item>& items, std::size_t from) {
    match_events_.clear();
    for (std::size_t i = from; i < items.size(); ++i)
        match_events_.emplace_back(static_cast<std::uint16_t>(items[i].part), items[i].event);
}

void Engine::emit_sequence_match(KeyState& key, RuleState& state, const CompiledRule& rule, const Run& match,
                                 const Outputs& out) {
    const bool write = fire(state, rule);
    if (write) {
        collect_run(match.node);
        write_record(key, rule, match.start_time, events_[nodes_[match.node].event].time, std::nullopt, out,
                     false);
    }
    if (state.done) finish_state(state);
}

// ---- count and all-of rules ----

void Engine::step_counting(KeyState& key, RuleState& state, const CompiledRule& rule, const Outputs& out) {
    ++state.seen;
    if (rule.within_events > 0) {
        // Count window: the counted events must lie within the last `within_events` events.
        while (!state.items.empty() && state.seen - state.items.front().index >= rule.within_events) {
            if (out.timeouts || tracing_) {
                collect_items(state.items, 0);
                write_record(key, rule, state.items.front().time, state.items.back().time, current_.time, out,
                             true);
            }
            events_.release(state.items.front().event);
            state.items.erase(state.items.begin());
        }
    }
    const Record& record = *current_.record;
    for (std::uint32_t p = 0; p < rule.parts.size(); ++p) {
        const CompiledPart& part = rule.parts[p];
        if (topic_filter_ && part.topic >= 0 && part.topic != current_.topic) continue;
        if (!program_->conditions.test(part.cond.id, record)) continue;
        const std::uint32_t event = current_event(rule);
        events_.retain(event);
        state.items.push_back({event, p, current_.time, current_.seq, state.seen});
        // Keep the newest `count` events of a part: the older ones can only make the window longer.
        std::uint64_t have = 0;
        for (const Item& item : state.items)
            have += item.part == p;
        if (have > part.count) {
            const auto oldest = std::find_if(state.items.begin(), state.items.end(),
                                             [p](const Item& item) { return item.part == p; });
            events_.release(oldest->event);
            state.items.erase(oldest);
        }
    }
    for (std::uint32_t p = 0; p < rule.parts.size(); ++p) {
        std::uint64_t have = 0;
        for (const Item& item : state.items)
            have += item.part == p;
        if (have < rule.parts[p].count) return;
    }
    count_match(key, state, rule, out);
}

void Engine::count_match(KeyState& key, RuleState& state, const CompiledRule& rule, const Outputs& out) {
    if (fire(state, rule)) {
        collect_items(state.items, 0);
        Timestamp start = max_timestamp, end = min_timestamp;
        for (const Item& item : state.items) {
            start = std::min(start, item.time);
            end = std::max(end, item.time);
        }
        write_record(key, rule, start, end, std::nullopt, out, false);
    }
    // The counted events are used up: counting starts over.
    release_items(state);
    if (state.done) finish_state(state);
}

// ---- time ----

Timestamp Engine::deadline(const RuleState& state, const CompiledRule& rule) const {
    if (rule.within == 0 || state.done) return max_timestamp;
    Timestamp earliest = max_timestamp;
    for (const Run& r : state.runs)
        earliest = std::min(earliest, r.start_time);
    if (!state.items.empty()) earliest = std::min(earliest, state.items.front().time);
    return earliest == max_timestamp ? max_timestamp : saturating_add(earliest, rule.within);
}

void Engine::register_timer(KeyState& key, std::uint32_t key_index, RuleState& state) {
    const Timestamp at = deadline(state, program_->rules[state.rule]);
    if (at == max_timestamp || at >= state.timer) return;
    state.timer = at;
    arm_key_timer(key, key_index, at);
}

void Engine::advance_state(KeyState& key, RuleState& state, Timestamp watermark, const Outputs& out) {
    const CompiledRule& rule = program_->rules[state.rule];
    if (rule.within == 0 || state.done) return;
    if (rule.spec.kind != RuleKind::sequence) {
        // Sliding window: an event older than `within` can no longer be part of a match; the
        // partial match that began with it timed out.
        while (!state.items.empty() && saturating_add(state.items.front().time, rule.within) <= watermark) {
            if (out.timeouts || tracing_) {
                collect_items(state.items, 0);
                write_record(key, rule, state.items.front().time, state.items.back().time,
                             saturating_add(state.items.front().time, rule.within), out, true);
            }
            events_.release(state.items.front().event);
            state.items.erase(state.items.begin());
        }
        return;
    }
    potential_.clear();
    std::size_t kept = 0;
    for (std::size_t i = 0; i < state.runs.size(); ++i) {
        const Run run = state.runs[i];
        const Timestamp at = saturating_add(run.start_time, rule.within);
        if (at > watermark) {
            state.runs[kept++] = run;
            continue;
        }
        if (rule.nfa.states[run.state].type == StateType::pending) {
            // not_followed_by at the end: the time passed without the negated event.
            potential_.push_back(run);
            continue;
        }
        if ((out.timeouts || tracing_) && run.node != none) {
            collect_run(run.node);
            write_record(key, rule, run.start_time, events_[nodes_[run.node].event].time, at, out, true);
        }
        release_run(run);
    }
    state.runs.resize(kept);
    resolve_matches(key, state, rule, out);
}

void Engine::fire_timers(Timestamp watermark, const Outputs& out) {
    while (!timers_.empty() && timers_.front().at <= watermark) {
        std::pop_heap(timers_.begin(), timers_.end(), timer_later);
        const Timer timer = timers_.back();
        timers_.pop_back();
        KeyState& key = key_states_[timer.key];
        if (!key.live || key.generation != timer.generation) continue;
        if (timer.rule == sweep_timer) {
            if (key.sweep_at == timer.at) sweep_logs(timer.key, watermark);
            continue;
        }
        if (key.timer_at != timer.at) continue; // superseded by an earlier one
        fire_key_timer(timer.key, timer.at, watermark, out);
    }
}

void Engine::fire_key_timer(std::uint32_t key_index, Timestamp at, Timestamp watermark, const Outputs& out) {
    KeyState& key = key_states_[key_index];
    key.timer_at = max_timestamp;
    tracing_ = explain_ && key.key == explain_->key;
    bool emptied = false;
    std::size_t kept = 0;
    for (std::size_t i = 0; i < key.rules.size(); ++i) {
        RuleState& state = key.rules[i];
        if (state.timer == at) {
            state.timer = max_timestamp;
            advance_state(key, state, watermark, out);
            if (tracing_ && !trace_notes_.empty()) {
                std::string line =
                    "[" + key.key + "] event time reached " + time_text(std::min(watermark, at));
                line += ": " + program_->rules[state.rule].spec.id + ": ";
                for (std::size_t n = 0; n < trace_notes_.size(); ++n)
                    line += (n ? "; " : "") + trace_notes_[n];
                trace_notes_.clear();
                explain_->write(line);
            }
            if (to_done_bit(key, state)) continue;
            const Timestamp next = deadline(state, program_->rules[state.rule]);
            if (next != max_timestamp) state.timer = next;
            // An empty state stays until the key's next event compacts the key's states.
            emptied = emptied || is_empty(state);
        }
        if (kept != i) key.rules[kept] = std::move(state);
        ++kept;
    }
    key.rules.resize(kept);
    tracing_ = false;
    if ((emptied || key.rules.empty()) && key_unused(key)) {
        erase_key(key_index); // a key left with nothing goes
        return;
    }
    Timestamp next = max_timestamp;
    for (const RuleState& state : key.rules)
        next = std::min(next, state.timer);
    if (next != max_timestamp) arm_key_timer(key, key_index, next);
}

void Engine::advance(Timestamp watermark, const Outputs& out) {
    now_ = std::max(now_, watermark);
    fire_timers(watermark, out);
    expire_keys(watermark);
}

void Engine::expire_keys(Timestamp now) {
    // The end of input is not idleness: the keys still there are finished, not expired.
    if (key_ttl_ <= 0 || now < next_sweep_ || now == max_timestamp) return;
    // A full pass, at most every quarter of the TTL: cheap next to the records in between.
    next_sweep_ = saturating_add(now, std::max<Duration>(key_ttl_ / 4, 1));
    for (std::uint32_t index = 0; index < key_states_.size(); ++index) {
        KeyState& ks = key_states_[index];
        if (!ks.live || saturating_add(ks.last_time, key_ttl_) > now) continue;
        if (explain_ && ks.key == explain_->key)
            explain_->write("[" + ks.key + "] idle since " + time_text(ks.last_time) +
                            ": state dropped (--key-ttl)");
        for (RuleState& state : ks.rules)
            finish_state(state);
        erase_key(index);
        ++expired_keys_;
    }
}

std::size_t Engine::memory() const {
    std::size_t bytes = key_states_.capacity() * sizeof(KeyState) + events_.memory() +
                        nodes_.capacity() * sizeof(Node) + timers_.capacity() * sizeof(Timer);
    for (const auto& table : tables_)
        bytes += table->memory();
    for (const KeyState& ks : key_states_) {
        bytes += ks.key.capacity() + ks.key_json.capacity() + ks.rules.capacity() * sizeof(RuleState);
        for (const RuleState& s : ks.rules)
            bytes += (s.runs.capacity() + s.completed.capacity()) * sizeof(Run) +
                     s.items.capacity() * sizeof(Item);
        bytes += ks.logs.capacity() * sizeof(ConditionLog) + ks.done.capacity() * sizeof(std::uint64_t);
        for (const ConditionLog& log : ks.logs)
            bytes += log.entries.capacity() * sizeof(LogEntry);
    }
    return bytes;
}

// ---- per record ----

void Engine::step(KeyState& key, RuleState& state, bool triggered, const Outputs& out) {
    const CompiledRule& rule = program_->rules[state.rule];
    if (state.done) return;
    if (rule.spec.kind == RuleKind::sequence)
        step_sequence(key, state, rule, triggered, out);
    else
        step_counting(key, state, rule, out);
}

void Engine::process(const Record& record, Timestamp time, const Outputs& out) {
    now_ = std::max(now_, time);
    fire_timers(time, out);
    expire_keys(time);
    current_ = {&record, time, ++seq_, topic_of(record), none};
    program_->conditions.next_event();

    // Rules this event may start: those whose start condition holds.
    triggered_.clear();
    for (const auto& starter : program_->starters) {
        if (!program_->conditions.test(starter.condition, record)) continue;
        for (std::uint32_t r : starter.rules)
            if (applies(program_->rules[r], time, current_.topic)) triggered_.push_back(r);
    }
    for (std::uint32_t r : program_->always_start)
        if (applies(program_->rules[r], time, current_.topic)) triggered_.push_back(r);
    std::sort(triggered_.begin(), triggered_.end());
    triggered_.erase(std::unique(triggered_.begin(), triggered_.end()), triggered_.end());

    for (std::uint32_t g = 0; g < program_->key_groups.size(); ++g) {
        const KeyGroup& group = program_->key_groups[g];
        group_rules_.clear();
        for (std::uint32_t r : triggered_)
            if (program_->rules[r].key_group == g) group_rules_.push_back(r);
        if (group_rules_.empty() && !explain_ &&
            (tables_[g]->empty() ||
             (!group.sees_every_event && !any_holds(group.relevant_conditions, record))))
            continue; // no state of this group can change

        std::string_view key;
        if (group.extractor) {
            if (group.extractor->missing(record)) continue; // rules keyed by it do not see the record
            key = group.extractor->key(record, key_buffer_);
        }
        tracing_ = explain_ && key == explain_->key;
        if (tracing_) explain_->write(explain_prefix(record, time));
        const std::uint32_t index = find_or_add_key(g, key, record, !group_rules_.empty());
        if (index == none) {
            if (tracing_) trace_not_started(g, nullptr);
            tracing_ = false;
            continue;
        }
        KeyState* ks = &key_states_[index];
        ks->last_time = time;
        // States for the rules this event starts, then every state of the key in rule order.
        // New states go at the end, then one merge keeps the rule order: inserting each in
        // place would move the key's other states once per new one.
        const std::size_t had = ks->rules.size();
        shared_checks_.clear();
        for (std::uint32_t r : group_rules_) {
            if (is_done(*ks, r)) continue;
            if (shared(r)) { // no state until it matches: its events are in the key's logs
                shared_checks_.push_back(r);
                continue;
            }
            const auto end = ks->rules.begin() + static_cast<std::ptrdiff_t>(had);
            auto it = std::lower_bound(ks->rules.begin(), end, r,
                                       [](const RuleState& s, std::uint32_t rule) { return s.rule < rule; });
            if (it == end || it->rule != r) {
                RuleState fresh;
                fresh.rule = r;
                ks->rules.push_back(std::move(fresh));
            }
        }
        if (ks->rules.size() > had && had > 0)
            std::inplace_merge(ks->rules.begin(), ks->rules.begin() + static_cast<std::ptrdiff_t>(had),
                               ks->rules.end(),
                               [](const RuleState& a, const RuleState& b) { return a.rule < b.rule; });
        if (tracing_) trace_not_started(g, ks);
        if (!shared_checks_.empty()) log_event(*ks, index, g);
        std::fill(touched_.begin(), touched_.end(), 0);
        for (const std::uint32_t cond : group.relevant_conditions) {
            if (!program_->conditions.test(cond, record)) continue;
            const std::uint64_t* rules = &cond_rules_[cond * rule_words_];
            for (std::size_t w = 0; w < rule_words_; ++w)
                touched_[w] |= rules[w];
        }
        for (const std::uint32_t r : group_rules_)
            set_bit(triggered_bits_, r);
        // Shared rules this event may complete are checked in rule order among the others,
        // so that matches come out in the same order as with per-rule state.
        added_states_.clear();
        std::size_t next_check = 0;
        const auto check_fresh_until = [&](std::uint32_t rule) {
            for (; next_check < shared_checks_.size() && shared_checks_[next_check] < rule; ++next_check) {
                RuleState fresh;
                fresh.rule = shared_checks_[next_check];
                check_shared(*ks, fresh, program_->rules[fresh.rule], out);
                if (!to_done_bit(*ks, fresh) && !shared_state_empty(*ks, fresh))
                    added_states_.push_back(std::move(fresh));
            }
        };
        std::size_t kept = 0;
        for (std::size_t i = 0; i < ks->rules.size(); ++i) {
            RuleState& state = ks->rules[i];
            check_fresh_until(state.rule);
            if (shared(state.rule)) {
                if (next_check < shared_checks_.size() && shared_checks_[next_check] == state.rule) {
                    ++next_check;
                    check_shared(*ks, state, program_->rules[state.rule], out);
                }
                if (to_done_bit(*ks, state) || shared_state_empty(*ks, state)) continue;
                if (kept != i) ks->rules[kept] = std::move(state);
                ++kept;
                continue;
            }
            const bool triggered = bit(triggered_bits_, state.rule);
            // An event none of the rule's conditions accepts leaves a relaxed rule's state as is.
            const bool applied =
                triggered || ((bit(touched_, state.rule) || bit(every_rules_, state.rule) || tracing_) &&
                              applies(program_->rules[state.rule], time, current_.topic));
            const std::size_t runs_before = state.runs.size();
            if (applied) step(*ks, state, triggered, out);
            if (tracing_) trace_step(state, triggered, applied, runs_before);
            if (to_done_bit(*ks, state) || is_empty(state)) continue;
            if (applied) register_timer(*ks, index, state); // a state the event left alone keeps its timer
            if (kept != i) ks->rules[kept] = std::move(state);
            ++kept;
        }
        check_fresh_until(none);
        for (const std::uint32_t r : group_rules_)
            triggered_bits_[r / 64] = 0;
        ks->rules.resize(kept);
        // A busy key may hold hundreds of states for a while, then few (done ones become
        // bits): give the room back rather than keep it for every key that was once busy.
        if (ks->rules.capacity() > 64 && ks->rules.capacity() > 4 * kept) ks->rules.shrink_to_fit();
        if (!added_states_.empty()) {
            const auto middle = static_cast<std::ptrdiff_t>(ks->rules.size());
            for (RuleState& state : added_states_)
                ks->rules.push_back(std::move(state));
            std::inplace_merge(ks->rules.begin(), ks->rules.begin() + middle, ks->rules.end(),
                               [](const RuleState& a, const RuleState& b) { return a.rule < b.rule; });
        }
        if (ks->rules.empty() && ks->logs.empty() && ks->done.empty()) erase_key(index);
        tracing_ = false;
    }
    // Unpinned: an event no rule kept is forgotten now.
    if (current_.stored != none) events_.release(current_.stored);
    current_.record = nullptr;
}

std::uint64_t Engine::partial_matches() const {
    std::uint64_t n = shared_conds_.empty() ? 0 : shared_partial_matches();
    for (const KeyState& ks : key_states_) {
        if (!ks.live) continue;
        for (const RuleState& s : ks.rules)
            n += s.runs.size() + s.completed.size() + (s.items.empty() ? 0 : 1);
    }
    return n;
}

// ---- reload ----

void Engine::rebind(Program& next, const std::vector<std::uint32_t>& old_to_new) {
    // Shared counting: logs are known by their conditions' text, and a rule the reload adds or
    // resets must not count what its logs held before (it starts empty).
    std::vector<std::string> old_texts;
    for (const SharedCondition& c : shared_conds_)
        old_texts.push_back(program_->conditions.text(c.id));
    std::vector<std::string> old_group_paths;
    for (const KeyGroup& g : program_->key_groups)
        old_group_paths.push_back(g.paths);
    const std::vector<std::uint64_t> old_since = shared_since_;
    program_ = &next;
    shared_since_.assign(next.rules.size(), seq_);
    for (std::size_t r = 0; r < old_to_new.size(); ++r)
        if (old_to_new[r] != none && r < old_since.size()) shared_since_[old_to_new[r]] = old_since[r];
    plan_shared_counting();
    remap_logs(old_texts, old_group_paths);
    std::vector<std::unique_ptr<Table>> tables;
    for (std::size_t i = 0; i < next.key_groups.size(); ++i)
        tables.push_back(std::make_unique<Table>());
    for (std::uint32_t index = 0; index < key_states_.size(); ++index) {
        KeyState& ks = key_states_[index];
        if (!ks.live) continue;
        std::vector<RuleState> kept;
        for (RuleState& state : ks.rules) {
            const std::uint32_t rule = old_to_new[state.rule];
            if (rule == none) {
                finish_state(state);
                continue;
            }
            state.rule = rule;
            state.timer = max_timestamp;
            kept.push_back(std::move(state));
        }
        ks.rules.clear();
        std::vector<std::uint64_t> done;
        std::uint32_t a_done_rule = none;
        for (std::uint32_t r = 0; r < old_to_new.size(); ++r) {
            if (!is_done(ks, r) || old_to_new[r] == none) continue;
            set_bit(done, old_to_new[r]);
            a_done_rule = old_to_new[r];
        }
        ks.done = std::move(done);
        std::uint32_t group = none;
        if (!kept.empty())
            group = next.rules[kept.front().rule].key_group;
        else if (a_done_rule != none)
            group = next.rules[a_done_rule].key_group;
        else if (!ks.logs.empty())
            group = ks.group; // remap_logs moved it to the new rules' group
        if (group == none) {
            ks.live = false;
            ++ks.generation;
            free_keys_.push_back(index);
            --live_keys_;
            continue;
        }
        // Kept rules keep their key paths, so the key's rules stay together in one group.
        std::sort(kept.begin(), kept.end(),
                  [](const RuleState& a, const RuleState& b) { return a.rule < b.rule; });
        ks.rules = std::move(kept);
        ks.group = group;
        ++ks.generation; // timers of the old program are void
        tables[ks.group]->insert(ks.hash, index);
    }
    tables_ = std::move(tables);
    timers_.clear();
    for (std::uint32_t index = 0; index < key_states_.size(); ++index) {
        KeyState& ks = key_states_[index];
        if (!ks.live) continue;
        ks.timer_at = max_timestamp;
        for (RuleState& state : ks.rules)
            register_timer(ks, index, state);
        ks.sweep_at = max_timestamp;
        arm_sweep(ks, index);
    }
}

// ---- --explain ----

void Engine::set_explain(std::string key, std::function<void(std::string_view)> write) {
    explain_ = Explain{std::move(key), std::move(write)};
    plan_shared_counting(); // the trace shows per-rule counting
}

bool Engine::explains(const Record& record) {
    if (!explain_) return false;
    for (const KeyGroup& group : program_->key_groups) {
        if (!group.extractor) {
            if (explain_->key.empty()) return true;
            continue;
        }
        if (group.extractor->missing(record)) continue;
        if (group.extractor->key(record, key_buffer_) == explain_->key) return true;
    }
    return false;
}

void Engine::explain_line(const std::string& text) {
    if (explain_) explain_->write(text);
}

std::string Engine::explain_prefix(const Record& record, Timestamp time) const {
    std::string line = "[" + explain_->key + "] " + time_text(time) + " ";
    line += record.origin.source;
    line += ':';
    line += std::to_string(record.origin.line);
    return line;
}

std::string Engine::time_text(Timestamp time) const {
    std::string text;
    times_.append_json(text, time);
    if (text.size() >= 2 && text.front() == '"') text = text.substr(1, text.size() - 2);
    return text;
}

std::string Engine::condition_text(const CompiledRule& rule, std::uint16_t stage) const {
    const StageCondition& sc =
        rule.spec.kind == RuleKind::sequence ? rule.stage_conds[stage] : rule.parts[stage].cond;
    return sc.bound ? program_->bound[sc.id].expression.source()
                    : program_->conditions.expression(sc.id).source();
}

void Engine::trace_state(const RuleState& state, const char* prefix) {
    const CompiledRule& rule = program_->rules[state.rule];
    std::string line = std::string(prefix) + rule.spec.id + ": ";
    if (state.done) {
        explain_->write(line + "done (fire: once)");
        return;
    }
    if (rule.spec.kind != RuleKind::sequence) {
        for (std::uint32_t p = 0; p < rule.parts.size(); ++p) {
            std::uint64_t have = 0;
            for (const Item& item : state.items)
                have += item.part == p;
            line += (p ? ", " : "") + rule.parts[p].name + " " + std::to_string(have) + "/" +
                    std::to_string(rule.parts[p].count);
        }
        explain_->write(line);
        return;
    }
    std::vector<std::string> waiting;
    for (const Run& run : state.runs) {
        const NfaState& ns = rule.nfa.states[run.state];
        std::string what =
            ns.type == StateType::pending
                ? "waiting for 'within' to pass without " + rule.stage_names[ns.stage]
                : "waiting at " + rule.stage_names[ns.stage] + " (" + condition_text(rule, ns.stage) + ")";
        what += " since " + time_text(run.start_time);
        if (std::find(waiting.begin(), waiting.end(), what) == waiting.end())
            waiting.push_back(std::move(what));
    }
    if (!state.completed.empty())
        waiting.push_back(std::to_string(state.completed.size()) +
                          " match(es) held until earlier partial matches resolve (skip strategy)");
    if (waiting.empty()) waiting.push_back("no partial match");
    for (std::size_t i = 0; i < waiting.size(); ++i)
        line += (i ? "; " : "") + waiting[i];
    explain_->write(line);
}

void Engine::trace_step(const RuleState& state, bool triggered, bool applied, std::size_t runs_before) {
    const CompiledRule& rule = program_->rules[state.rule];
    std::string line = "  " + rule.spec.id + ": ";
    auto finish = [&] {
        for (const auto& note : trace_notes_)
            line += "; " + note;
        trace_notes_.clear();
        took_.clear();
        stopped_ = 0;
        explain_->write(line);
    };
    if (!applied) {
        const bool topic = topic_filter_ && rule.topic >= 0 && rule.topic != current_.topic;
        line += topic ? "not seen (the record is not of topic " + program_->topics[rule.topic] + ")"
                      : "not seen (outside the rule's active schedule)";
        return finish();
    }
    if (rule.spec.kind != RuleKind::sequence) {
        for (std::uint32_t p = 0; p < rule.parts.size(); ++p) {
            const bool holds = program_->conditions.test(rule.parts[p].cond.id, *current_.record);
            std::uint64_t have = 0;
            for (const Item& item : state.items)
                have += item.part == p;
            line += (p ? "; " : "") + rule.parts[p].name + ": " +
                    (holds ? "counted"
                           : "(" + condition_text(rule, static_cast<std::uint16_t>(p)) + ") is false") +
                    " (" + std::to_string(have) + "/" + std::to_string(rule.parts[p].count) + " held)";
        }
        return finish();
    }
    if (!took_.empty()) {
        std::vector<std::uint16_t> stages = took_;
        std::sort(stages.begin(), stages.end());
        stages.erase(std::unique(stages.begin(), stages.end()), stages.end());
        line += "taken by stage ";
        for (std::size_t i = 0; i < stages.size(); ++i)
            line += (i ? ", " : "") + rule.stage_names[stages[i]];
        if (triggered && runs_before == 0) line += " (a new partial match)";
    } else if (triggered && runs_before == 0) {
        line += "started nothing";
    } else {
        line += "taken by no stage";
    }
    if (stopped_)
        line += "; negated stage " + rule.stage_names[stop_stage_] + " ended " + std::to_string(stopped_) +
                " partial match(es)";
    line += "; " + std::to_string(state.runs.size()) + " partial match(es) open";
    const bool waiting = took_.empty() && !state.runs.empty();
    finish();
    if (waiting) trace_state(state, "    ");
}

void Engine::trace_not_started(std::uint32_t group, const KeyState* key) {
    std::size_t silent = 0;
    for (std::uint32_t r : program_->key_groups[group].rules) {
        if (key) {
            bool has = false;
            for (const RuleState& s : key->rules)
                has = has || s.rule == r;
            if (has) continue;
        }
        const CompiledRule& rule = program_->rules[r];
        if (program_->key_groups[group].rules.size() > 20) {
            ++silent;
            continue;
        }
        std::string line = "  " + rule.spec.id + ": ";
        if (!applies(rule, current_.time, current_.topic)) {
            line += "not seen (other topic or outside the active schedule)";
        } else {
            line += "nothing to start: ";
            std::vector<std::uint16_t> starts;
            if (rule.spec.kind == RuleKind::sequence)
                starts = rule.nfa.start_stages;
            else
                for (std::uint16_t p = 0; p < rule.parts.size(); ++p)
                    starts.push_back(p);
            for (std::size_t i = 0; i < starts.size(); ++i)
                line += (i ? ", " : "") + std::string("(") + condition_text(rule, starts[i]) + ")";
            line += starts.size() == 1 ? " is false" : " are false";
        }
        explain_->write(line);
    }
    if (silent) explain_->write("  " + std::to_string(silent) + " other rules: nothing to start");
}

void Engine::explain_open_state() {
    if (!explain_) return;
    bool any = false;
    for (std::uint32_t g = 0; g < program_->key_groups.size(); ++g) {
        const std::uint32_t index = tables_[g]->find(
            explain_->key, XXH3_64bits(explain_->key.data(), explain_->key.size()), key_states_);
        if (index == none) continue;
        for (const RuleState& state : key_states_[index].rules) {
            if (!any) explain_->write("[" + explain_->key + "] at the end of the input:");
            any = true;
            trace_state(state, "  ");
        }
    }
    if (!any) explain_->write("[" + explain_->key + "] at the end of the input: no state held");
}

// ---- output ----

namespace {

void append_value(std::string& out, const Value& v, bool json) {
    switch (v.kind) {
    case Kind::missing:
    case Kind::null:
        out += "null";
        break;
    case Kind::boolean:
        out += v.boolean ? "true" : "false";
        break;
    case Kind::integer:
        out += std::to_string(v.integer);
        break;
    case Kind::floating:
        append_json_number(out, v.floating);
        break;
    case Kind::string:
        if (json)
            append_json_string(out, v.text);
        else
            out += v.text;
        break;
    case Kind::object:
    case Kind::array:
        out += v.text;
        break;
    }
}

} // namespace

void Engine::write_record(const KeyState& key, const CompiledRule& rule, Timestamp start, Timestamp end,
                          std::optional<Timestamp> timeout_at, const Outputs& out, bool timeout) {
    std::string& line = out_buffer_;
    line.clear();
    line += "{\"rule\":";
    append_json_string(line, rule.spec.id);
    line += ",\"key\":";
    line += key.key_json;
    line += ",\"match_start\":";
    times_.append_json(line, start);
    line += ",\"match_end\":";
    times_.append_json(line, end);
    if (timeout_at) {
        line += ",\"timeout_at\":";
        times_.append_json(line, *timeout_at);
    }
    if (!timeout && !rule.emit.empty()) {
        class Context final : public TemplateContext {
          public:
            Context(const Engine& engine, const KeyState& key, const CompiledRule& rule, Timestamp start,
                    Timestamp end)
                : engine_(engine), key_(key), rule_(rule), start_(start), end_(end) {}
            void append(const Placeholder& p, std::string& out, bool json) override {
                switch (p.kind) {
                case Placeholder::Kind::key:
                    out += json ? std::string_view(key_.key_json) : key_.key;
                    break;
                case Placeholder::Kind::rule:
                    if (json)
                        append_json_string(out, rule_.spec.id);
                    else
                        out += rule_.spec.id;
                    break;
                case Placeholder::Kind::match_start:
                case Placeholder::Kind::match_end: {
                    std::string time;
                    engine_.times_.append_json(time,
                                               p.kind == Placeholder::Kind::match_start ? start_ : end_);
                    if (!json && time.size() >= 2 && time.front() == '"')
                        time = time.substr(1, time.size() - 2);
                    out += time;
                    break;
                }
                case Placeholder::Kind::field: {
                    Value value;
                    for (auto it = engine_.match_events_.rbegin(); it != engine_.match_events_.rend(); ++it) {
                        if (it->first != p.ref.stage) continue;
                        value = engine_.events_.capture(it->second, p.ref.capture);
                        break;
                    }
                    append_value(out, value, json);
                    break;
                }
                }
            }

          private:
            const Engine& engine_;
            const KeyState& key_;
            const CompiledRule& rule_;
            Timestamp start_, end_;
        } context(*this, key, rule, start, end);
        rule.emit.render(line, context);
    }
    if (rule.spec.emit_events) {
        line += ",\"events\":{";
        bool first_stage = true;
        for (std::uint16_t stage = 0; stage < rule.stage_names.size(); ++stage) {
            bool any = false;
            for (const auto& [s, event] : match_events_) {
                if (s != stage) continue;
                if (!any) {
                    if (!first_stage) line += ',';
                    first_stage = false;
                    append_json_string(line, rule.stage_names[stage]);
                    line += ":[";
                } else {
                    line += ',';
                }
                any = true;
                line += events_[event].raw;
            }
            if (any) line += ']';
        }
        line += '}';
    }
    line += '}';
    if (tracing_) {
        std::string note = timeout ? "partial match since " + time_text(start) + " timed out"
                                   : "MATCH written (" + time_text(start) + " .. " + time_text(end) + ")";
        if (timeout && !out.timeouts) note += " (dropped: no --timeouts)";
        trace_notes_.push_back(std::move(note));
    }
    if (timeout) {
        if (out.timeouts) out.timeouts->write(line, key.key);
        return;
    }
    const Origin origin = current_.record ? current_.record->origin : Origin{"<event time>", 0};
    out.matches->emit_new(line, origin, Route{key.key, std::nullopt});
}

} // namespace cep::sequence
