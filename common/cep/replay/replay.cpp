#include "cep/replay/replay.hpp"

#include "cep/control.hpp"
#include "cep/errors.hpp"
#include "cep/io/kafka_source.hpp"
#include "cep/io/record_source.hpp"
#include "cep/io/sink.hpp"
#include "cep/json_writer.hpp"
#include "cep/leading_field.hpp"
#include "cep/raw_prefilter.hpp"
#include "cep/record_parser.hpp"
#include "cep/replay/files.hpp"
#include "cep/replay/follow.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <simdjson.h>
#include <sys/stat.h>
#include <thread>

namespace cep::replay {

std::optional<Timestamp> parse_time_bound(std::string_view text) {
    std::int64_t ms = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), ms);
    if (error == std::errc() && end == text.data() + text.size() && !text.empty()) {
        if (ms > max_timestamp / nanos_per_milli || ms < min_timestamp / nanos_per_milli) return std::nullopt;
        return ms * nanos_per_milli;
    }
    return parse_rfc3339(text);
}

std::optional<double> parse_speed(std::string_view text) {
    if (text == "max") return 0.0;
    if (!text.ends_with('x') && !text.ends_with('X')) return std::nullopt;
    text.remove_suffix(1);
    double factor = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), factor);
    if (error != std::errc() || end != text.data() + text.size() || !(factor > 0) || !std::isfinite(factor))
        return std::nullopt;
    return factor;
}

namespace {

enum class Next { record, idle, end };

/// What every input shares while it reads: where errors go, what is counted, the range.
struct ReadContext {
    Diagnostics& diagnostics;
    Counters& counters;
    ReplayStats& stats;
    const ReplayOptions& options;
};

/// One input: its lines parsed in blocks (simdjson's first stage once per block), only the
/// event-time field decoded. The current record's bytes point into the source's buffer and
/// stay valid until next() is called again.
class Stream {
  public:
    Stream(std::unique_ptr<io::RecordSource> source, const ReplayOptions& options, std::size_t index)
        : source_(std::move(source)), time_(options.time, schema_), parser_(schema_, options.strict),
          index_(index) {
        // The fast path reads a leading time field from the bytes (see leading_field.hpp): for a
        // top-level name, when only that slot exists, and not with --strict.
        const auto key = leading_key(time_.path_text());
        if (key) leading_key_ = *key;
        fast_ = !options.strict && !time_.from_source() && schema_.slot_count() == 1 && key.has_value();
        fast_slots_.resize(schema_.slot_count());
    }

    Next next(ReadContext& context, int timeout_ms = -1) {
        const ReplayOptions& options = context.options;
        for (;;) {
            if (rest_.empty()) {
                if (have_block_ && !meta_) source_->lines_consumed(line_ - block_.first_line);
                have_block_ = false;
                switch (source_->next_block(block_, timeout_ms)) {
                case io::RecordSource::Status::end:
                    return Next::end;
                case io::RecordSource::Status::idle:
                    return Next::idle;
                case io::RecordSource::Status::source_error:
                    context.diagnostics.input_error(source_->name(), source_->error());
                    return Next::end;
                case io::RecordSource::Status::bad_record:
                    ++context.counters.records_in;
                    context.diagnostics.data_error(block_.origin, 0, block_.reason, block_.text);
                    continue;
                case io::RecordSource::Status::block:
                    break;
                }
                have_block_ = true;
                rest_ = block_.text;
                line_ = block_.first_line;
                meta_ = !block_.lines.empty();
                meta_index_ = 0;
                batch_started_ = false;
            }
            const std::size_t newline = rest_.find('\n');
            std::string_view text = rest_.substr(0, newline);
            rest_.remove_prefix(newline == std::string_view::npos ? rest_.size() : newline + 1);
            Origin origin{source_->name(), line_++};
            std::optional<Timestamp> source_time;
            if (meta_) {
                const io::LineMeta& line = block_.lines[meta_index_++];
                origin = Origin{line.source, line.line};
                if (line.time_ms) source_time = *line.time_ms * nanos_per_milli;
            }
            if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
            if (text.find_first_not_of(" \t") == std::string_view::npos) continue;
            // Control records of an archived cep pipe are not records.
            if (is_control(text) && parse_control(text)) {
                if (batch_started_) parser_.skip_in_batch(text);
                continue;
            }
            ++context.counters.records_in;
            if (text.size() > options.max_line_bytes) {
                if (batch_started_) parser_.skip_in_batch(text);
                context.diagnostics.data_error(origin, 0, io::too_long_reason(options.max_line_bytes),
                                               text.substr(0, 1024));
                continue;
            }
            std::optional<Timestamp> time;
            bool fast = false;
            if (fast_ && !batch_started_ && RawPrefilter::outlined(text)) {
                if (auto value = leading_field(text, leading_key_)) {
                    fast_slots_[0] = *value;
                    time = time_.extract(Record{text, fast_slots_, origin, source_time}, reason_);
                    fast = true;
                }
            }
            if (!fast) {
                if (!batch_started_) {
                    // The first line the fast path cannot take: simdjson's first stage runs once
                    // over the rest of the block, and its lines are parsed from there on.
                    const char* block_end = block_.text.data() + block_.text.size();
                    parser_.begin_batch(
                        std::string_view(text.data(), static_cast<std::size_t>(block_end - text.data())));
                    batch_started_ = true;
                }
                if (!parser_.parse_in_batch(text, failure_)) {
                    context.diagnostics.data_error(origin, failure_.column, failure_.reason, text);
                    continue;
                }
                time = time_.extract(Record{text, parser_.slots(), origin, source_time}, reason_);
            }
            if (!time) {
                context.diagnostics.data_error(origin, 0, reason_, text);
                continue;
            }
            if (options.from && *time < *options.from) {
                ++context.stats.out_of_range;
                continue;
            }
            if (options.until && *time >= *options.until) {
                ++context.stats.out_of_range;
                // The input is sorted to within --max-delay: nothing in range can follow.
                if (*time - options.time.max_delay >= *options.until) {
                    if (records_ == 0) skipped_ = true;
                    return Next::end;
                }
                continue;
            }
            ++records_;
            time_now_ = *time;
            raw_ = text;
            origin_ = origin;
            return Next::record;
        }
    }

    Timestamp time() const { return time_now_; }
    std::string_view raw() const { return raw_; }
    const Origin& origin() const { return origin_; }
    std::size_t index() const { return index_; }
    /// True when the first record read already lay past --until: the file held nothing for us.
    bool skipped() const { return skipped_; }
    io::RecordSource& source() { return *source_; }

  private:
    std::unique_ptr<io::RecordSource> source_;
    Schema schema_; // only the time path: nothing else is decoded
    TimeExtractor time_;
    RecordParser parser_;
    std::size_t index_;

    io::Block block_;
    bool have_block_ = false, meta_ = false;
    bool fast_ = false, batch_started_ = false;
    std::string leading_key_; // owned: Streams move
    std::vector<Value> fast_slots_;
    std::size_t meta_index_ = 0;
    std::string_view rest_;
    std::uint64_t line_ = 0;
    ParseFailure failure_;
    std::string reason_;

    Timestamp time_now_ = 0;
    std::string_view raw_;
    Origin origin_;
    std::uint64_t records_ = 0;
    bool skipped_ = false;
};

/// An input not yet opened. Inputs whose names say they start later are opened only when the
/// merge gets there, so a year of hourly files is not 8760 open files.
struct Pending {
    std::string spec;
    std::size_t index = 0;
    Timestamp opens_at = min_timestamp; ///< the earliest event time it may hold (name - max_delay)
    std::optional<NameRange> range;
};

/// A record held by the reorder buffer, ordered by (time, arrival).
struct Held {
    Timestamp time;
    std::uint64_t seq;
    std::string raw;
    bool operator>(const Held& other) const {
        return time != other.time ? time > other.time : seq > other.seq;
    }
};

Timestamp saturating_sub(Timestamp a, Duration b) {
    return a < min_timestamp + b ? min_timestamp : a - b;
}
Timestamp saturating_add(Timestamp a, Duration b) {
    return a > max_timestamp - b ? max_timestamp : a + b;
}

} // namespace

struct Replayer::Impl {
    Impl(const ReplayOptions& options, Emitter& out, std::function<void()> flush, Diagnostics& diagnostics,
         Counters& counters, StatsReporter& reporter)
        : options(options), out(out), flush(std::move(flush)), diagnostics(diagnostics), counters(counters),
          reporter(reporter), context{diagnostics, counters, stats, options},
          tracker(options.time.max_delay) {
        if (!options.time.late_output.empty()) late_sink = io::open_sink(options.time.late_output);
        track_boundary = !options.follow.empty() || !options.then.empty();
    }

    const ReplayOptions& options;
    Emitter& out;
    std::function<void()> flush;
    Diagnostics& diagnostics;
    Counters& counters;
    StatsReporter& reporter;
    ReplayStats stats;
    ReadContext context;

    // The merge.
    std::vector<Pending> pending;
    std::size_t next_pending = 0;
    std::vector<std::unique_ptr<Stream>> open; // owned; the heap points into them
    std::vector<Stream*> heap;
    std::uint64_t done_bytes = 0;
    std::optional<std::uint64_t> total_bytes = 0;

    // Ordering and lateness.
    WatermarkTracker tracker;
    std::vector<Held> held; // a min-heap by (time, seq)
    std::uint64_t seq = 0;
    Timestamp last_emitted = min_timestamp;
    std::unique_ptr<io::RecordSink> late_sink;
    std::string late_json;

    // Where the archive ended, for --follow and --then: the lines emitted at its last time.
    bool track_boundary = false;
    bool live = false; // reading --follow / --then: the boundary is fixed
    std::vector<std::string> boundary;

    // Pacing.
    std::optional<std::chrono::steady_clock::time_point> pace_start;
    Timestamp pace_t0 = 0;

    std::uint64_t ticks = 0;

    static bool stream_after(const Stream* a, const Stream* b) {
        return a->time() != b->time() ? a->time() > b->time() : a->index() > b->index();
    }

    void list_inputs() {
        std::vector<std::string> inputs = options.inputs;
        if (inputs.empty()) inputs.emplace_back("-");
        for (const auto& spec : inputs) {
            std::vector<std::string> files;
            struct stat st {};
            if (spec != "-" && !io::is_kafka_spec(spec) && ::stat(spec.c_str(), &st) == 0 &&
                S_ISDIR(st.st_mode)) {
                try {
                    files = list_archive(spec);
                } catch (const RuntimeError& e) {
                    diagnostics.input_error(spec, e.what());
                    continue;
                }
                if (files.empty())
                    diagnostics.warn(spec + ": no *.ndjson, *.jsonl or *.json files (.zst or not)");
            } else {
                files.push_back(spec);
            }
            for (auto& file : files) {
                Pending p{std::move(file), pending.size(), min_timestamp, std::nullopt};
                if (p.spec == "-" || io::is_kafka_spec(p.spec)) {
                    total_bytes.reset();
                } else {
                    p.range = name_range(p.spec);
                    if (p.range) p.opens_at = saturating_sub(p.range->start, options.time.max_delay);
                    struct stat fst {};
                    if (total_bytes && ::stat(p.spec.c_str(), &fst) == 0 && S_ISREG(fst.st_mode))
                        *total_bytes += static_cast<std::uint64_t>(fst.st_size);
                }
                pending.push_back(std::move(p));
            }
        }
        std::stable_sort(pending.begin(), pending.end(),
                         [](const Pending& a, const Pending& b) { return a.opens_at < b.opens_at; });
    }

    /// Whether --from/--until exclude the file by its name or its last line.
    bool out_of_range(const Pending& p) {
        if (!options.from && !options.until) return false;
        const Duration delay = options.time.max_delay;
        if (p.range) {
            if (options.until && saturating_sub(p.range->start, delay) >= *options.until) return true;
            if (options.from && p.range->end && saturating_add(*p.range->end, delay) <= *options.from)
                return true;
        }
        if (!options.from || p.spec == "-" || io::is_kafka_spec(p.spec)) return false;
        // A plain file can be read from its end: its last record shows whether it reaches --from.
        const auto line = last_line(p.spec);
        if (!line) return false;
        if (const auto time = probe_time(*line)) return saturating_add(*time, delay) < *options.from;
        return false;
    }

    std::optional<Timestamp> probe_time(const std::string& line) {
        Schema schema;
        TimeExtractor extractor(options.time, schema);
        RecordParser parser(schema);
        std::string padded = line;
        padded.reserve(line.size() + simdjson::SIMDJSON_PADDING);
        padded.append(simdjson::SIMDJSON_PADDING, ' ');
        const std::string_view text(padded.data(), line.size());
        ParseFailure failure;
        if (!parser.parse(text, failure)) return std::nullopt;
        std::string reason;
        return extractor.extract(Record{text, parser.slots(), Origin{}}, reason);
    }

    std::unique_ptr<io::RecordSource> open_source(const std::string& spec) {
        if (io::is_kafka_spec(spec))
            return io::open_kafka_source(io::resolve_kafka_endpoint(spec, options.kafka),
                                         options.max_line_bytes);
        return std::make_unique<io::LineRecordSource>(io::open_byte_source(spec), options.max_line_bytes);
    }

    /// Opens one pending input and puts its first record on the heap.
    void open_next() {
        const Pending& p = pending[next_pending++];
        if (out_of_range(p)) {
            ++stats.files_skipped;
            return;
        }
        std::unique_ptr<io::RecordSource> source;
        try {
            source = open_source(p.spec);
        } catch (const RuntimeError& e) {
            diagnostics.input_error(p.spec, e.what());
            return;
        }
        auto stream = std::make_unique<Stream>(std::move(source), options, p.index);
        if (stream->next(context) == Next::record) {
            ++stats.files;
            heap.push_back(stream.get());
            std::push_heap(heap.begin(), heap.end(), stream_after);
            open.push_back(std::move(stream));
        } else {
            ++(stream->skipped() ? stats.files_skipped : stats.files);
            done_bytes += stream->source().position();
        }
    }

    void close_stream(Stream* stream) {
        done_bytes += stream->source().position();
        if (stream->skipped()) { // cannot happen after a first record; kept for clarity
            --stats.files;
            ++stats.files_skipped;
        }
        std::erase_if(open, [stream](const auto& owned) { return owned.get() == stream; });
    }

    void merge() {
        for (;;) {
            if (io::stop_requested()) return;
            while (next_pending < pending.size() &&
                   (heap.empty() || pending[next_pending].opens_at <= heap.front()->time()))
                open_next();
            if (heap.empty()) return;
            std::pop_heap(heap.begin(), heap.end(), stream_after);
            Stream* stream = heap.back();
            heap.pop_back();
            // Take from this input while it stays before every other: a single sorted input,
            // or consecutive hourly files, cost one comparison per record.
            const Timestamp other = heap.empty() ? max_timestamp : heap.front()->time();
            const std::size_t other_index = heap.empty() ? 0 : heap.front()->index();
            const Timestamp opens =
                next_pending < pending.size() ? pending[next_pending].opens_at : max_timestamp;
            bool more = true;
            for (;;) {
                offer(stream->time(), stream->raw(), stream->origin());
                if (++ticks % 4096 == 0) progress();
                if (stream->next(context) != Next::record) {
                    more = false;
                    break;
                }
                const Timestamp t = stream->time();
                if (t > other || (t == other && stream->index() > other_index) || t >= opens) break;
            }
            if (more) {
                heap.push_back(stream);
                std::push_heap(heap.begin(), heap.end(), stream_after);
            } else {
                close_stream(stream);
            }
        }
    }

    void progress() {
        std::uint64_t position = done_bytes;
        for (const auto& stream : open)
            position += stream->source().position();
        if (last_emitted != min_timestamp)
            reporter.set_note("at " + format_rfc3339(last_emitted, TimeStyle{0}));
        counters.late = stats.late;
        reporter.poll(counters, position, total_bytes);
    }

    /// Takes a record in merged order; the reorder buffer (with --max-delay) puts it in place.
    void offer(Timestamp time, std::string_view raw, const Origin& origin) {
        if (time < last_emitted) {
            late(time, raw);
            return;
        }
        if (options.time.max_delay == 0) {
            deliver(time, raw, origin);
            return;
        }
        held.push_back(Held{time, seq++, std::string(raw)});
        std::push_heap(held.begin(), held.end(), std::greater<>());
        tracker.observe(time);
        release(tracker.watermark());
    }

    /// Emits every held record with time <= `watermark`, in order.
    void release(Timestamp watermark) {
        static const Origin buffered{"reorder buffer", 0};
        while (!held.empty() && held.front().time <= watermark) {
            std::pop_heap(held.begin(), held.end(), std::greater<>());
            Held record = std::move(held.back());
            held.pop_back();
            deliver(record.time, record.raw, buffered);
        }
    }

    void deliver(Timestamp time, std::string_view raw, const Origin& origin) {
        if (time < last_emitted) {
            late(time, raw);
            return;
        }
        if (options.speed > 0) pace(time);
        out.emit(Record{raw, {}, origin});
        if (time > last_emitted) {
            last_emitted = time;
            // Output is in order: nothing earlier than this record will follow it.
            out.watermark(time - 1);
            if (track_boundary) boundary.clear();
        }
        if (track_boundary && !live) boundary.emplace_back(raw);
    }

    void late(Timestamp time, std::string_view raw) {
        ++stats.late;
        if (!late_sink) return;
        late_json.clear();
        late_json += "{\"late_by_ms\":";
        append_json_millis(late_json, last_emitted - time);
        late_json += ",\"record\":";
        late_json += raw;
        late_json += '}';
        late_sink->write(late_json);
    }

    /// --speed: the record is due at start + (t - t0) / speed on the wall clock.
    void pace(Timestamp time) {
        using Clock = std::chrono::steady_clock;
        const auto now = Clock::now();
        if (!pace_start) {
            pace_start = now;
            pace_t0 = time;
            return;
        }
        const auto offset = std::chrono::nanoseconds(
            static_cast<std::int64_t>(std::llround(static_cast<double>(time - pace_t0) / options.speed)));
        const auto due = *pace_start + offset;
        if (due <= now + std::chrono::milliseconds(1)) return;
        // A live reader sees each record when it is due, not when a buffer fills.
        flush();
        // In slices, so that a stop request (SIGINT with --follow or Kafka) is noticed.
        while (Clock::now() < due && !io::stop_requested())
            std::this_thread::sleep_for(
                std::min<Clock::duration>(due - Clock::now(), std::chrono::milliseconds(200)));
    }

    /// Records of a live input already replayed from the archive are skipped: those before its
    /// last event time, and at that time the lines it emitted (each once).
    bool already_replayed(Timestamp time, std::string_view raw) {
        if (!track_boundary || last_emitted == min_timestamp) return false;
        if (time > last_emitted) {
            track_boundary = false; // past the boundary: the rest is new (or, if older, late)
            boundary.clear();
            return false;
        }
        if (time < last_emitted) return true;
        const auto it = std::find(boundary.begin(), boundary.end(), raw);
        if (it == boundary.end()) return false;
        boundary.erase(it);
        return true;
    }

    /// A live input after the archive: read until it ends or a stop is requested.
    void continue_with(Stream& stream) {
        for (;;) {
            if (io::stop_requested()) break;
            const Next next = stream.next(context, 100);
            if (next == Next::end) break;
            if (next == Next::idle) {
                flush();
            } else if (already_replayed(stream.time(), stream.raw())) {
                ++stats.already_replayed;
            } else {
                offer(stream.time(), stream.raw(), stream.origin());
                if (++ticks % 4096 == 0) progress();
            }
            if (stream.source().commit_due()) {
                flush();
                stream.source().commit();
            }
        }
        release(max_timestamp);
        flush();
        stream.source().close();
    }

    void run() {
        // SIGINT/SIGTERM end the replay as the end of the archive would (cep(7), SIGNALS).
        io::install_stop_handlers();
        list_inputs();
        merge();
        release(max_timestamp);
        if (io::stop_requested()) return;
        live = true;
        if (!options.follow.empty()) {
            Stream stream(std::make_unique<io::LineRecordSource>(open_follow_source(options.follow),
                                                                 options.max_line_bytes),
                          options, pending.size());
            continue_with(stream);
        } else if (!options.then.empty()) {
            io::KafkaEndpoint endpoint = io::resolve_kafka_endpoint(options.then, options.kafka);
            // Start at the archive's end by message timestamp, less the allowed disorder; the
            // records' own event times then decide what was already replayed.
            if (!endpoint.offsets.start && last_emitted != min_timestamp && endpoint.group.empty()) {
                Timestamp start = saturating_sub(last_emitted, options.time.max_delay);
                std::int64_t ms = start / nanos_per_milli;
                if (start % nanos_per_milli < 0) --ms;
                endpoint.offsets.start =
                    io::KafkaStart{io::KafkaStart::Kind::time, std::max<std::int64_t>(ms, 0)};
            }
            Stream stream(io::open_kafka_source(endpoint, options.max_line_bytes), options, pending.size());
            continue_with(stream);
        }
    }

    void finish() {
        if (late_sink) {
            late_sink->close();
        } else if (stats.late > 0) {
            diagnostics.warn(std::to_string(stats.late) + " late record" + (stats.late == 1 ? "" : "s") +
                             " dropped (keep them with --late FILE; a larger --max-delay reorders them)");
        }
    }
};

Replayer::Replayer(const ReplayOptions& options, Emitter& out, std::function<void()> flush,
                   Diagnostics& diagnostics, Counters& counters, StatsReporter& reporter)
    : impl_(std::make_unique<Impl>(options, out, std::move(flush), diagnostics, counters, reporter)) {}

Replayer::~Replayer() = default;

void Replayer::run() {
    impl_->run();
    impl_->finish();
}

const ReplayStats& Replayer::stats() const {
    return impl_->stats;
}

std::string Replayer::stats_fields() const {
    const ReplayStats& s = impl_->stats;
    std::string fields = "\"files\":" + std::to_string(s.files) +
                         ",\"files_skipped\":" + std::to_string(s.files_skipped) +
                         ",\"out_of_range\":" + std::to_string(s.out_of_range);
    if (!impl_->options.follow.empty() || !impl_->options.then.empty())
        fields += ",\"already_replayed\":" + std::to_string(s.already_replayed);
    return fields;
}

} // namespace cep::replay
