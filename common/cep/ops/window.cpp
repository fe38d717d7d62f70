#include "cep/ops/window.hpp"

#include "cep/agg/binary.hpp"
#include "cep/agg/hash.hpp"
#include "cep/errors.hpp"
#include "cep/json_writer.hpp"

#include <cstdio>
#include <istream>
#include <iterator>
#include <ostream>

namespace cep::ops {
namespace {

constexpr std::string_view snapshot_magic = "cep-window/1\n";

std::unique_ptr<agg::AggregateSet> make_aggregates(const std::string& spec, Schema& schema) {
    if (spec.empty()) return nullptr;
    return std::make_unique<agg::AggregateSet>(spec, schema);
}

/// What a snapshot must agree on with the operator it is restored into.
std::string fingerprint(const WindowOptions& options, const agg::AggregateSet* aggs) {
    const window::WindowSpec& s = options.spec;
    std::string text = "kind=" + std::to_string(static_cast<int>(s.kind)) +
                       " size=" + std::to_string(s.size) + " slide=" + std::to_string(s.slide) +
                       " gap=" + std::to_string(s.gap) + " count=" + std::to_string(s.count) +
                       " every=" + std::to_string(s.every) + " lateness=" + std::to_string(s.lateness) +
                       " emit=" + std::to_string(static_cast<int>(s.emit)) +
                       " collect=" + std::to_string(s.collect) + " keys=";
    for (const Path& path : options.keys)
        text += path.to_string() + ",";
    text += " agg=" + (aggs != nullptr ? aggs->canonical() : std::string());
    return text;
}

/// The slot of the event-time field; `--time @kafka` (any `@` name) reads no field.
std::optional<Slot> time_field(const TimeOptions& time, Schema& schema) {
    if (time.path.starts_with('@')) return std::nullopt;
    return schema.add(time.path);
}

Timestamp saturating_add(Timestamp t, Duration d) {
    Timestamp r;
    if (!__builtin_add_overflow(t, d, &r)) return r;
    return d > 0 ? max_timestamp : min_timestamp;
}

} // namespace

Window::Window(WindowOptions options, Schema& schema)
    : options_(std::move(options)), schema_(schema), time_(options_.time, schema),
      time_slot_(time_field(options_.time, schema)), tracker_(options_.time.max_delay),
      aggs_(make_aggregates(options_.aggregates, schema)),
      writer_(options_.keys, aggs_.get(), options_.spec.collect, time_) {
    if (!options_.keys.empty()) {
        keys_.emplace(options_.keys, schema);
        if (options_.keys.size() == 1) single_key_slot_ = schema.add(options_.keys[0]);
    }
    const window::EngineContext context{options_.spec, aggs_.get(), *this, options_.keys.size() > 1};
    switch (options_.spec.kind) {
    case window::WindowKind::tumbling:
    case window::WindowKind::sliding:
        engine_ = window::make_time_windows(context);
        break;
    case window::WindowKind::session:
        engine_ = window::make_session_windows(context);
        break;
    case window::WindowKind::count:
        engine_ = window::make_count_windows(context);
        break;
    }
    if (!options_.time.late_output.empty()) late_sink_ = io::open_sink(options_.time.late_output);
}

Window::~Window() = default;

void Window::push(const Record& record, Emitter& out) {
    out_ = &out;
    window::KeyRef key;
    if (keys_) {
        key.bytes = keys_->key(record, key_buffer_);
        key.is_string = single_key_slot_ && record[*single_key_slot_].kind == Kind::string;
    }
    key.hash = agg::hash_bytes(key.bytes);
    // The key's slot in the window's table is most likely a cache miss: start loading it now,
    // and parse the time while it arrives.
    engine_->prefetch(key);

    std::optional<Timestamp> time;
    // Count windows do not need a time; they report the times of the records that have one.
    if (options_.spec.event_time() || !time_slot_ || !record[*time_slot_].is_missing()) {
        time = time_.extract(record, reason_);
        if (!time) {
            out.reject(record, reason_);
            return;
        }
        if (time_sample_.empty()) note_time_style(record);
    }

    origin_ = record.origin;
    if (!engine_->add(record, time, key, tracker_.watermark())) late(record, *time);
    // The record is assigned under the watermark from before it, then moves it (as Flink's
    // per-record watermark generation would).
    if (options_.spec.event_time() && tracker_.observe(*time)) advance(out);
}

void Window::advance(Emitter& out) {
    out_ = &out;
    origin_ = {"watermark", 0};
    engine_->advance(tracker_.watermark());
    out.watermark(tracker_.watermark());
}

void Window::on_watermark(Timestamp watermark, Emitter& out) {
    // Count windows do not run on event time: nothing to fire, and our results carry no
    // promise about the times of later ones, so the watermark stops here.
    if (!options_.spec.event_time()) return;
    if (tracker_.advance_to(watermark)) advance(out);
}

void Window::on_progress(Timestamp time, Emitter& out) {
    if (!options_.spec.event_time()) return;
    if (tracker_.observe(time)) advance(out);
}

void Window::on_idle(Duration idle_for, Emitter& out) {
    if (!options_.spec.event_time() || tracker_.max_seen() == min_timestamp) return;
    // Event time is taken to keep pace with the wall clock while the input is silent: the
    // watermark becomes what it would be had a record with time max_seen + idle_for arrived.
    const Timestamp assumed = saturating_add(tracker_.max_seen(), idle_for);
    if (tracker_.advance_to(saturating_add(assumed, -options_.time.max_delay - 1))) advance(out);
}

void Window::finish(Emitter& out) {
    out_ = &out;
    origin_ = {"end of input", 0};
    engine_->finish();
    if (late_sink_)
        late_sink_->close();
    else if (late_ > 0)
        std::fprintf(stderr, "cep-window: %llu late record%s dropped (keep them with --late FILE)\n",
                     static_cast<unsigned long long>(late_), late_ == 1 ? "" : "s");
}

void Window::late(const Record& record, Timestamp time) {
    ++late_;
    if (!late_sink_) return;
    const Timestamp watermark = tracker_.watermark();
    json_.clear();
    // How far the record is behind the watermark, counted from the first instant the watermark
    // has not yet passed (watermark + 1ns): whole milliseconds for millisecond inputs.
    json_ += "{\"late_by_ms\":";
    append_json_millis(json_, watermark - time + 1);
    json_ += ",\"watermark\":";
    // Watermarks end in ...999999ns; shown to the millisecond, in the input's time format.
    Timestamp shown = watermark - watermark % nanos_per_milli;
    if (watermark % nanos_per_milli < 0) shown -= nanos_per_milli;
    time_.append_json(json_, shown);
    json_ += ",\"record\":";
    json_ += record.raw;
    json_ += '}';
    late_sink_->write(json_);
}

void Window::result(const window::Result& result) {
    json_.clear();
    writer_.append(json_, result);
    out_->emit_new(json_, origin_, Route{result.key.bytes, std::nullopt});
}

std::string Window::window_json(const window::Bounds& bounds) {
    std::string json;
    writer_.append_window(json, bounds);
    return json;
}

void Window::note_time_style(const Record& record) {
    const Value value = time_slot_ ? record[*time_slot_] : Value::of_int(0);
    time_sample_.assign(1, value.kind == Kind::string ? 's' : 'n');
    if (value.kind == Kind::string) time_sample_ += value.text;
}

void Window::snapshot(std::ostream& out) const {
    std::string bytes(snapshot_magic);
    agg::ByteWriter writer(bytes);
    writer.bytes(fingerprint(options_, aggs_.get()));
    writer.svarint(tracker_.max_seen());
    writer.svarint(tracker_.watermark());
    writer.varint(late_);
    writer.bytes(time_sample_);
    writer.varint(aggs_ ? aggs_->sequence() : 0);
    engine_->snapshot(writer);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw RuntimeError("cannot write the window snapshot");
}

void Window::restore(std::istream& in) {
    const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    if (!bytes.starts_with(snapshot_magic)) throw RuntimeError("not a cep-window snapshot");
    agg::ByteReader reader(std::string_view(bytes).substr(snapshot_magic.size()));
    if (reader.bytes() != fingerprint(options_, aggs_.get()))
        throw RuntimeError("the snapshot was taken with other window options");
    const Timestamp max_seen = reader.svarint();
    const Timestamp watermark = reader.svarint();
    tracker_ = WatermarkTracker(options_.time.max_delay);
    tracker_.observe(max_seen);
    tracker_.advance_to(watermark);
    late_ = reader.varint();
    time_sample_ = reader.bytes();
    if (!time_sample_.empty()) {
        // Replays the first time seen, so times are written in the input's format again.
        std::vector<Value> slots(schema_.slot_count());
        if (time_slot_)
            slots[*time_slot_] = time_sample_[0] == 's'
                                     ? Value::of_string(std::string_view(time_sample_).substr(1))
                                     : Value::of_int(0);
        time_.extract(Record{{}, slots, {}}, reason_);
    }
    const std::uint64_t sequence = reader.varint();
    if (aggs_) aggs_->set_sequence(sequence);
    engine_->restore(reader);
    if (!reader.done()) throw RuntimeError("corrupt window snapshot: trailing bytes");
}

} // namespace cep::ops
