#pragma once
// Run counters for --stats / --stats-interval, and the progress bar shown on a terminal.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace cep {

struct Counters {
    std::uint64_t records_in = 0;
    std::uint64_t records_out = 0;
    std::uint64_t dead_lettered = 0;
    std::uint64_t errors = 0;
    std::uint64_t bytes_in = 0;
    std::uint64_t state = 0; // keys or partial results held by the operator
    std::uint64_t late = 0;  // records past their windows' allowed lateness (windowing tools)
    std::string extra;       // operator-specific members, Operator::stats_fields()
};

class StatsReporter {
  public:
    using Clock = std::chrono::steady_clock;

    StatsReporter(std::string tool, bool final_line, std::optional<Clock::duration> interval, bool progress);

    /// Cheap enough to call per record: looks at the clock only every few thousand calls.
    void tick(const Counters& counters, std::uint64_t position, std::optional<std::uint64_t> size) {
        if (!periodic_ || ++calls_ % 4096 != 0) return;
        tick_slow(counters, position, size);
    }
    /// The same, unconditionally: for callers that count calls themselves.
    void poll(const Counters& counters, std::uint64_t position, std::optional<std::uint64_t> size) {
        if (periodic_) tick_slow(counters, position, size);
    }
    /// A few words the progress bar shows after the counts (cep-replay: the event time reached).
    void set_note(std::string note) { note_ = std::move(note); }
    /// Prints the final line (with --stats) and clears the progress bar.
    void finish(const Counters& counters);

    std::string json_line(const Counters& counters, bool final) const;

  private:
    void tick_slow(const Counters& counters, std::uint64_t position, std::optional<std::uint64_t> size);

    std::string tool_;
    bool final_line_;
    std::optional<Clock::duration> interval_;
    bool progress_;
    bool periodic_;
    std::uint64_t calls_ = 0;
    Clock::time_point start_ = Clock::now();
    Clock::time_point next_stats_;
    Clock::time_point next_progress_;
    bool progress_shown_ = false;
    std::string note_;
};

} // namespace cep
