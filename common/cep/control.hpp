#pragma once
// In-band control records: how event-time progress crosses a pipe between cep tools.
//
// A tool that drops records (cep-filter) would otherwise starve the tool after it of event
// time: a window downstream could not close while nothing arrives. So tools write, between
// records, lines such as
//
//   {"$cep":"progress","t":1793534400000000000}   records up to event time t were seen upstream
//   {"$cep":"watermark","t":1793534399999999999}  no record with event time <= t will follow
//
// They are valid JSON, so any NDJSON reader copes, but they are written only when the reader
// of our standard output is another cep tool (found through /proc), when CEP_WATERMARKS=always
// is set (as `cep run` does), or with --watermarks=always. People reading output with jq or
// in a file never see them. Every cep tool consumes them on input and never counts them as
// records.

#include "cep/time.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace cep {

struct ControlRecord {
    enum class Type { progress, watermark } type = Type::progress;
    Timestamp time = 0;
};

inline constexpr std::string_view control_prefix = "{\"$cep\":";

inline bool is_control(std::string_view line) {
    return line.starts_with(control_prefix);
}

/// Parses a line written by format_control; nullopt for anything else (then it is a record).
std::optional<ControlRecord> parse_control(std::string_view line);
std::string format_control(const ControlRecord& control);

/// Event-time updates thinned out on their way to the next tool: one advance in `every` is
/// passed on, plus the latest when the input goes quiet. Keeps pipes from doubling in volume;
/// fused mode (cep run) thins its calls the same way, so that in either run mode an operator
/// sees the same event times at the same records, and fires and counts late records alike.
class ControlThinning {
  public:
    static constexpr unsigned every = 256;

    /// Notes `time`; true when it is to be passed on now.
    bool note(Timestamp time) {
        if (time <= latest_) return false;
        latest_ = time;
        if (++updates_ % every != 0) return false;
        passed_ = time;
        return true;
    }
    /// The latest time noted and not passed on yet, now counted as passed on.
    std::optional<Timestamp> take_pending() {
        if (latest_ <= passed_) return std::nullopt;
        passed_ = latest_;
        return latest_;
    }
    /// The latest time noted, min_timestamp before any.
    Timestamp latest() const { return latest_; }

  private:
    Timestamp latest_ = min_timestamp;
    Timestamp passed_ = min_timestamp;
    unsigned updates_ = 0;
};

enum class ControlOutput { automatic, always, never };

/// Whether to write control records to `fd`: `never`/`always` as given; `automatic` resolves
/// CEP_WATERMARKS from the environment, then looks for the process reading the pipe on `fd`
/// and says yes only when it is a cep tool.
bool resolve_control_output(ControlOutput mode, int fd);

} // namespace cep
