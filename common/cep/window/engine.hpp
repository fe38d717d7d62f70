#pragma once
// The window engines behind cep-window: one per window kind, all behind one interface so the
// operator does event time, keys, late records and output, and the engines do assignment,
// triggers and state.

#include "cep/agg/aggregate.hpp"
#include "cep/agg/binary.hpp"
#include "cep/record.hpp"
#include "cep/window/keys.hpp"
#include "cep/window/spec.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace cep::window {

/// One result to write: a key's aggregates (and records) for one window.
struct Result {
    KeyRef key; ///< (its hash is not set)
    Bounds window;
    bool has_bounds = true;                   ///< false for a count window none of whose records had a time
    std::optional<std::uint64_t> count;       ///< count windows: records in the window
    const std::byte* state = nullptr;         ///< aggregates; null without --agg
    std::string_view events;                  ///< --collect: the records, joined by '\n'
    bool update = false;                      ///< an earlier result for this key and window was emitted
    bool early = false;                       ///< --emit updates: the window is still open
    std::span<const Bounds> replaces;         ///< sessions: earlier results' bounds this one supersedes
    const std::string* window_json = nullptr; ///< cached `"window":{...}`, when the engine has one
};

/// Where engines send results (the operator, which formats and emits them).
class ResultSink {
  public:
    virtual ~ResultSink() = default;
    virtual void result(const Result& result) = 0;
    /// `"window":{"start":S,"end":E}` in the input's time format, for engines to cache.
    virtual std::string window_json(const Bounds& bounds) = 0;
};

/// What every engine shares: the spec, the aggregates (may be null), where results go.
struct EngineContext {
    const WindowSpec& spec;
    agg::AggregateSet* aggs;
    ResultSink& sink;
    bool composite_key;
};

class Engine {
  public:
    virtual ~Engine() = default;
    /// Adds a record with event time `time` (count windows: maybe none) and key `key`, given the
    /// current watermark. Returns false when every window the record belongs to is past its
    /// allowed lateness: the record is late and was not added.
    virtual bool add(const Record& record, std::optional<Timestamp> time, const KeyRef& key,
                     Timestamp watermark) = 0;
    /// A hint that `key` comes next: engines may start loading its state.
    virtual void prefetch(const KeyRef& key) { (void)key; }
    /// The watermark advanced: fire due windows (by window end, then key), drop expired state.
    virtual void advance(Timestamp watermark) = 0;
    /// End of input: fire every window that has not fired, then drop all state.
    virtual void finish() = 0;
    virtual void snapshot(agg::ByteWriter& out) const = 0;
    virtual void restore(agg::ByteReader& in) = 0;
    /// Windows (per key) held, for --stats.
    virtual std::uint64_t state_size() const = 0;
};

std::unique_ptr<Engine> make_time_windows(const EngineContext& context);
std::unique_ptr<Engine> make_session_windows(const EngineContext& context);
std::unique_ptr<Engine> make_count_windows(const EngineContext& context);

/// Appends `record` to a window's collected records (joined by '\n': NDJSON lines hold none).
inline void collect_record(std::string& events, std::string_view record) {
    if (!events.empty()) events += '\n';
    events += record;
}

} // namespace cep::window
