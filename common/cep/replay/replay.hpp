#pragma once
// cep-replay: archives of NDJSON files merged into one stream ordered by event time, then
// optionally continued from a live file (--follow) or a Kafka topic (--then).
//
// Each input is assumed nearly sorted: a k-way merge (a min-heap over the inputs' next records)
// orders what is already in order for free, and a reorder buffer of --max-delay holds records
// until the merged watermark passes them. Records leave as their original bytes.

#include "cep/diagnostics.hpp"
#include "cep/event_time.hpp"
#include "cep/io/kafka_config.hpp"
#include "cep/operator.hpp"
#include "cep/stats.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace cep::replay {

struct ReplayOptions {
    std::vector<std::string> inputs; ///< files, directories, `-`, kafka: names
    TimeOptions time;                ///< --time, --time-unit, --max-delay, --late
    std::optional<Timestamp> from;   ///< inclusive
    std::optional<Timestamp> until;  ///< exclusive
    double speed = 0;                ///< event-time seconds per wall-clock second; 0: as fast as possible
    std::string follow;              ///< a file to keep reading after the archive
    std::string then;                ///< a kafka: name to continue with after the archive
    std::size_t max_line_bytes = std::size_t{128} << 20;
    bool strict = false;
    io::KafkaOptions kafka;
};

struct ReplayStats {
    std::uint64_t files = 0;         ///< inputs read
    std::uint64_t files_skipped = 0; ///< files not read because --from/--until excluded them
    std::uint64_t out_of_range = 0;  ///< records read but outside [from, until)
    std::uint64_t late = 0;          ///< records too far out of order to be placed
    std::uint64_t already_replayed = 0; ///< live records the archive already covered
};

class Replayer {
  public:
    /// `flush` pushes what was emitted to the reader (before sleeping, and when a live input is idle).
    Replayer(const ReplayOptions& options, Emitter& out, std::function<void()> flush, Diagnostics& diagnostics,
             Counters& counters, StatsReporter& reporter);
    ~Replayer();
    Replayer(const Replayer&) = delete;
    Replayer& operator=(const Replayer&) = delete;

    /// Replays everything. Throws RuntimeError (fatal input errors under --on-error=fail),
    /// BrokenPipe.
    void run();

    const ReplayStats& stats() const;
    /// The --stats members beyond the shared ones, without braces.
    std::string stats_fields() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// Parses --from / --until: RFC 3339, or epoch milliseconds.
std::optional<Timestamp> parse_time_bound(std::string_view text);
/// Parses --speed: `max` (0) or a positive factor with an `x` (`1x`, `60x`, `0.5x`).
std::optional<double> parse_speed(std::string_view text);

} // namespace cep::replay
