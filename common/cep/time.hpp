#pragma once
// Event time: nanoseconds since the Unix epoch, and durations in nanoseconds.

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

/// Parses `250ms`, `10s`, `5m`, `1h`, `1d` (also `us`, `ns`, and combinations like `1h30m`).
std::optional<Duration> parse_duration(std::string_view text);

} // namespace cep
