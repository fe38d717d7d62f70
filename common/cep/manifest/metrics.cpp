#include "cep/manifest/metrics.hpp"

#include "cep/errors.hpp"
#include "cep/manifest/runner.hpp"
#include "cep/time.hpp"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>
#include <unistd.h>

namespace cep::manifest {

MetricsWriter::MetricsWriter(const Manifest& manifest, const RunOptions& options)
    : manifest_(manifest), interval_(std::chrono::seconds(1)), start_(std::chrono::steady_clock::now()),
      last_(start_) {
    if (!options.metrics_interval.empty()) {
        const auto interval = parse_duration(options.metrics_interval);
        if (!interval || *interval <= 0)
            throw UsageError("--metrics-interval: not a positive duration: '" + options.metrics_interval +
                             "'");
        interval_ = std::chrono::nanoseconds(*interval);
    }
    if (!options.metrics.empty()) {
        file_ = std::fopen(options.metrics.c_str(), "a");
        if (file_ == nullptr)
            throw RuntimeError("--metrics: cannot open " + options.metrics + ": " + std::strerror(errno));
    }
    // In place only on a terminal: a log file gets no escape sequences.
    status_ = options.status && isatty(STDERR_FILENO);
    previous_.resize(manifest.nodes.size());
}

MetricsWriter::~MetricsWriter() {
    if (file_ != nullptr) std::fclose(file_);
}

void MetricsWriter::tick(const std::vector<NodeCounters>& counters) {
    if (!enabled()) return;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_ < interval_) return;
    write(counters, false);
}

void MetricsWriter::finish(const std::vector<NodeCounters>& counters) {
    if (enabled()) write(counters, true);
}

void MetricsWriter::write(const std::vector<NodeCounters>& counters, bool final) {
    const auto now = std::chrono::steady_clock::now();
    const double seconds = std::chrono::duration<double>(now - last_).count();
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    last_ = now;
    std::string status;
    for (std::size_t i = 0; i < counters.size() && i < manifest_.nodes.size(); ++i) {
        const double in_rate =
            seconds > 0 ? static_cast<double>(counters[i].in - previous_[i].in) / seconds : 0;
        const double out_rate =
            seconds > 0 ? static_cast<double>(counters[i].out - previous_[i].out) / seconds : 0;
        if (file_ != nullptr) {
            nlohmann::json line{{"node", manifest_.nodes[i].name},
                                {"elapsed_s", elapsed},
                                {"records_in", counters[i].in},
                                {"records_out", counters[i].out},
                                {"in_per_s", std::round(in_rate)},
                                {"out_per_s", std::round(out_rate)},
                                {"final", final}};
            std::fprintf(file_, "%s\n", line.dump().c_str());
        }
        if (status_) {
            char row[256];
            std::snprintf(row, sizeof row, "%-20.20s in %12llu (%9.0f/s)  out %12llu (%9.0f/s)\x1b[K\n",
                          manifest_.nodes[i].name.c_str(), static_cast<unsigned long long>(counters[i].in),
                          in_rate, static_cast<unsigned long long>(counters[i].out), out_rate);
            status += row;
        }
    }
    if (file_ != nullptr) std::fflush(file_);
    if (status_) {
        // Back to the first line of the previous table, then redraw it.
        if (status_lines_ > 0) std::fprintf(stderr, "\x1b[%zuA", status_lines_);
        std::fputs(status.c_str(), stderr);
        status_lines_ = counters.size();
    }
    previous_ = counters;
}

} // namespace cep::manifest
