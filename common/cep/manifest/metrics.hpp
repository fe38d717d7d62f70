#pragma once
// --metrics FILE and --status of `cep run`: per-node counters, written as NDJSON lines every
// interval (and once at the end), and shown in place on a terminal. Both run modes fill in the
// same NodeMetrics, so the lines have the same fields whichever mode ran.

#include "cep/manifest/manifest.hpp"
#include "cep/time.hpp"

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <optional>
#include <vector>

namespace cep::manifest {

struct RunOptions;

/// One node's counters at one moment. A field nobody can know is nullopt (written as null).
struct NodeMetrics {
    /// False for a foreign command: it reports nothing itself; its counts, if any, are the
    /// records cep run passed through the pipes it owns.
    bool reporting = true;
    std::optional<std::uint64_t> in, out; ///< records (control records not counted)
    std::optional<Timestamp> watermark;   ///< the latest watermark the node emitted
    std::optional<std::uint64_t> state;   ///< keys or partial results held
    /// Cumulative nanoseconds spent reading or waiting for input, and blocked writing output
    /// (a full pipe, a slow disk, Kafka); for a parallel: node, the average over its copies.
    std::optional<std::uint64_t> waiting_in_ns, blocked_out_ns;
};

class MetricsWriter {
  public:
    MetricsWriter(const Manifest& manifest, const RunOptions& options);
    ~MetricsWriter();
    MetricsWriter(const MetricsWriter&) = delete;
    MetricsWriter& operator=(const MetricsWriter&) = delete;

    bool enabled() const { return file_ != nullptr || status_; }
    std::chrono::steady_clock::duration interval() const { return interval_; }
    /// True when a line is due: one clock read.
    bool due() const { return enabled() && std::chrono::steady_clock::now() - last_ >= interval_; }
    void tick(const std::vector<NodeMetrics>& metrics) {
        if (due()) write(metrics, false);
    }
    void finish(const std::vector<NodeMetrics>& metrics) {
        if (enabled()) write(metrics, true);
    }
    /// Removes the table drawn by --status, so a line written to stderr (a node's message) does
    /// not end up inside it; the next tick draws it again below. Call with stderr_mutex() held.
    void clear_status();
    /// Serializes writers of stderr with the table (processes mode forwards the nodes' stderr).
    std::mutex& stderr_mutex() { return mutex_; }

  private:
    void write(const std::vector<NodeMetrics>& metrics, bool final);

    const Manifest& manifest_;
    std::FILE* file_ = nullptr;
    bool status_ = false;
    std::size_t status_lines_ = 0;
    std::chrono::steady_clock::duration interval_;
    std::chrono::steady_clock::time_point start_, last_;
    std::vector<NodeMetrics> previous_;
    std::mutex mutex_;
};

} // namespace cep::manifest
