#include "cep/replay/archive.hpp"

#include "cep/errors.hpp"
#include "cep/json_writer.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <optional>
#include <string_view>
#include <unistd.h>
#include <vector>
#include <zstd.h>

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

/// fsync by name: fsync acts on the file (or directory), whichever descriptor names it, so
/// what a sink wrote through its own descriptor reaches the disk.
void sync_path(const std::string& path, bool directory) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | (directory ? O_DIRECTORY : 0));
    if (fd < 0) throw RuntimeError(path + ": cannot open to sync: " + std::strerror(errno));
    const int result = ::fsync(fd);
    const int error = errno;
    ::close(fd);
    if (result != 0) throw RuntimeError(path + ": fsync failed: " + std::strerror(error));
}

std::string parent_of(const std::string& path) {
    return std::filesystem::path(path).parent_path().string();
}

/// `PATH.PID.tmp` -> PATH and PID, for a PATH ending in .ndjson.zst; nullopt for other names.
std::optional<std::pair<std::string, pid_t>> parse_tmp_name(const std::string& name) {
    if (!name.ends_with(".tmp")) return std::nullopt;
    const std::string stem = name.substr(0, name.size() - 4);
    const auto dot = stem.rfind('.');
    if (dot == std::string::npos) return std::nullopt;
    pid_t pid = 0;
    const char* begin = stem.data() + dot + 1;
    const char* end = stem.data() + stem.size();
    const auto [at, ec] = std::from_chars(begin, end, pid);
    if (ec != std::errc() || at != end || pid <= 0) return std::nullopt;
    std::string path = stem.substr(0, dot);
    if (!path.ends_with(".ndjson.zst")) return std::nullopt;
    return std::pair{std::move(path), pid};
}

bool process_alive(pid_t pid) {
    return ::kill(pid, 0) == 0 || errno == EPERM;
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
    recover_orphans();
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
    for (auto& [start, part] : parts_)
        close(part);
    parts_.clear();
    if (late_sink_)
        late_sink_->close();
    else if (late_ > 0)
        std::fprintf(stderr, "cep-replay: %llu late record%s not archived (keep them with --late FILE)\n",
                     static_cast<unsigned long long>(late_), late_ == 1 ? "" : "s");
}

void Archive::sync() {
    // Each open file ends its current zstd block (what it holds so far can be decompressed) and
    // is fsynced: a crash after the commit that follows loses none of these records.
    for (auto& [start, part] : parts_) {
        part.sink->flush();
        sync_path(part.tmp, false);
    }
    if (late_sink_) late_sink_->flush();
}

std::string Archive::stats_fields() const {
    return "\"files_written\":" + std::to_string(files_written_) +
           ",\"files_open\":" + std::to_string(parts_.size());
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

std::string Archive::free_name(const std::string& path) {
    // Never over a file an earlier run wrote for the same period: 12.ndjson.zst, 12.1.ndjson.zst...
    std::string target = path;
    const std::string stem = path.substr(0, path.size() - std::string_view(".ndjson.zst").size());
    for (int n = 1; ::access(target.c_str(), F_OK) == 0; ++n)
        target = stem + '.' + std::to_string(n) + ".ndjson.zst";
    return target;
}

void Archive::close(Part& part) {
    part.sink->close(); // finishes the zstd frame; throws on a write error
    part.sink.reset();
    sync_path(part.tmp, false); // the data, then the name: a crash never leaves a torn final file
    const std::string target = free_name(part.path);
    if (std::rename(part.tmp.c_str(), target.c_str()) != 0)
        throw RuntimeError(part.tmp + ": cannot rename to " + target + ": " + std::strerror(errno));
    sync_path(parent_of(target), true);
    ++files_written_;
}

void Archive::recover_orphans() {
    // `.tmp` files of archivers that are no longer running (killed, crashed): their records may
    // have been committed (sync() flushed them), so they become archive files now.
    std::vector<std::pair<std::string, std::string>> orphans; // .tmp, final path
    std::error_code error;
    for (auto it = std::filesystem::recursive_directory_iterator(options_.dir, error);
         !error && it != std::filesystem::recursive_directory_iterator(); it.increment(error)) {
        std::error_code gone; // a file removed meanwhile (another run recovering it) is skipped
        if (!it->is_regular_file(gone)) continue;
        const std::string name = it->path().string();
        const auto parsed = parse_tmp_name(name);
        if (!parsed || parsed->second == ::getpid() || process_alive(parsed->second)) continue;
        orphans.emplace_back(name, parsed->first);
    }
    if (error) throw RuntimeError(options_.dir + ": cannot list the archive directory: " + error.message());
    std::sort(orphans.begin(), orphans.end());
    for (const auto& [tmp, path] : orphans)
        recover(tmp, path);
}

void Archive::recover(const std::string& tmp, const std::string& path) {
    // The file is a zstd frame cut short: complete blocks up to its last flush, perhaps a torn
    // block after that. Everything that decompresses is kept, up to the last whole line.
    const int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw RuntimeError(tmp + ": cannot open to recover it: " + std::strerror(errno));
    ZSTD_DStream* zstd = ZSTD_createDStream();
    std::vector<char> in(ZSTD_DStreamInSize()), out(ZSTD_DStreamOutSize());
    std::string text;
    bool torn = false;
    for (;;) {
        const ssize_t got = ::read(fd, in.data(), in.size());
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        ZSTD_inBuffer input{in.data(), static_cast<std::size_t>(got), 0};
        // Until the input is used up and the decoder has no more output for it (a full output
        // buffer may mean more is pending).
        for (;;) {
            ZSTD_outBuffer output{out.data(), out.size(), 0};
            if (ZSTD_isError(ZSTD_decompressStream(zstd, &output, &input))) {
                torn = true;
                break;
            }
            text.append(out.data(), output.pos);
            if (input.pos == input.size && output.pos < output.size) break;
        }
        if (torn) break;
    }
    ZSTD_freeDStream(zstd);
    ::close(fd);
    text.resize(text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1);

    std::uint64_t records = 0;
    std::string target;
    if (!text.empty()) {
        const std::string ours = path + '.' + std::to_string(::getpid()) + ".tmp";
        auto sink = io::open_file_sink(ours, true);
        std::string_view rest = text;
        while (!rest.empty()) {
            const std::size_t newline = rest.find('\n');
            sink->write(rest.substr(0, newline));
            rest.remove_prefix(newline + 1);
            ++records;
        }
        sink->close();
        sink.reset();
        sync_path(ours, false);
        target = free_name(path);
        if (std::rename(ours.c_str(), target.c_str()) != 0)
            throw RuntimeError(ours + ": cannot rename to " + target + ": " + std::strerror(errno));
        ++files_written_;
    }
    if (::unlink(tmp.c_str()) != 0 && errno != ENOENT)
        throw RuntimeError(tmp + ": cannot remove it after recovering it: " + std::strerror(errno));
    sync_path(parent_of(path), true);
    if (records > 0)
        std::fprintf(stderr, "cep-replay: recovered %llu record%s of a stopped archiver from %s into %s\n",
                     static_cast<unsigned long long>(records), records == 1 ? "" : "s", tmp.c_str(),
                     target.c_str());
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
