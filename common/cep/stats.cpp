#include "cep/stats.hpp"

#include <cerrno>
#include <cstdio>
#include <unistd.h>

namespace cep {

StatsReporter::StatsReporter(std::string tool, bool final_line, std::optional<Clock::duration> interval,
                             bool progress)
    : tool_(std::move(tool)), final_line_(final_line), interval_(interval), progress_(progress),
      periodic_(interval.has_value() || progress) {
    next_stats_ = start_ + interval_.value_or(Clock::duration::zero());
    next_progress_ = start_ + std::chrono::milliseconds(200);
}

std::string StatsReporter::json_line(const Counters& c, bool final) const {
    const double seconds = std::chrono::duration<double>(Clock::now() - start_).count();
    const double rate = seconds > 0 ? static_cast<double>(c.records_in) / seconds : 0.0;
    char buf[512];
    std::snprintf(
        buf, sizeof buf,
        "{\"tool\":\"%s\",\"final\":%s,\"records_in\":%llu,\"records_out\":%llu,\"dead_lettered\":%llu,"
        "\"errors\":%llu,\"bytes_in\":%llu,\"state\":%llu,\"late\":%llu,\"seconds\":%.3f,"
        "\"records_per_second\":%.0f}",
        tool_.c_str(), final ? "true" : "false", static_cast<unsigned long long>(c.records_in),
        static_cast<unsigned long long>(c.records_out), static_cast<unsigned long long>(c.dead_lettered),
        static_cast<unsigned long long>(c.errors), static_cast<unsigned long long>(c.bytes_in),
        static_cast<unsigned long long>(c.state), static_cast<unsigned long long>(c.late), seconds, rate);
    std::string line = buf;
    if (!c.extra.empty()) {
        line.pop_back(); // the closing brace
        line += ',' + c.extra + '}';
    }
    return line;
}

void StatsReporter::report_to(int fd, Clock::duration interval) {
    metrics_fd_ = fd;
    metrics_interval_ = interval;
    next_metrics_ = start_ + interval;
    periodic_ = true;
}

Counters StatsReporter::refreshed(const Counters& counters) const {
    Counters copy = counters;
    if (refresh_) refresh_(copy);
    return copy;
}

std::string StatsReporter::metrics_line(const Counters& c, bool final) const {
    std::string line = json_line(c, final);
    line.pop_back(); // the closing brace
    char buf[160];
    std::snprintf(buf, sizeof buf, ",\"pid\":%ld,\"watermark\":", static_cast<long>(::getpid()));
    line += buf;
    line += c.watermark ? std::to_string(*c.watermark) : "null";
    std::snprintf(buf, sizeof buf, ",\"waiting_in_ns\":%llu,\"blocked_out_ns\":%llu}\n",
                  static_cast<unsigned long long>(c.waiting_in_ns),
                  static_cast<unsigned long long>(c.blocked_out_ns));
    return line + buf;
}

void StatsReporter::write_metrics(const Counters& counters, bool final) {
    if (metrics_fd_ < 0) return;
    // One write per line: lines shorter than PIPE_BUF never interleave with those of another
    // process writing the same pipe (the copies of a parallel: node).
    const std::string line = metrics_line(counters, final);
    for (;;) {
        const ssize_t put = ::write(metrics_fd_, line.data(), line.size());
        if (put >= 0 || errno != EINTR) break;
    }
}

void StatsReporter::tick_slow(const Counters& raw, std::uint64_t position,
                              std::optional<std::uint64_t> size) {
    const auto now = Clock::now();
    const bool stats_due = interval_ && now >= next_stats_;
    const bool metrics_due = metrics_fd_ >= 0 && now >= next_metrics_;
    if (stats_due || metrics_due) {
        const Counters counters = refreshed(raw);
        if (stats_due) {
            if (progress_shown_) std::fputs("\r\033[K", stderr);
            std::fprintf(stderr, "%s\n", json_line(counters, false).c_str());
            next_stats_ = now + *interval_;
        }
        if (metrics_due) {
            write_metrics(counters, false);
            next_metrics_ = now + metrics_interval_;
        }
    }
    const Counters& counters = raw;
    if (progress_ && size && *size > 0 && now >= next_progress_) {
        const double fraction = static_cast<double>(position) / static_cast<double>(*size);
        const double seconds = std::chrono::duration<double>(now - start_).count();
        const int width = 30;
        const int filled = static_cast<int>(fraction * width);
        std::string bar(static_cast<std::size_t>(filled), '#');
        bar.resize(width, '.');
        const double eta = fraction > 0 ? seconds * (1 - fraction) / fraction : 0;
        const double rate = static_cast<double>(counters.records_in) / (seconds > 0 ? seconds : 1);
        std::fprintf(stderr, "\r%s [%s] %3.0f%% %.1f MB/s %llu records (%.0f/s)%s%s, ETA %.0fs\033[K",
                     tool_.c_str(), bar.c_str(), fraction * 100,
                     static_cast<double>(position) / 1e6 / (seconds > 0 ? seconds : 1),
                     static_cast<unsigned long long>(counters.records_in), rate, note_.empty() ? "" : " ",
                     note_.c_str(), eta);
        progress_shown_ = true;
        next_progress_ = now + std::chrono::milliseconds(200);
    }
}

void StatsReporter::finish(const Counters& raw) {
    if (progress_shown_) std::fputs("\r\033[K", stderr);
    progress_shown_ = false;
    const Counters counters = refreshed(raw);
    if (final_line_) std::fprintf(stderr, "%s\n", json_line(counters, true).c_str());
    write_metrics(counters, true);
}

void StatsReporter::finish_metrics(const Counters& raw) {
    write_metrics(refreshed(raw), true);
}

} // namespace cep
