#include "cep/event_time.hpp"

#include "cep/json_writer.hpp"

#include <cmath>

namespace cep {

TimeExtractor::TimeExtractor(const TimeOptions& options, Schema& schema)
    : from_source_(options.path == source_time_path), slot_(from_source_ ? 0 : schema.add(options.path)),
      path_text_(options.path), unit_(options.unit) {}

std::optional<Timestamp> TimeExtractor::extract(const Record& record, std::string& reason) {
    if (from_source_) {
        if (record.source_time) {
            // Kafka timestamps are epoch milliseconds; outputs write them as numbers.
            seen_ = true;
            numeric_ = true;
            return record.source_time;
        }
        reason = "no Kafka message timestamp for --time @kafka (the record is not from a Kafka input)";
        return std::nullopt;
    }
    return extract_value(record[slot_], reason);
}

std::optional<Timestamp> TimeExtractor::extract_value(const Value& value, std::string& reason) {
    switch (value.kind) {
    case Kind::string: {
        TimeStyle style;
        if (auto time = parse_rfc3339(value.text, seen_ ? nullptr : &style)) {
            if (!seen_) {
                seen_ = true;
                numeric_ = false;
                style_ = style;
            }
            return time;
        }
        reason = "event time '" + path_text_ + "' is not an RFC 3339 time: \"" +
                 std::string(value.text.substr(0, 64)) + "\"";
        return std::nullopt;
    }
    case Kind::integer: {
        if (!seen_) {
            seen_ = true;
            numeric_ = true;
        }
        return value.integer * unit_nanos(unit_);
    }
    case Kind::floating: {
        if (!seen_) {
            seen_ = true;
            numeric_ = true;
        }
        if (!std::isfinite(value.floating)) break;
        return static_cast<Timestamp>(std::llround(value.floating * static_cast<double>(unit_nanos(unit_))));
    }
    case Kind::missing:
        reason = "missing event time field '" + path_text_ + "'";
        return std::nullopt;
    default:
        break;
    }
    reason = "event time '" + path_text_ + "' is a " + std::string(kind_name(value.kind)) +
             ", not an RFC 3339 string or a number";
    return std::nullopt;
}

void TimeExtractor::append_json(std::string& out, Timestamp time) const {
    if (numeric_) {
        const Duration scale = unit_nanos(unit_);
        if (time % scale == 0) {
            out += std::to_string(time / scale);
        } else {
            append_json_number(out, static_cast<double>(time) / static_cast<double>(scale));
        }
        return;
    }
    out += '"';
    out += format_rfc3339(time, style_);
    out += '"';
}

} // namespace cep
