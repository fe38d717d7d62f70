#include "cep/replay/archive.hpp"

#include "cep/errors.hpp"
#include "cep/json_writer.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string_view>
#include <unistd.h>

namespace cep::replay {
namespace {

constexpr Duration minute = 60 * nanos_per_second;
constexpr Duration hour = 60 * minute;
constexpr Duration day = 24 * hour;

Timestamp floor_to(Timestamp time, Duration every) {
    Timestamp start = time - time % every;
    if (time % every < 0) start -= every;
    return start;
}

} // namespace

std::optional<std::string> check_archive_every(Duration every) {
    if (every <= 0 || every % minute != 0 || day % every != 0)
        return "must be a whole number of minutes that divides a day (10m, 1h, 6h, 1d)";
    return std::nullopt;
}

std::string archive_path(Timestamp start, Duration every) {
    // Zero-padded fields sort in time order, and cep-replay reads the date back from the name.
    const std::string text = format_rfc3339(start, TimeStyle{0}); // 2026-11-01T12:34:00Z
    const std::string date = text.substr(0, 4) + '/' + text.substr(5, 2) + '/' + text.substr(8, 2);
    if (every == day) return date + ".ndjson.zst";
    if (every == hour) return date + '/' + text.substr(11, 2) + ".ndjson.zst";
    // Names with minutes promise only a start (their width is not in the name).
    return date + '/' + text.substr(11, 2) + '/' + text.substr(14, 2) + ".ndjson.zst";
}

Archive::Archive(ArchiveOptions options, Schema& schema)
    : options_(std::move(options)), time_(options_.time, schema), tracker_(options_.time.max_delay) {
    std::error_code error;
    std::filesystem::create_directories(options_.dir, error);
    if (error) throw RuntimeError(options_.dir + ": cannot create the archive directory: " + error.message());
    if (!options_.time.late_output.empty()) late_sink_ = io::open_sink(options_.time.late_output);
}

Archive::~Archive() = default;

void Archive::push(const Record& record, Emitter& out) {
    const auto time = time_.extract(record, reason_);
    if (!time) {
        out.reject(record, reason_);
        return;
    }
    const Timestamp start = floor_to(*time, options_.every);
    // A period whose file was closed cannot take more: that record is late.
    if (start < closed_before_) {
        late(record, *time);
        return;
    }
    Part& part = part_for(start);
    part.sink->write(record.raw);
    ++part.records;
    if (tracker_.observe(*time)) close_due();
}

void Archive::on_watermark(Timestamp watermark, Emitter&) {
    if (tracker_.advance_to(watermark)) close_due();
}

void Archive::on_progress(Timestamp time, Emitter&) {
    if (tracker_.observe(time)) close_due();
}

void Archive::on_idle(Duration idle_for, Emitter&) {
    if (tracker_.max_seen() == min_timestamp) return;
    // As cep-window: event time is taken to keep pace with the wall clock while input is silent.
    const Timestamp assumed = tracker_.max_seen() + idle_for;
    if (tracker_.advance_to(assumed - options_.time.max_delay - 1)) close_due();
}

void Archive::finish(Emitter&) {
    for (auto& [start, part] : parts_) close(part);
    parts_.clear();
    if (late_sink_)
        late_sink_->close();
    else if (late_ > 0)
        std::fprintf(stderr, "cep-replay: %llu late record%s not archived (keep them with --late FILE)\n",
                     static_cast<unsigned long long>(late_), late_ == 1 ? "" : "s");
}

std::string Archive::stats_fields() const {
    return "\"files_written\":" + std::to_string(files_written_) + ",\"files_open\":" + std::to_string(parts_.size());
}

Archive::Part& Archive::part_for(Timestamp start) {
    auto it = parts_.find(start);
    if (it != parts_.end()) return it->second;
    Part part;
    part.path = options_.dir + '/' + archive_path(start, options_.every);
    // Written under a name no reader takes (`*.tmp`, unique to this process), renamed on close.
    part.tmp = part.path + '.' + std::to_string(::getpid()) + ".tmp";
    std::error_code error;
    std::filesystem::create_directories(std::filesystem::path(part.path).parent_path(), error);
    if (error) throw RuntimeError(part.path + ": cannot create its directory: " + error.message());
    part.sink = io::open_file_sink(part.tmp, true);
    return parts_.emplace(start, std::move(part)).first->second;
}

void Archive::close_due() {
    // A period [start, start + every) is complete once the watermark reaches its last instant.
    const Timestamp watermark = tracker_.watermark();
    if (watermark == min_timestamp) return;
    const Timestamp before = floor_to(watermark + 1, options_.every);
    if (before > closed_before_) closed_before_ = before;
    while (!parts_.empty() && parts_.begin()->first < closed_before_) {
        close(parts_.begin()->second);
        parts_.erase(parts_.begin());
    }
}

void Archive::close(Part& part) {
    part.sink->close(); // finishes the zstd frame; throws on a write error
    part.sink.reset();
    // Never over a file an earlier run wrote for the same period: 12.ndjson.zst, 12.1.ndjson.zst...
    std::string target = part.path;
    const std::string stem = part.path.substr(0, part.path.size() - std::string_view(".ndjson.zst").size());
    for (int n = 1; ::access(target.c_str(), F_OK) == 0; ++n) target = stem + '.' + std::to_string(n) + ".ndjson.zst";
    if (std::rename(part.tmp.c_str(), target.c_str()) != 0)
        throw RuntimeError(part.tmp + ": cannot rename to " + target + ": " + std::strerror(errno));
    ++files_written_;
}

void Archive::late(const Record& record, Timestamp time) {
    ++late_;
    if (!late_sink_) return;
    json_.clear();
    json_ += "{\"late_by_ms\":";
    append_json_millis(json_, closed_before_ - time);
    json_ += ",\"record\":";
    json_ += record.raw;
    json_ += '}';
    late_sink_->write(json_);
}

} // namespace cep::replay
