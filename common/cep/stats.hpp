#pragma once
// Run counters for --stats / --stats-interval, and the progress bar shown on a terminal. The same
// lines, with a few more fields, go to an inherited descriptor for `cep run --metrics` in
// processes mode (the hidden --metrics-fd).

#include "cep/time.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
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
    // For --metrics-fd only: the latest watermark emitted, and the nanoseconds spent waiting for
    // input and blocked writing output (backpressure).
    std::optional<Timestamp> watermark;
    std::uint64_t waiting_in_ns = 0;
    std::uint64_t blocked_out_ns = 0;
};

class StatsReporter {
  public:
    using Clock = std::chrono::steady_clock;

    StatsReporter(std::string tool, bool final_line, std::optional<Clock::duration> interval, bool progress);

    /// Also writes every line, with pid, watermark, waiting_in_ns and blocked_out_ns, to `fd`
    /// every `interval` and once at the end (what `cep run` reads from each node).
    void report_to(int fd, Clock::duration interval);
    /// Called on a copy of the counters before a line is written, for what is costly to keep
    /// current per record: the state size, the watermark, the time spent blocked.
    void on_refresh(std::function<void(Counters&)> refresh) { refresh_ = std::move(refresh); }

    /// Cheap enough to call per record: looks at the clock only every few thousand calls.
    void tick(const Counters& counters, std::uint64_t position, std::optional<std::uint64_t> size) {
        if (!periodic_ || ++calls_ % 4096 != 0) return;
        tick_slow(counters, position, size);
    }
    /// The same, unconditionally: for callers that count calls themselves (once per block, or
    /// when the input is idle).
    void poll(const Counters& counters, std::uint64_t position, std::optional<std::uint64_t> size) {
        if (periodic_) tick_slow(counters, position, size);
    }
    /// A few words the progress bar shows after the counts (cep-replay: the event time reached).
    void set_note(std::string note) { note_ = std::move(note); }
    /// Prints the final line (with --stats, and to the --metrics-fd) and clears the progress bar.
    void finish(const Counters& counters);
    /// The run ended early but normally (the reader left): only the final --metrics-fd line.
    void finish_metrics(const Counters& counters);

    std::string json_line(const Counters& counters, bool final) const;
    /// json_line with the fields `cep run` reads.
    std::string metrics_line(const Counters& counters, bool final) const;

  private:
    void tick_slow(const Counters& counters, std::uint64_t position, std::optional<std::uint64_t> size);
    Counters refreshed(const Counters& counters) const;
    void write_metrics(const Counters& counters, bool final);

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
    std::function<void(Counters&)> refresh_;
    int metrics_fd_ = -1;
    Clock::duration metrics_interval_{};
    Clock::time_point next_metrics_;
};

} // namespace cep
