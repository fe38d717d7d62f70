#include "cep/stats.hpp"

#include <cstdio>

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

void StatsReporter::tick_slow(const Counters& counters, std::uint64_t position,
                              std::optional<std::uint64_t> size) {
    const auto now = Clock::now();
    if (interval_ && now >= next_stats_) {
        if (progress_shown_) std::fputs("\r\033[K", stderr);
        std::fprintf(stderr, "%s\n", json_line(counters, false).c_str());
        next_stats_ = now + *interval_;
    }
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

void StatsReporter::finish(const Counters& counters) {
    if (progress_shown_) std::fputs("\r\033[K", stderr);
    progress_shown_ = false;
    if (final_line_) std::fprintf(stderr, "%s\n", json_line(counters, true).c_str());
}

} // namespace cep
