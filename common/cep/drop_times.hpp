#pragma once
// The event times of the records an operator drops (cep-filter), which the tools reading it
// need for their watermarks: the driver writes them as progress records into a pipe, fused mode
// (cep run) passes them as progress calls. Both use this, so that they pass on the same times
// at the same records and drop the same records unparsed.

#include "cep/event_time.hpp"
#include "cep/leading_field.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace cep {

class DropTimes {
  public:
    DropTimes(const TimeOptions& options, Schema& schema) : time_(options, schema) {
        if (!time_.from_source())
            if (const auto key = leading_key(options.path)) key_.emplace(*key);
    }

    /// True when a record the raw prefilter rules out can stay unparsed: its time comes from
    /// the source (`--time @kafka`), or can be the line's first field.
    bool reads_bytes() const { return time_.from_source() || key_.has_value(); }

    /// For a record the raw prefilter ruled out: false when its time can only come from
    /// parsing it (the time is not its first field), else true with `time` set to the time to
    /// pass on, if any. The line is not validated beyond its outline (see RawPrefilter).
    bool read_unparsed(std::string_view line, std::optional<Timestamp> source_time,
                       std::optional<Timestamp>& time) {
        time.reset();
        if (time_.from_source()) {
            time = source_time;
            return true;
        }
        if (!key_) return false;
        const auto value = leading_field(line, *key_);
        if (!value) return false;
        // Records come a few to a millisecond: the same time as the record before moves nothing.
        if (value->kind == Kind::string) {
            if (value->text == last_text_) return true;
            last_text_.assign(value->text);
        }
        // A time that does not convert is no progress, as for a parsed record.
        time = time_.extract_value(*value, reason_);
        return true;
    }

    /// The time of a parsed record the operator dropped; nullopt when it has none.
    std::optional<Timestamp> parsed(const Record& record) { return time_.extract(record, reason_); }

  private:
    TimeExtractor time_;
    std::optional<std::string> key_; // the time field, when leading_field() can read it
    std::string reason_;             // scratch: why a time did not convert, unused
    std::string last_text_;          // the text of the last time read from the bytes
};

} // namespace cep
