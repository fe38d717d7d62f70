#pragma once
// The matching engine: per-key state of every rule, fed with records in event-time order.
//
// Sequence rules run their automaton the way Flink's NFA does: each partial match (a run) is
// in one state; for each event the run's outgoing edges are resolved (following PROCEED edges
// whose conditions hold), and every TAKE and IGNORE edge that holds yields a new run, so runs
// branch where the pattern is non-deterministic. Taken events are shared between runs through
// reference-counted nodes (Flink's SharedBuffer), so branching copies no event lists.
//
// Count and all-of rules keep the events counted so far per key and fire when every part has
// its count; with `within`, events older than the window fall out (a sliding window).
//
// Every event is evaluated against each distinct start condition once; only the rules whose
// start condition holds, and the rules that already hold partial matches for the event's key,
// see the event.

#include "cep/agg/binary.hpp"
#include "cep/event_time.hpp"
#include "cep/io/sink.hpp"
#include "cep/operator.hpp"
#include "cep/sequence/program.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cep::sequence {

constexpr std::uint32_t none = 0xffffffffU;

inline Timestamp saturating_add(Timestamp t, Duration d) {
    Timestamp out;
    if (__builtin_add_overflow(t, d, &out)) return max_timestamp;
    return out;
}

/// Events that some partial match holds: raw bytes (when output needs them) and the captured
/// fields that later conditions and templates read. Slots are reused, so steady state does not
/// allocate.
class EventStore {
  public:
    struct Event {
        Timestamp time = 0;
        std::uint64_t seq = 0;
        std::uint32_t refs = 0;
        bool has_raw = false;
        bool free = false;
        std::string raw;
        std::string texts; ///< bytes of captured strings, objects and arrays
        /// Captured values; their text lives in `texts` at `offsets` (read them with capture(),
        /// since moving an Event may move a short `texts` and leave views behind).
        std::vector<Value> captured;
        std::vector<std::uint32_t> offsets;
    };

    std::uint32_t add(const Record& record, Timestamp time, std::uint64_t seq,
                      const std::vector<Slot>& captures, bool raw);
    void add_raw(std::uint32_t id, std::string_view raw) {
        Event& e = events_[id];
        if (e.has_raw) return;
        e.raw.assign(raw);
        e.has_raw = true;
    }
    void retain(std::uint32_t id) { ++events_[id].refs; }
    void release(std::uint32_t id) {
        if (--events_[id].refs == 0) recycle(id);
    }
    const Event& operator[](std::uint32_t id) const { return events_[id]; }
    /// Captured value `index` of event `id`.
    Value capture(std::uint32_t id, std::uint32_t index) const {
        const Event& e = events_[id];
        if (index >= e.captured.size()) return {}; // stored before a reload added the field
        Value v = e.captured[index];
        v.text = std::string_view(e.texts.data() + e.offsets[index], v.text.size());
        return v;
    }
    std::size_t live() const { return events_.size() - free_.size(); }
    std::size_t memory() const;

    /// Writes every slot (free ones as a mark), so event ids stay valid across a restore.
    void snapshot(agg::ByteWriter& out) const;
    /// `capture_from[j]`: the snapshot's index of what capture j is now (`none`: not captured
    /// then, so missing), for a program whose capture table differs from the snapshot's.
    void restore(agg::ByteReader& in, const std::vector<std::uint32_t>& capture_from);
    std::size_t size() const { return events_.size(); }

  private:
    void remap_captures(const std::vector<std::uint32_t>& capture_from);
    void recycle(std::uint32_t id) {
        events_[id].free = true;
        free_.push_back(id);
    }
    std::vector<Event> events_;
    std::vector<std::uint32_t> free_;
};

/// A step of a partial match: an event taken by a stage, and the step before it.
struct Node {
    std::uint32_t event;
    std::uint32_t prev;
    std::uint32_t refs;
    std::uint16_t stage;
};

/// A partial match of a sequence rule (Flink's ComputationState).
struct Run {
    std::uint32_t node = none; ///< last taken step; none for the start state
    Timestamp start_time = 0;
    std::uint64_t start_seq = 0;
    StateId state = 0;
};

/// An event counted by a count or all-of rule.
struct Item {
    std::uint32_t event;
    std::uint32_t part;
    Timestamp time;
    std::uint64_t seq;
    std::uint64_t index; ///< position among the events of the key the rule saw (count windows)
};

struct RuleState {
    std::uint32_t rule = 0;
    bool done = false;         ///< fire: once, and it fired
    std::uint64_t matches = 0; ///< matches found, for fire: {every: N}
    std::vector<Run> runs;
    std::vector<Run> completed; ///< matches held back until earlier partial matches resolve
    std::vector<Item> items;
    std::uint64_t seen = 0; ///< events seen, for count windows
    Timestamp timer = max_timestamp;
    /// Shared counting (see ConditionLog): the events up to this sequence number were used by
    /// a match, so counting starts after it.
    std::uint64_t counted_up_to = 0;
};

/// An event of a key that satisfied a shared counting condition.
struct LogEntry {
    Timestamp time;
    std::uint64_t seq;
    std::uint32_t event; ///< in the EventStore, or none when no rule reads the events
};

/// Shared counting: the events of one key that satisfied one part condition of count and all-of
/// rules, oldest first, kept while some rule may still count them. Every rule with a part on
/// the condition reads the same log, so an event is stored once per condition rather than once
/// per rule, and a rule holds state for a key only once it has matched (its fire mark and the
/// point where counting starts over).
struct ConditionLog {
    std::uint32_t cond = 0; ///< index into the engine's shared conditions
    std::uint32_t head = 0; ///< entries before it are gone (compacted now and then)
    std::vector<LogEntry> entries;

    std::size_t size() const { return entries.size() - head; }
    const LogEntry& from_back(std::size_t n) const { return entries[entries.size() - n]; } ///< 1: newest
    const LogEntry& front() const { return entries[head]; }
};

struct KeyState {
    std::string key;      ///< key bytes (Route::key)
    std::string key_json; ///< the key as a JSON value, for output
    std::uint64_t hash = 0;
    std::uint32_t group = 0;
    std::uint32_t generation = 0;
    bool live = false;
    Timestamp last_time = min_timestamp;
    std::vector<RuleState> rules;   ///< sorted by rule index
    std::vector<ConditionLog> logs; ///< shared counting, one per condition with entries
    /// A bit per rule done for this key (fire: once, and it fired): a mark, not a state that
    /// every event of the key would walk past. (With --explain they stay states, to be shown.)
    std::vector<std::uint64_t> done;
    Timestamp sweep_at = max_timestamp; ///< when expired log entries are next dropped
    Timestamp timer_at = max_timestamp; ///< the key's timer: the earliest of its states' timers
};

/// Where the engine writes: matches to the main output, timed-out partial matches to
/// --timeouts (when given).
struct Outputs {
    Emitter* matches = nullptr;
    io::RecordSink* timeouts = nullptr;
};

class Engine {
  public:
    Engine(Program& program, const TimeExtractor& times);
    ~Engine();
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    /// Switches to `next` (rules reloaded): `old_to_new[r]` is the new index of old rule r whose
    /// state is kept, or `none`; states of other rules are dropped. Kept rules must have the
    /// same key paths and automaton (or parts) as before.
    void rebind(Program& next, const std::vector<std::uint32_t>& old_to_new);

    /// Records from more than one input: a rule with a topic sees only the records of the
    /// input whose name stem is that topic.
    void set_topic_filter(bool on) {
        topic_filter_ = on;
        plan_shared_counting();
    }
    /// Shared counting for count and all-of rules (see ConditionLog): much less state and work
    /// per event when many rules count the same conditions. Their partial matches then time out
    /// without a record, so the operator turns it on only without --timeouts and --explain.
    void set_shared_counting(bool on) {
        shared_on_ = on;
        plan_shared_counting();
    }

    /// Processes one record, in event-time order: fires timeouts due at `time`, then matches.
    void process(const Record& record, Timestamp time, const Outputs& out);
    /// A record no rule's condition accepts, at `time`, in event-time order: what process()
    /// does for it (timeouts due, --key-ttl) without reading it.
    void pass(Timestamp time, const Outputs& out) {
        fire_timers(time, out);
        expire_keys(time);
        ++seq_;
    }
    /// Event time reached `watermark`: times out partial matches, completes trailing
    /// not_followed_by matches.
    void advance(Timestamp watermark, const Outputs& out);

    /// --explain KEY: trace what happens to the records and partial matches of one key (the
    /// key's bytes, as Route::key), one line at a time through `write`.
    void set_explain(std::string key, std::function<void(std::string_view)> write);
    /// Whether `record` has the explained key under some rule's key paths.
    bool explains(const Record& record);
    /// Writes a trace line for the explained key (used by the operator for held and late records).
    void explain_line(const std::string& text);
    const TimeExtractor& times() const { return times_; }
    /// Traces the partial matches the explained key still holds.
    void explain_open_state();

    /// --key-ttl: a key that saw no record for `ttl` of event time loses its state.
    void set_key_ttl(Duration ttl) { key_ttl_ = ttl; }
    /// --max-partials: at most `n` partial matches per key and rule; the oldest go first.
    void set_max_partials(std::size_t n) { max_partials_ = n; }
    /// Partial matches dropped by --max-partials, per rule id.
    const std::map<std::string, std::uint64_t>& dropped_partials() const { return dropped_partials_; }
    std::uint64_t expired_keys() const { return expired_keys_; }
    /// Heap bytes held by the state, roughly.
    std::size_t memory() const;

    /// Writes the whole matching state: keys, partial matches, counted and stored events,
    /// fire marks and counters. Rules are written by index; `restore` takes `old_to_new`
    /// (snapshot rule index -> this program's index, or `none` to drop that rule's state),
    /// as a reload does, and `capture_from` (see EventStore::restore). Timers are rebuilt from
    /// the restored states.
    void snapshot(agg::ByteWriter& out) const;
    void restore(agg::ByteReader& in, const std::vector<std::uint32_t>& old_to_new,
                 const std::vector<std::uint32_t>& capture_from);

    /// Partial matches held (runs, counted events and held-back matches).
    std::uint64_t partial_matches() const;
    std::uint64_t keys() const { return live_keys_; }

  private:
    struct Current {
        const Record* record = nullptr;
        Timestamp time = 0;
        std::uint64_t seq = 0;
        int topic = -1;
        std::uint32_t stored = none;
    };
    class Table; // per key group: key bytes -> KeyState index

    bool applies(const CompiledRule& rule, Timestamp time, int topic) const;
    std::string explain_prefix(const Record& record, Timestamp time) const;
    std::string condition_text(const CompiledRule& rule, std::uint16_t stage) const;
    /// A time as the input writes it, without JSON quotes.
    std::string time_text(Timestamp time) const;
    void trace_step(const RuleState& state, bool triggered, bool applied, std::size_t runs_before);
    void trace_not_started(std::uint32_t group, const KeyState* key);
    void trace_state(const RuleState& state, const char* prefix);
    int topic_of(const Record& record);
    /// The current record as a stored event (with its bytes when `raw`), stored on first use.
    std::uint32_t current_event(bool raw);
    std::uint32_t current_event(const CompiledRule& rule) { return current_event(rule.spec.emit_events); }

    void step(KeyState& key, RuleState& state, bool triggered, const Outputs& out);
    void step_sequence(KeyState& key, RuleState& state, const CompiledRule& rule, bool triggered,
                       const Outputs& out);
    void step_counting(KeyState& key, RuleState& state, const CompiledRule& rule, const Outputs& out);
    void advance_state(KeyState& key, RuleState& state, Timestamp watermark, const Outputs& out);

    // ---- shared counting (shared_counting.cpp) ----
    /// Which rules count through shared logs, and the logs' conditions and retention.
    void plan_shared_counting();
    bool shared(std::uint32_t rule) const { return rule < shared_rule_.size() && shared_rule_[rule]; }
    /// Adds the current event to the key's logs of the shared conditions that hold for it.
    void log_event(KeyState& key, std::uint32_t key_index, std::uint32_t group);
    ConditionLog* find_log(KeyState& key, std::uint32_t cond);
    /// Whether the rule's parts have their counts in the key's logs now; writes the match.
    void check_shared(KeyState& key, RuleState& state, const CompiledRule& rule, const Outputs& out);
    /// A shared rule's state that remembers nothing the logs do not.
    bool shared_state_empty(KeyState& key, RuleState& state);
    void drop_log_front(ConditionLog& log);
    /// Drops log entries no rule can count at `now` any more.
    void trim_log(ConditionLog& log, Timestamp now);
    void release_logs(KeyState& key);
    /// The sweep timer of a key: drops expired log entries so idle keys give their memory back.
    void sweep_logs(std::uint32_t key_index, Timestamp watermark);
    void arm_sweep(KeyState& key, std::uint32_t key_index);
    std::uint64_t shared_partial_matches() const;
    /// Rebind/restore: logs follow their conditions by text (`old_texts`, per shared condition of
    /// the previous rules) and keys their group by key paths (`old_group_paths`); logs no rule
    /// of the key's paths counts any more are dropped.
    void remap_logs(const std::vector<std::string>& old_texts,
                    const std::vector<std::string>& old_group_paths);

    bool eval(const CompiledRule& rule, CondId cond, const Run& run);
    bool stage_holds(const CompiledRule& rule, std::uint16_t stage, const Run& run);
    bool final_after_proceed(const CompiledRule& rule, StateId state, const Run& run);
    void process_run(const CompiledRule& rule, const Run& run, bool is_start);
    void resolve_matches(KeyState& key, RuleState& state, const CompiledRule& rule, const Outputs& out);
    void prune(std::vector<Run>& runs, std::uint64_t pruning_seq, bool inclusive);
    void emit_sequence_match(KeyState& key, RuleState& state, const CompiledRule& rule, const Run& match,
                             const Outputs& out);
    void count_match(KeyState& key, RuleState& state, const CompiledRule& rule, const Outputs& out);
    bool fire(RuleState& state, const CompiledRule& rule);
    void finish_state(RuleState& state);

    /// Writes a match or timeout record; `events` are (stage, event) in match order.
    void write_record(const KeyState& key, const CompiledRule& rule, Timestamp start, Timestamp end,
                      std::optional<Timestamp> timeout_at, const Outputs& out, bool timeout);
    void collect_run(std::uint32_t node);
    void collect_items(const std::vector<Item>& items, std::size_t from);

    std::uint32_t new_node(std::uint32_t event, std::uint32_t prev, std::uint16_t stage);
    void retain_node(std::uint32_t node) {
        if (node != none) ++nodes_[node].refs;
    }
    void release_node(std::uint32_t node);
    void release_run(const Run& run) { release_node(run.node); }
    void release_items(RuleState& state);

    void register_timer(KeyState& key, std::uint32_t key_index, RuleState& state);
    Timestamp deadline(const RuleState& state, const CompiledRule& rule) const;
    void fire_timers(Timestamp watermark, const Outputs& out);
    void expire_keys(Timestamp now);
    /// Whether one of the shared conditions holds for the record (results cached per event).
    bool any_holds(const std::vector<std::uint32_t>& conditions, const Record& record);
    /// Nothing to remember: no partial match, counted event, fire mark, every-N count or point
    /// where shared counting starts over.
    bool is_empty(const RuleState& state) const;

    std::uint32_t find_or_add_key(std::uint32_t group, std::string_view key, const Record& record,
                                  bool create);
    void erase_key(std::uint32_t index);
    /// Empty key tables, one per key group of the program.
    void reset_tables();
    /// Adds a live key to its group's table.
    void index_key(std::uint32_t index);
    RuleState* find_rule(KeyState& key, std::uint32_t rule);
    static bool is_done(const KeyState& key, std::uint32_t rule) {
        return rule / 64 < key.done.size() && (key.done[rule / 64] >> (rule % 64) & 1) != 0;
    }
    /// Sets bit `i`, growing `bits` as needed.
    static void set_bit(std::vector<std::uint64_t>& bits, std::uint32_t i) {
        if (bits.size() <= i / 64) bits.resize(i / 64 + 1, 0);
        bits[i / 64] |= std::uint64_t{1} << (i % 64);
    }
    static void mark_done(KeyState& key, std::uint32_t rule) { set_bit(key.done, rule); }
    /// A done state becomes a bit of its key (not with --explain, which shows done states).
    bool to_done_bit(KeyState& key, const RuleState& state) {
        if (!state.done || explain_) return false;
        mark_done(key, state.rule);
        return true;
    }
    /// The key remembers nothing: it may go.
    bool key_unused(const KeyState& key) const;

    Program* program_;
    const TimeExtractor& times_;
    bool topic_filter_ = false;
    std::vector<std::unique_ptr<Table>> tables_;
    std::vector<KeyState> key_states_;
    std::vector<std::uint32_t> free_keys_;
    std::uint64_t live_keys_ = 0;
    EventStore events_;
    std::vector<Node> nodes_;
    std::vector<std::uint32_t> free_nodes_;
    std::uint64_t seq_ = 0;
    Current current_;
    Duration key_ttl_ = 0;
    Timestamp next_sweep_ = min_timestamp;
    std::uint64_t expired_keys_ = 0;
    std::size_t max_partials_ = 0;
    std::map<std::string, std::uint64_t> dropped_partials_;

    struct Timer {
        Timestamp at;
        std::uint32_t key;
        std::uint32_t generation;
        std::uint32_t rule;
    };
    /// The heap order of timers_ (a min-heap by (at, key, rule) through std heap functions).
    static bool timer_later(const Timer& a, const Timer& b) {
        if (a.at != b.at) return a.at > b.at;
        if (a.key != b.key) return a.key > b.key;
        return a.rule > b.rule;
    }
    std::vector<Timer> timers_;
    /// Timer::rule of a key's log sweep, and of the timer of a key's states: one heap entry per
    /// key rather than per (key, rule), so that the heap stays as small as the keys.
    static constexpr std::uint32_t sweep_timer = none - 1;
    static constexpr std::uint32_t key_timer = none - 2;
    void arm_key_timer(KeyState& key, std::uint32_t key_index, Timestamp at) {
        if (at >= key.timer_at) return;
        key.timer_at = at;
        timers_.push_back({at, key_index, key.generation, key_timer});
        std::push_heap(timers_.begin(), timers_.end(), timer_later);
    }
    /// Fires the timers of the key's states due at `at` (in rule order, as per-state timers in
    /// (time, key, rule) order would).
    void fire_key_timer(std::uint32_t key_index, Timestamp at, Timestamp watermark, const Outputs& out);

    // Shared counting: per rule, whether it counts through logs, and the point before which it
    // does not count (a rule added or reset by a reload starts empty); the shared conditions.
    struct SharedCondition {
        std::uint32_t id = 0;         ///< ConditionTable id
        std::uint64_t keep_count = 0; ///< the largest count a rule needs of it
        Duration keep_for = 0;        ///< the longest `within` of its rules
        bool timeless = false;        ///< a rule without `within` counts it
        bool store_events = false;    ///< some rule writes or reads the events
        bool raw = false;             ///< some rule writes the events' bytes
        std::vector<std::uint32_t> rules;
    };
    bool shared_on_ = false;
    std::vector<std::uint8_t>
        shared_rule_; ///< 0: counts per rule; 1: shared; 2: shared, and its matches read events
    std::vector<std::uint64_t> shared_since_;
    std::vector<SharedCondition> shared_conds_;
    std::vector<std::uint32_t> shared_cond_of_; ///< ConditionTable id -> shared condition, or none
    std::vector<std::vector<std::uint32_t>> group_shared_conds_; ///< per key group
    std::vector<std::uint32_t> shared_checks_;
    std::vector<RuleState> added_states_;
    mutable std::vector<std::uint32_t> rule_marks_;
    Duration sweep_gap_ = 0;

    // Which of a key's states an event may change, as bits over the rules: a state is looked
    // at only if its rule was triggered, or one of its relevant conditions holds, or it sees
    // every event (a key may hold hundreds of states; reading each rule to decide was most of
    // the time per event).
    void plan_dispatch();
    static bool bit(const std::vector<std::uint64_t>& bits, std::uint32_t i) {
        return (bits[i / 64] >> (i % 64) & 1) != 0;
    }
    std::size_t rule_words_ = 0;
    std::vector<std::uint64_t> cond_rules_;  ///< per condition id: rule_words_ words
    std::vector<std::uint64_t> every_rules_; ///< rules that see every event
    std::vector<std::uint64_t> touched_, triggered_bits_;
    Timestamp now_ = min_timestamp; ///< the latest event time processed

    // Scratch, reused across events.
    std::string key_buffer_;
    std::string out_buffer_;
    std::vector<std::uint32_t> triggered_;
    std::vector<std::uint32_t> group_rules_;
    std::vector<Run> new_runs_, potential_, produced_;
    std::vector<std::pair<StateId, Edge>> edges_;
    std::vector<StateId> stack_;
    std::vector<Value> bound_values_;
    std::vector<std::pair<std::uint16_t, std::uint32_t>> match_events_; // (stage, event)
    std::string last_source_;
    int last_topic_ = -1;

    // --explain
    struct Explain {
        std::string key;
        std::function<void(std::string_view)> write;
    };
    std::optional<Explain> explain_;
    bool tracing_ = false; ///< the record being processed has the explained key
    std::vector<std::uint16_t> took_;
    std::uint32_t stopped_ = 0;
    std::uint16_t stop_stage_ = 0;
    std::vector<std::string> trace_notes_;
    std::string trace_;
};

} // namespace cep::sequence
