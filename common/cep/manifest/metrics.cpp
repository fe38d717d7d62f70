#include "cep/manifest/metrics.hpp"

#include "cep/errors.hpp"
#include "cep/manifest/runner.hpp"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>
#include <unistd.h>

namespace cep::manifest {
namespace {

/// To three decimals, as the nearest double to that decimal (so it prints as 0.009, not
/// 0.009000000000000001).
double milli_round(double value) {
    return std::round(value * 1000) / 1000;
}

/// `part` of `whole` nanoseconds, between 0 and 1, to three decimals.
double share(std::uint64_t part, double whole_ns) {
    if (whole_ns <= 0) return 0;
    return milli_round(std::min(1.0, static_cast<double>(part) / whole_ns));
}

std::optional<std::uint64_t> delta(const std::optional<std::uint64_t>& now,
                                   const std::optional<std::uint64_t>& before) {
    if (!now) return std::nullopt;
    const std::uint64_t base = before.value_or(0);
    return *now >= base ? *now - base : 0;
}

nlohmann::json or_null(const std::optional<std::uint64_t>& value) {
    return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

std::string human_count(const std::optional<std::uint64_t>& value) {
    return value ? std::to_string(*value) : "-";
}

} // namespace

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

void MetricsWriter::clear_status() {
    if (status_lines_ == 0) return;
    // Up to the table's first line, and clear from there to the end of the screen.
    std::fprintf(stderr, "\x1b[%zuA\x1b[J", status_lines_);
    std::fflush(stderr);
    status_lines_ = 0;
}

void MetricsWriter::write(const std::vector<NodeMetrics>& metrics, bool final) {
    const auto now = std::chrono::steady_clock::now();
    const Timestamp wall = std::chrono::duration_cast<std::chrono::nanoseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
    std::lock_guard lock(mutex_);
    const double seconds = std::chrono::duration<double>(now - last_).count();
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    last_ = now;
    // Shares of time: over the interval since the last line; the final line's over the whole run.
    const double window_ns = (final ? elapsed : seconds) * 1e9;
    std::string status;
    for (std::size_t i = 0; i < metrics.size() && i < manifest_.nodes.size(); ++i) {
        const NodeMetrics& m = metrics[i];
        const NodeMetrics& before = previous_[i];
        auto rate = [&](const std::optional<std::uint64_t>& now_count,
                        const std::optional<std::uint64_t>& before_count) -> std::optional<double> {
            const auto d = delta(now_count, before_count);
            if (!d) return std::nullopt;
            return seconds > 0 ? std::round(static_cast<double>(*d) / seconds) : 0.0;
        };
        const auto in_rate = rate(m.in, before.in);
        const auto out_rate = rate(m.out, before.out);
        std::optional<double> lag;
        if (m.watermark) lag = milli_round(static_cast<double>(wall - *m.watermark) / 1e9);
        auto time_share = [&](const std::optional<std::uint64_t>& total,
                              const std::optional<std::uint64_t>& previous) -> std::optional<double> {
            if (!total) return std::nullopt;
            return share(final ? *total : *delta(total, previous), window_ns);
        };
        const auto waiting = time_share(m.waiting_in_ns, before.waiting_in_ns);
        const auto blocked = time_share(m.blocked_out_ns, before.blocked_out_ns);
        if (file_ != nullptr) {
            auto number = [](const std::optional<double>& v) {
                return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
            };
            auto seconds_of = [](const std::optional<std::uint64_t>& ns) {
                return ns ? nlohmann::json(milli_round(static_cast<double>(*ns) / 1e9))
                          : nlohmann::json(nullptr);
            };
            nlohmann::ordered_json line;
            line["node"] = manifest_.nodes[i].name;
            line["elapsed_s"] = milli_round(elapsed);
            line["records_in"] = or_null(m.in);
            line["records_out"] = or_null(m.out);
            line["in_per_s"] = number(in_rate);
            line["out_per_s"] = number(out_rate);
            line["watermark"] =
                m.watermark ? nlohmann::json(format_rfc3339(*m.watermark)) : nlohmann::json(nullptr);
            line["watermark_lag_s"] = number(lag);
            line["state"] = or_null(m.state);
            line["waiting_in_s"] = seconds_of(m.waiting_in_ns);
            line["blocked_out_s"] = seconds_of(m.blocked_out_ns);
            line["waiting_in_share"] = number(waiting);
            line["blocked_out_share"] = number(blocked);
            line["reporting"] = m.reporting;
            line["final"] = final;
            std::fprintf(file_, "%s\n", line.dump().c_str());
        }
        if (status_) {
            char row[320];
            char lag_text[32] = "-";
            if (lag && *lag >= 60)
                std::snprintf(lag_text, sizeof lag_text, "%s",
                              format_duration(static_cast<Duration>(*lag) * nanos_per_second).c_str());
            else if (lag)
                std::snprintf(lag_text, sizeof lag_text, "%.1fs", *lag);
            char shares[48] = "-";
            if (waiting && blocked)
                std::snprintf(shares, sizeof shares, "%3.0f%% / %3.0f%%", *waiting * 100, *blocked * 100);
            std::snprintf(row, sizeof row,
                          "%-16.16s in %10s (%8.0f/s)  out %10s (%8.0f/s)  wm lag %8s  state %8s  "
                          "wait/blocked %s\x1b[K\n",
                          manifest_.nodes[i].name.c_str(), human_count(m.in).c_str(), in_rate.value_or(0),
                          human_count(m.out).c_str(), out_rate.value_or(0), lag_text,
                          human_count(m.state).c_str(), shares);
            status += row;
        }
    }
    if (file_ != nullptr) std::fflush(file_);
    if (status_) {
        // Back to the first line of the previous table, then redraw it.
        if (status_lines_ > 0) std::fprintf(stderr, "\x1b[%zuA", status_lines_);
        std::fputs(status.c_str(), stderr);
        std::fflush(stderr);
        status_lines_ = metrics.size();
    }
    previous_ = metrics;
}

} // namespace cep::manifest
