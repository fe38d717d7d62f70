#pragma once
// What cep-window computes: the window kind and its bounds, when results are emitted, and how
// long window state outlives the watermark. Shared by the window engines, the operator and the
// command line.

#include "cep/time.hpp"

#include <cstdint>

namespace cep::window {

enum class WindowKind : std::uint8_t { tumbling, sliding, session, count };
enum class EmitMode : std::uint8_t { final, updates };

struct WindowSpec {
    WindowKind kind = WindowKind::tumbling;
    Duration size = 0;       ///< tumbling and sliding: window length
    Duration slide = 0;      ///< sliding: distance between window starts (tumbling: == size)
    Duration gap = 0;        ///< session: inactivity that closes a session
    std::uint64_t count = 0; ///< count windows: records per window
    std::uint64_t every = 0; ///< count windows: records between firings (== count: tumbling)
    Duration lateness = 0;   ///< --allowed-lateness
    EmitMode emit = EmitMode::final;
    bool collect = false; ///< --collect: the window's records in the output

    bool event_time() const { return kind != WindowKind::count; }
};

/// A window's bounds: [start, end) for time windows. Count windows use them for the smallest
/// and largest event time they hold (both inclusive).
struct Bounds {
    Timestamp start = 0;
    Timestamp end = 0;
    bool operator==(const Bounds&) const = default;
};

/// Start of the epoch-aligned window of length `size` holding `t` (Flink's
/// TimeWindow.getWindowStartWithOffset with offset 0): floor division, also for negative times.
inline Timestamp aligned_start(Timestamp t, Duration size) {
    Timestamp remainder = t % size;
    if (remainder < 0) remainder += size;
    return t - remainder;
}

/// The last instant a window holds. Following Flink, a window fires when the watermark reaches
/// it (watermark >= end - 1) and its state is dropped at max_timestamp + allowed lateness.
inline Timestamp max_timestamp_of(const Bounds& window) {
    return window.end - 1;
}

/// max_timestamp + lateness, saturating as Flink's WindowOperator.cleanupTime does.
inline Timestamp cleanup_time(const Bounds& window, Duration lateness) {
    Timestamp t;
    if (__builtin_add_overflow(window.end - 1, lateness, &t)) return cep::max_timestamp;
    return t;
}

} // namespace cep::window
