#pragma once
// The contract every tool's logic implements, so that tools run alone behind a CLI or chained
// in one process by the manifest runner (records parsed once, watermarks passed as calls).

#include "cep/raw_prefilter.hpp"
#include "cep/record.hpp"
#include "cep/time.hpp"

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace cep {

/// How an emitted record is routed: its key (Kafka message key, partitioning) and, when the
/// operator chose one, the output partition.
struct Route {
    std::string_view key;
    std::optional<std::uint32_t> partition;
};

/// Receives what an operator emits. The next operator in a fused chain, or a sink.
class Emitter {
  public:
    virtual ~Emitter() = default;
    /// Passes a record on. Its bytes are the input's bytes (no re-serialization) and, in a fused
    /// chain, its parsed slots travel with it.
    virtual void emit(const Record& record, const Route& route = {}) = 0;
    /// Emits a record the operator built (e.g. an aggregate). `origin` names what caused it.
    virtual void emit_new(std::string_view json, const Origin& origin, const Route& route = {}) = 0;
    /// Rejects a record the operator cannot process (no event time, no key): it goes to the
    /// dead-letter output with `reason`, is reported, and counts as a data error.
    virtual void reject(const Record& record, std::string_view reason) = 0;
    /// Forwards a watermark: no record with event time <= it will follow.
    virtual void watermark(Timestamp) {}
    /// Forwards event-time progress: records up to this time were seen (and maybe dropped)
    /// upstream. Lets a window downstream of a filter advance while the filter drops records.
    virtual void progress(Timestamp) {}
};

class Operator {
  public:
    virtual ~Operator() = default;
    /// One record in. The record and its slots are valid only during the call.
    virtual void push(const Record& record, Emitter& out) = 0;
    /// Event time advanced: fire what is due. Stateless operators pass it on.
    virtual void on_watermark(Timestamp watermark, Emitter& out) { out.watermark(watermark); }
    /// Upstream saw records up to `time`. Operators that track watermarks feed it to their
    /// tracker as if a record with that time had arrived; others pass it on.
    virtual void on_progress(Timestamp time, Emitter& out) { out.progress(time); }
    /// Wall-clock idleness on the input (--idle-timeout): `idle_for` since the last record.
    virtual void on_idle(Duration idle_for, Emitter& out) {
        (void)idle_for;
        (void)out;
    }
    /// End of input: emit everything still held back.
    virtual void finish(Emitter& out) { (void)out; }
    /// The input is about to commit its offsets (a Kafka group): whatever push() wrote outside
    /// the Emitter must be durable now, as the Emitter's outputs are (Archive: its open files
    /// flushed and fsynced). Throws RuntimeError if it cannot be, and nothing is committed.
    virtual void sync() {}
    /// A Kafka consumer-group rebalance took `partitions` of `topic` (which has
    /// `partition_count`) away from this process: records with keys in them now go to another
    /// member. An operator keyed like the topic (key -> kafka_partition(key, partition_count))
    /// may emit or drop that state here. The default keeps it (see KAFKA in cep(7)).
    virtual void on_partitions_revoked(std::string_view topic, std::span<const std::int32_t> partitions,
                                       std::int32_t partition_count, Emitter& out) {
        (void)topic;
        (void)partitions;
        (void)partition_count;
        (void)out;
    }
    /// Writes the operator's state so that restore() on a fresh operator continues identically.
    /// Stateless operators write nothing.
    virtual void snapshot(std::ostream& out) const { (void)out; }
    virtual void restore(std::istream& in) { (void)in; }
    /// Number of keys / partial results held, for --stats.
    virtual std::uint64_t state_size() const { return 0; }
    /// Records that came after their windows' allowed lateness (windowing tools), for --stats.
    virtual std::uint64_t late_records() const { return 0; }
    /// A byte test a record must pass for push() to do anything with it. The driver drops
    /// records that fail it without parsing them (after checking they are one JSON object
    /// per line), so only operators that ignore non-matching records entirely may have one.
    virtual const RawPrefilter* raw_prefilter() const { return nullptr; }
    /// Like raw_prefilter(), for operators that ignore a non-matching record except for its
    /// event time (the watermark, timers and late records still see it). For a record that
    /// fails this test and shows the outline of one object, the driver calls push_time_only()
    /// instead of parsing it; when that returns false (the time is not the line's leading
    /// field), the record is parsed and pushed as usual. Records keep their input order.
    virtual const RawPrefilter* time_only_prefilter() const { return nullptr; }
    virtual bool push_time_only(std::string_view raw, const Origin& origin,
                                std::optional<Timestamp> source_time, Emitter& out) {
        (void)raw;
        (void)origin;
        (void)source_time;
        (void)out;
        return false;
    }
    /// Operator-specific counters for --stats, as JSON members without braces
    /// (`"keys":3,"memory_bytes":1024`), appended to the stats line; empty for none.
    virtual std::string stats_fields() const { return {}; }
};

} // namespace cep
