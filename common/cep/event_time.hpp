#pragma once
// Reading event time from records (`--time PATH`, `--time-unit`) and tracking the watermark
// (`--max-delay`: bounded out-of-orderness, as Flink's BoundedOutOfOrderness strategy).

#include "cep/record.hpp"
#include "cep/schema.hpp"
#include "cep/time.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace cep {

/// `--time @kafka`: the event time is the Kafka message timestamp, not a field.
inline constexpr std::string_view source_time_path = "@kafka";

struct TimeOptions {
    std::string path = "ts";      ///< a field path, or source_time_path
    TimeUnit unit = TimeUnit::ms; ///< unit of numeric times
    Duration max_delay = 0;       ///< watermark = max event time seen - max_delay - 1ns
    std::optional<Duration> idle_timeout;
    std::string late_output; ///< --late FILE
};

class TimeExtractor {
  public:
    TimeExtractor(const TimeOptions& options, Schema& schema);

    /// The record's event time; on failure nullopt and `reason` says why (for the dead letter).
    std::optional<Timestamp> extract(const Record& record, std::string& reason);
    /// The same for the time field's value read some other way (leading_field()).
    std::optional<Timestamp> extract_value(const Value& value, std::string& reason);

    /// Appends `time` as a JSON value in the form the input used: the same RFC 3339 style
    /// (fraction digits, offset) or a number in the input's unit.
    void append_json(std::string& out, Timestamp time) const;
    const std::string& path_text() const { return path_text_; }

    /// True for `--time @kafka`: times come from Record::source_time, no slot is read.
    bool from_source() const { return from_source_; }

    /// The output format learned from the first time seen, for operator snapshots: a restored
    /// operator writes times as the input did before the snapshot.
    struct Learned {
        bool seen = false;
        bool numeric = false;
        TimeStyle style;
    };
    Learned learned() const { return {seen_, numeric_, style_}; }
    void relearn(const Learned& learned) {
        seen_ = learned.seen;
        numeric_ = learned.numeric;
        style_ = learned.style;
    }

  private:
    bool from_source_;
    Slot slot_;
    std::string path_text_;
    TimeUnit unit_;
    bool seen_ = false;
    bool numeric_ = false;
    TimeStyle style_;
};

/// Bounded out-of-orderness: the watermark trails the largest event time seen by max_delay.
/// Following Flink, a watermark W promises no more records with time <= W, so it is
/// max_seen - max_delay - 1ns, and a window [start, end) fires once W >= end - 1.
class WatermarkTracker {
  public:
    explicit WatermarkTracker(Duration max_delay) : max_delay_(max_delay) {}

    /// Notes an event time; returns true when the watermark advanced.
    bool observe(Timestamp time) {
        if (time <= max_seen_) return false;
        max_seen_ = time;
        return advance_to(time - max_delay_ - 1);
    }
    /// Moves the watermark forward (never back); true when it advanced.
    bool advance_to(Timestamp watermark) {
        if (watermark <= watermark_) return false;
        watermark_ = watermark;
        return true;
    }
    /// A record is late when its time is at or below the watermark.
    bool is_late(Timestamp time) const { return time <= watermark_; }

    Timestamp watermark() const { return watermark_; }
    Timestamp max_seen() const { return max_seen_; }
    Duration max_delay() const { return max_delay_; }

  private:
    Duration max_delay_;
    Timestamp max_seen_ = min_timestamp;
    Timestamp watermark_ = min_timestamp;
};

} // namespace cep
