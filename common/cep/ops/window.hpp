#pragma once
// cep-window: groups records by key into event-time windows (tumbling, sliding, session) or
// count windows, and writes one record per key and window with its aggregates or its records.
// Windows fire when the watermark passes their end, as Flink's event-time windows do; see
// cep-window(1) for the semantics and where they differ from Flink's.

#include "cep/agg/aggregate.hpp"
#include "cep/event_time.hpp"
#include "cep/io/sink.hpp"
#include "cep/key.hpp"
#include "cep/operator.hpp"
#include "cep/window/engine.hpp"
#include "cep/window/result_writer.hpp"
#include "cep/window/spec.hpp"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace cep::ops {

struct WindowOptions {
    window::WindowSpec spec;
    std::vector<Path> keys; ///< -k; empty: one group for all records
    std::string aggregates; ///< --agg; empty: none (then spec.collect)
    TimeOptions time;       ///< --time, --time-unit, --max-delay, --late
};

class Window final : public Operator, private window::ResultSink {
  public:
    /// Registers the paths it reads in `schema` (which must outlive the operator) and opens the
    /// --late file. Throws UsageError, or SyntaxError for a bad aggregate list.
    Window(WindowOptions options, Schema& schema);
    ~Window() override;

    void push(const Record& record, Emitter& out) override;
    void on_watermark(Timestamp watermark, Emitter& out) override;
    void on_progress(Timestamp time, Emitter& out) override;
    void on_idle(Duration idle_for, Emitter& out) override;
    void finish(Emitter& out) override;
    void snapshot(std::ostream& out) const override;
    void restore(std::istream& in) override;
    std::uint64_t state_size() const override { return engine_->state_size(); }

    /// Records that arrived after their windows' allowed lateness (written to --late, if given).
    std::uint64_t late_records() const override { return late_; }
    Timestamp watermark() const { return tracker_.watermark(); }

  private:
    void result(const window::Result& result) override;
    std::string window_json(const window::Bounds& bounds) override;

    void advance(Emitter& out);
    void late(const Record& record, Timestamp time);
    void note_time_style(const Record& record);

    WindowOptions options_;
    Schema& schema_;
    TimeExtractor time_;
    std::optional<Slot> time_slot_; // none when the time is not a field (`--time @kafka`)
    WatermarkTracker tracker_;
    std::optional<KeyExtractor> keys_;
    std::optional<Slot> single_key_slot_; // -k with one path: to tell string keys from others
    std::unique_ptr<agg::AggregateSet> aggs_;
    window::ResultWriter writer_;
    std::unique_ptr<window::Engine> engine_;
    std::unique_ptr<io::RecordSink> late_sink_;
    std::uint64_t late_ = 0;

    Emitter* out_ = nullptr; // during a call, where results go
    Origin origin_;          // the record that caused the results being written
    std::string key_buffer_, reason_, json_;
    // The first event time seen, so a restored operator writes times as the input did.
    std::string time_sample_;
};

} // namespace cep::ops
