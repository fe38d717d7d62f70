#pragma once
// Event time: nanoseconds since the Unix epoch, durations in nanoseconds, and the text forms
// they take in records (RFC 3339 / ISO 8601 strings, or epoch numbers in a chosen unit).

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

namespace cep {

using Timestamp = std::int64_t; // ns since 1970-01-01T00:00:00Z
using Duration = std::int64_t;  // ns

inline constexpr Timestamp min_timestamp = std::numeric_limits<Timestamp>::min();
inline constexpr Timestamp max_timestamp = std::numeric_limits<Timestamp>::max();
inline constexpr Duration nanos_per_milli = 1'000'000;
inline constexpr Duration nanos_per_second = 1'000'000'000;

/// Parses `250ms`, `10s`, `5m`, `1h`, `1d` (also `us`, `ns`, and sums like `1h30m`).
std::optional<Duration> parse_duration(std::string_view text);
/// The shortest of those forms that is exact: `90s` -> "1m30s".
std::string format_duration(Duration duration);

/// How a time was written, so outputs can use the same form as the input.
struct TimeStyle {
    int fraction_digits = 3;     ///< digits after the seconds (0, 3, 6 or 9 when formatting)
    int offset_minutes = 0;      ///< the UTC offset the input used (`Z` is 0)
    bool zulu = true;            ///< `Z` rather than `+00:00`
};

/// Parses RFC 3339 / ISO 8601: `2026-11-01T12:00:00.123Z`, `2026-11-01 12:00:00+09:00`,
/// any number of fraction digits, `Z` or `±HH:MM` / `±HHMM`; no offset means UTC; a bare date
/// is midnight UTC. Returns nullopt when the text is not such a time.
std::optional<Timestamp> parse_rfc3339(std::string_view text, TimeStyle* style = nullptr);
std::string format_rfc3339(Timestamp time, const TimeStyle& style = {});

enum class TimeUnit { s, ms, us, ns };
std::optional<TimeUnit> parse_time_unit(std::string_view text);
Duration unit_nanos(TimeUnit unit);

} // namespace cep
