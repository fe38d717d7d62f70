#pragma once
// cep-agg: group records by fields and compute aggregates per group; one JSON record per group,
// sorted by group key, at the end of input or per tumbling event-time period (--every). With
// --sketches the records carry their mergeable state, and --merge combines such partial
// results (hourly into daily). See cep-agg(1).

#include "cep/agg/aggregate.hpp"
#include "cep/agg/group_table.hpp"
#include "cep/event_time.hpp"
#include "cep/io/sink.hpp"
#include "cep/operator.hpp"

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace cep::ops {

struct AggConfig {
    std::string spec;              ///< the aggregate list; empty with `merge`
    std::vector<Path> group_by;    ///< -g, in order; may be empty (one group)
    bool rollup = false;           ///< also sub-totals for each prefix of group_by and a total
    std::optional<Duration> every; ///< tumbling event-time periods of this length
    TimeOptions time;              ///< --time, --time-unit, --max-delay, --late (with `every`)
    bool sketches = false;         ///< add `_sketches` to every result
    bool merge = false;            ///< inputs are results written with --sketches
    bool window_fields = true;     ///< group by window.start/window.end when records have them
    agg::AggOptions options;       ///< HyperLogLog precision, t-digest compression
};

class AggOperator final : public Operator {
  public:
    /// Registers the paths it reads in `schema` (which must outlive the operator). Throws
    /// UsageError for bad combinations, SyntaxError (with a column) for a bad aggregate list.
    AggOperator(AggConfig config, Schema& schema);
    ~AggOperator() override;

    void push(const Record& record, Emitter& out) override;
    void on_watermark(Timestamp watermark, Emitter& out) override;
    void on_progress(Timestamp time, Emitter& out) override;
    void on_idle(Duration idle_for, Emitter& out) override;
    void finish(Emitter& out) override;
    void snapshot(std::ostream& out) const override;
    void restore(std::istream& in) override;
    std::uint64_t state_size() const override;

    /// Records that came after their period was emitted (--every), dropped or sent to --late.
    std::uint64_t late_records() const { return late_; }

  private:
    void push_merge(const Record& record, Emitter& out);
    void create_set(const std::string& spec, const agg::AggOptions& options);
    void check_names() const;
    agg::GroupTable& table_for(Timestamp period);
    void encode_key(const Record& record);
    void advance(Emitter& out);
    void emit_period(Timestamp period, agg::GroupTable& table, Emitter& out);
    void emit_row(std::string_view key, const std::byte* state, std::size_t kept, std::size_t level,
                  std::optional<Timestamp> period, Emitter& out);
    void late(const Record& record, Timestamp time);
    void note_time_style(const Record& record);
    std::string fingerprint() const;

    AggConfig config_;
    agg::GroupFields groups_;
    std::unique_ptr<agg::AggregateSet> set_; // built from the first record's spec with --merge
    Schema merge_schema_;                    // paths of a --merge spec: never read
    std::string merge_source_;               // input of the previous --merge record
    std::uint64_t merge_run_ = 0;            // counts --merge inputs, for first()/last()
    std::optional<Slot> window_start_, window_end_;
    std::optional<Slot> sketch_spec_, sketch_precision_, sketch_compression_, sketch_state_;

    // Event time (--every).
    std::optional<TimeExtractor> time_;
    Slot time_slot_ = 0;
    std::string time_sample_; // the first event time seen, encoded, to restore the time style
    WatermarkTracker tracker_{0};
    std::unique_ptr<io::RecordSink> late_sink_;
    std::uint64_t late_ = 0;

    // Groups, by period start (a single period 0 without --every).
    std::map<Timestamp, agg::GroupTable> periods_;
    agg::GroupTable* current_ = nullptr;
    Timestamp current_period_ = 0;

    std::string key_;
    std::string line_;
    std::string reason_;
    std::vector<Value> values_;
};

} // namespace cep::ops
