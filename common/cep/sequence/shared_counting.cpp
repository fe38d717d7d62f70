// Shared counting for count and all-of rules.
//
// A thousand missions typically count a few dozen distinct conditions ("kill in game 1302",
// "dungeon_clear") with different counts and windows. Counting per (key, rule) stores every
// event once per rule and keeps a timer per (key, rule) to slide the window, which is what made
// many rules slow. Here each key keeps one log per distinct part condition, and a rule reads its
// parts' logs when an event could complete it: the rule's parts hold when the `count`-th newest
// entry of each part's log lies inside the window and after the point where the rule last
// matched (counting starts over after a match). That is the same test the per-rule items make
// (they keep the newest `count` events of each part in the window since the last match), so
// the matches, their bounds and their events are the same.
//
// What per-rule items have and logs do not: a record for each partial match that times out.
// So shared counting is on only without --timeouts and --explain (the operator decides), and
// for rules without count windows (`within` in events counts what each rule saw) or topics.

#include "cep/sequence/engine.hpp"

#include <algorithm>

namespace cep::sequence {

namespace {

/// Whether an emit template reads fields of the matched events.
bool reads_events(const Template& emit) {
    for (const Template::Op& op : emit.ops_) {
        if (op.kind == Template::Op::Kind::value && op.placeholder.kind == Placeholder::Kind::field)
            return true;
        for (const Placeholder& p : op.placeholders)
            if (p.kind == Placeholder::Kind::field) return true;
    }
    return false;
}

} // namespace

void Engine::plan_dispatch() {
    rule_words_ = (program_->rules.size() + 63) / 64;
    cond_rules_.assign(program_->conditions.size() * rule_words_, 0);
    every_rules_.assign(rule_words_, 0);
    touched_.assign(rule_words_, 0);
    triggered_bits_.assign(rule_words_, 0);
    for (const CompiledRule& rule : program_->rules) {
        const std::uint64_t mask = std::uint64_t{1} << (rule.index % 64);
        if (rule.sees_every_event) every_rules_[rule.index / 64] |= mask;
        for (const std::uint32_t cond : rule.relevant_conditions)
            cond_rules_[cond * rule_words_ + rule.index / 64] |= mask;
    }
}

void Engine::plan_shared_counting() {
    plan_dispatch();
    const std::size_t rule_count = program_->rules.size();
    shared_rule_.assign(rule_count, 0);
    shared_since_.resize(rule_count, 0);
    shared_conds_.clear();
    shared_cond_of_.assign(program_->conditions.size(), none);
    group_shared_conds_.assign(program_->key_groups.size(), {});
    sweep_gap_ = 0;
    if (!shared_on_ || explain_) return;
    for (const CompiledRule& rule : program_->rules) {
        if (rule.spec.kind == RuleKind::sequence || rule.within_events > 0) continue;
        const bool has_topic =
            rule.topic >= 0 || std::any_of(rule.parts.begin(), rule.parts.end(),
                                           [](const CompiledPart& p) { return p.topic >= 0; });
        if (topic_filter_ && has_topic) continue;
        if (std::any_of(rule.parts.begin(), rule.parts.end(),
                        [](const CompiledPart& p) { return p.cond.bound; }))
            continue;
        const bool events = rule.spec.emit_events || reads_events(rule.emit);
        shared_rule_[rule.index] = events ? 2 : 1;
        for (const CompiledPart& part : rule.parts) {
            std::uint32_t& index = shared_cond_of_[part.cond.id];
            if (index == none) {
                index = static_cast<std::uint32_t>(shared_conds_.size());
                shared_conds_.push_back({});
                shared_conds_.back().id = part.cond.id;
            }
            // Rules of several key groups may count one condition: each group's keys log it.
            auto& group_conds = group_shared_conds_[rule.key_group];
            if (std::find(group_conds.begin(), group_conds.end(), index) == group_conds.end())
                group_conds.push_back(index);
            SharedCondition& c = shared_conds_[index];
            c.keep_count = std::max(c.keep_count, part.count);
            if (rule.within == 0)
                c.timeless = true;
            else
                c.keep_for = std::max(c.keep_for, rule.within);
            c.store_events = c.store_events || events;
            c.raw = c.raw || rule.spec.emit_events;
            if (c.rules.empty() || c.rules.back() != rule.index) c.rules.push_back(rule.index);
            if (!c.timeless) sweep_gap_ = std::max(sweep_gap_, c.keep_for / 4);
        }
    }
}

ConditionLog* Engine::find_log(KeyState& key, std::uint32_t cond) {
    for (ConditionLog& log : key.logs)
        if (log.cond == cond) return &log;
    return nullptr;
}

void Engine::drop_log_front(ConditionLog& log) {
    const std::uint32_t event = log.front().event;
    if (event != none) events_.release(event);
    ++log.head;
    // Compacted once half the vector is gone: amortised O(1) per entry, no ring arithmetic.
    if (log.head >= 16 && log.head * 2 >= log.entries.size()) {
        log.entries.erase(log.entries.begin(), log.entries.begin() + log.head);
        log.head = 0;
    }
}

void Engine::trim_log(ConditionLog& log, Timestamp now) {
    const SharedCondition& c = shared_conds_[log.cond];
    while (log.size() > 0 && (log.size() > c.keep_count ||
                              (!c.timeless && saturating_add(log.front().time, c.keep_for) <= now)))
        drop_log_front(log);
}

void Engine::release_logs(KeyState& key) {
    for (ConditionLog& log : key.logs)
        while (log.size() > 0)
            drop_log_front(log);
    key.logs.clear();
    key.sweep_at = max_timestamp;
}

void Engine::log_event(KeyState& key, std::uint32_t key_index, std::uint32_t group) {
    const Record& record = *current_.record;
    for (const std::uint32_t index : group_shared_conds_[group]) {
        const SharedCondition& c = shared_conds_[index];
        if (!program_->conditions.test(c.id, record)) continue;
        ConditionLog* log = find_log(key, index);
        if (log == nullptr) {
            key.logs.push_back({});
            log = &key.logs.back();
            log->cond = index;
        }
        std::uint32_t event = none;
        if (c.store_events) {
            event = current_event(c.raw);
            events_.retain(event);
        }
        log->entries.push_back({current_.time, current_.seq, event});
        trim_log(*log, current_.time);
        if (!c.timeless && key.sweep_at == max_timestamp) arm_sweep(key, key_index);
    }
}

void Engine::check_shared(KeyState& key, RuleState& state, const CompiledRule& rule, const Outputs& out) {
    if (state.done) return;
    const Timestamp floor = rule.spec.active_from.value_or(min_timestamp);
    const std::uint64_t after = std::max(state.counted_up_to, shared_since_[rule.index]);
    Timestamp start = max_timestamp, end = min_timestamp;
    for (const CompiledPart& part : rule.parts) {
        const ConditionLog* log = find_log(key, shared_cond_of_[part.cond.id]);
        if (log == nullptr || log->size() < part.count) return;
        const LogEntry& oldest = log->from_back(part.count);
        if (oldest.seq <= after || oldest.time < floor ||
            (rule.within > 0 && saturating_add(oldest.time, rule.within) <= current_.time))
            return;
        start = std::min(start, oldest.time);
        end = std::max(end, log->from_back(1).time);
    }
    if (fire(state, rule)) {
        match_events_.clear();
        if (shared_rule_[rule.index] == 2) {
            // Part by part, oldest first: what the output and templates read of them (the
            // events of a stage, the newest one of a stage) is as with per-rule items.
            for (std::uint32_t p = 0; p < rule.parts.size(); ++p) {
                const ConditionLog* log = find_log(key, shared_cond_of_[rule.parts[p].cond.id]);
                for (std::uint64_t n = rule.parts[p].count; n > 0; --n)
                    match_events_.emplace_back(static_cast<std::uint16_t>(p), log->from_back(n).event);
            }
        }
        write_record(key, rule, start, end, std::nullopt, out, false);
    }
    // The counted events are used up: counting starts over.
    state.counted_up_to = current_.seq;
    if (state.done) finish_state(state);
}

bool Engine::shared_state_empty(KeyState& key, RuleState& state) {
    if (state.counted_up_to != 0) {
        // The mark matters while a log still holds an event it used.
        bool used = false;
        for (const CompiledPart& part : program_->rules[state.rule].parts) {
            const ConditionLog* log = find_log(key, shared_cond_of_[part.cond.id]);
            used = used || (log != nullptr && log->size() > 0 && log->front().seq <= state.counted_up_to);
        }
        if (!used) state.counted_up_to = 0;
    }
    return is_empty(state);
}

void Engine::arm_sweep(KeyState& key, std::uint32_t key_index) {
    Timestamp at = max_timestamp;
    for (const ConditionLog& log : key.logs) {
        const SharedCondition& c = shared_conds_[log.cond];
        if (log.size() > 0 && !c.timeless) at = std::min(at, saturating_add(log.front().time, c.keep_for));
    }
    if (at == max_timestamp) return;
    // Not before a quarter of the longest window has passed: sweeping is only about memory
    // (appending trims a log too), so one sweep drops many entries rather than one each.
    at = std::max(at, saturating_add(now_, sweep_gap_));
    if (at >= key.sweep_at) return;
    key.sweep_at = at;
    timers_.push_back({at, key_index, key.generation, sweep_timer});
    std::push_heap(timers_.begin(), timers_.end(), timer_later);
}

void Engine::sweep_logs(std::uint32_t key_index, Timestamp watermark) {
    KeyState& key = key_states_[key_index];
    key.sweep_at = max_timestamp;
    for (ConditionLog& log : key.logs)
        trim_log(log, watermark);
    std::erase_if(key.logs, [](const ConditionLog& log) { return log.size() == 0; });
    std::erase_if(key.rules, [&](RuleState& s) { return shared(s.rule) && shared_state_empty(key, s); });
    if (key_unused(key)) {
        erase_key(key_index);
        return;
    }
    arm_sweep(key, key_index);
}

std::uint64_t Engine::shared_partial_matches() const {
    // A rule with counted events in a key's logs (after its last match, inside its window) and
    // not done is one partial match, as its per-rule items would be.
    std::uint64_t n = 0;
    rule_marks_.assign(program_->rules.size(), none);
    for (std::uint32_t index = 0; index < key_states_.size(); ++index) {
        const KeyState& ks = key_states_[index];
        if (!ks.live) continue;
        for (const ConditionLog& log : ks.logs) {
            if (log.size() == 0) continue;
            const LogEntry& newest = log.from_back(1);
            for (const std::uint32_t r : shared_conds_[log.cond].rules) {
                const CompiledRule& rule = program_->rules[r];
                if (rule_marks_[r] == index || rule.key_group != ks.group || is_done(ks, r)) continue;
                const auto it =
                    std::lower_bound(ks.rules.begin(), ks.rules.end(), r,
                                     [](const RuleState& s, std::uint32_t x) { return s.rule < x; });
                const RuleState* state = it != ks.rules.end() && it->rule == r ? &*it : nullptr;
                if (state != nullptr && state->done) continue;
                const std::uint64_t after = std::max(state ? state->counted_up_to : 0, shared_since_[r]);
                if (newest.seq <= after ||
                    (rule.within > 0 && saturating_add(newest.time, rule.within) <= now_))
                    continue;
                rule_marks_[r] = index;
                ++n;
            }
        }
    }
    return n;
}

void Engine::remap_logs(const std::vector<std::string>& old_texts,
                        const std::vector<std::string>& old_group_paths) {
    for (KeyState& ks : key_states_) {
        if (!ks.live) continue;
        // The key's group under the new rules: the one with the same key paths.
        std::uint32_t group = none;
        for (std::uint32_t g = 0; g < program_->key_groups.size(); ++g)
            if (program_->key_groups[g].paths == old_group_paths[ks.group]) group = g;
        for (ConditionLog& log : ks.logs) {
            const auto id = program_->conditions.find(old_texts[log.cond]);
            std::uint32_t cond = id && *id < shared_cond_of_.size() ? shared_cond_of_[*id] : none;
            if (cond != none && (group == none || std::find(group_shared_conds_[group].begin(),
                                                            group_shared_conds_[group].end(),
                                                            cond) == group_shared_conds_[group].end()))
                cond = none; // no rule of the key's paths counts it any more
            if (cond == none) {
                while (log.size() > 0)
                    drop_log_front(log);
            }
            log.cond = cond;
        }
        std::erase_if(ks.logs, [](const ConditionLog& log) { return log.cond == none; });
        if (!ks.logs.empty()) ks.group = group;
    }
}

} // namespace cep::sequence
