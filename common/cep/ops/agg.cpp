#include "cep/ops/agg.hpp"

#include "cep/agg/binary.hpp"
#include "cep/agg/value_key.hpp"
#include "cep/errors.hpp"
#include "cep/json_writer.hpp"

#include <algorithm>
#include <cstdio>
#include <istream>
#include <iterator>
#include <limits>
#include <ostream>

namespace cep::ops {
namespace {

constexpr std::string_view snapshot_magic = "cep-agg/1\n";

Timestamp saturating_add(Timestamp a, Duration b) {
    Timestamp out = 0;
    if (__builtin_add_overflow(a, b, &out)) return b > 0 ? max_timestamp : min_timestamp;
    return out;
}

/// Start of the tumbling period holding `time`: periods are aligned to the Unix epoch.
Timestamp period_start(Timestamp time, Duration every) {
    Timestamp rest = time % every;
    if (rest < 0) rest += every;
    return time - rest;
}

/// Byte length of the first `fields` encoded values of `key`.
std::size_t prefix_length(std::string_view key, std::size_t fields) {
    std::size_t pos = 0;
    for (std::size_t i = 0; i < fields && pos < key.size(); ++i)
        agg::read_value_key(key, pos);
    return pos;
}

} // namespace

AggOperator::AggOperator(AggConfig config, Schema& schema)
    : config_(std::move(config)), groups_(config_.group_by, schema), tracker_(config_.time.max_delay) {
    if (config_.merge && config_.every) throw UsageError("--every cannot be used with --merge");
    if (config_.rollup && config_.sketches)
        throw UsageError(
            "--rollup cannot be used with --sketches: write detail rows with --sketches, and roll up "
            "when merging (cep-agg --merge --rollup)");
    if (config_.rollup && config_.group_by.empty()) throw UsageError("--rollup needs group fields (-g)");
    if (config_.every && *config_.every <= 0) throw UsageError("--every needs a positive duration");
    if (!config_.every &&
        (config_.time.max_delay != 0 || config_.time.idle_timeout || !config_.time.late_output.empty()))
        throw UsageError(
            "--max-delay, --idle-timeout and --late apply to --every periods; add --every DURATION");

    // Window-shaped input (cep-window's results) keeps its windows apart, unless the user groups
    // by window fields explicitly or --every makes its own windows.
    const bool explicit_window =
        std::any_of(config_.group_by.begin(), config_.group_by.end(), [](const Path& p) {
            return !p.steps.empty() && p.steps[0].type == PathStep::Type::key && p.steps[0].key == "window";
        });
    if (config_.window_fields && !config_.every && !explicit_window) {
        window_start_ = schema.add("window.start");
        window_end_ = schema.add("window.end");
    }
    if (config_.every) {
        time_.emplace(config_.time, schema);
        time_slot_ = schema.add(config_.time.path);
        if (!config_.time.late_output.empty()) late_sink_ = io::open_sink(config_.time.late_output);
    }
    if (config_.merge) {
        sketch_spec_ = schema.add("_sketches.spec");
        sketch_precision_ = schema.add("_sketches.hll_precision");
        sketch_compression_ = schema.add("_sketches.compression");
        sketch_state_ = schema.add("_sketches.state");
    } else {
        set_ = std::make_unique<agg::AggregateSet>(config_.spec, schema, config_.options);
        check_names();
    }
}

AggOperator::~AggOperator() = default;

void AggOperator::create_set(const std::string& spec, const agg::AggOptions& options) {
    set_ = std::make_unique<agg::AggregateSet>(spec, merge_schema_, options);
    try {
        check_names();
    } catch (...) {
        set_.reset();
        throw;
    }
}

void AggOperator::check_names() const {
    // Result names must not collide with the group fields or the fields cep-agg adds.
    std::vector<std::string> taken = groups_.top_level_names();
    if (window_start_ || config_.every) taken.emplace_back("window");
    if (config_.rollup) taken.emplace_back("rollup");
    if (config_.sketches) taken.emplace_back("_sketches");
    for (const auto& spec_item : set_->specs()) {
        if (std::find(taken.begin(), taken.end(), spec_item.name) != taken.end())
            throw UsageError(
                "aggregate name '" + spec_item.name +
                "' is also a group or result field; rename it with 'as NAME' (or use --no-window)");
    }
}

agg::GroupTable& AggOperator::table_for(Timestamp period) {
    if (current_ == nullptr || current_period_ != period) {
        current_ = &periods_.try_emplace(period, *set_).first->second;
        current_period_ = period;
    }
    return *current_;
}

void AggOperator::encode_key(const Record& record) {
    key_.clear();
    if (window_start_) {
        agg::append_value_key(key_, record[*window_start_]);
        agg::append_value_key(key_, record[*window_end_]);
    }
    groups_.encode(record, key_);
}

void AggOperator::push(const Record& record, Emitter& out) {
    if (config_.merge) {
        push_merge(record, out);
        return;
    }
    Timestamp period = 0;
    std::optional<Timestamp> time;
    if (time_) {
        time = time_->extract(record, reason_);
        if (!time) {
            out.reject(record, reason_);
            return;
        }
        if (time_sample_.empty()) note_time_style(record);
        period = period_start(*time, *config_.every);
        // Its period was emitted already: the record is late.
        if (saturating_add(period, *config_.every - 1) <= tracker_.watermark()) {
            late(record, *time);
            return;
        }
    }
    encode_key(record);
    set_->add(table_for(period).state_for(key_), record);
    if (time && tracker_.observe(*time)) advance(out);
}

void AggOperator::push_merge(const Record& record, Emitter& out) {
    const Value& spec = record[*sketch_spec_];
    const Value& state = record[*sketch_state_];
    const Value& precision = record[*sketch_precision_];
    const Value& compression = record[*sketch_compression_];
    if (spec.kind != Kind::string || state.kind != Kind::string || precision.kind != Kind::integer ||
        !compression.is_number()) {
        out.reject(record, "no _sketches field: --merge reads results written by cep-agg --sketches");
        return;
    }
    if (!set_) {
        agg::AggOptions options;
        options.hll_precision = static_cast<int>(precision.integer);
        options.compression = compression.as_double();
        try {
            create_set(std::string(spec.text), options);
        } catch (const SyntaxError& e) {
            out.reject(record, "bad _sketches.spec: " + std::string(e.what()));
            return;
        } catch (const UsageError& e) {
            out.reject(record, "bad _sketches: " + std::string(e.what()));
            return;
        }
    } else if (spec.text != set_->canonical()) {
        out.reject(record, "partial result of another aggregate list: '" + std::string(spec.text) +
                               "', expected '" + set_->canonical() + "'");
        return;
    } else if (precision.integer != set_->options().hll_precision) {
        out.reject(record, "partial result with --hll-precision " + std::to_string(precision.integer) +
                               ", expected " + std::to_string(set_->options().hll_precision));
        return;
    }
    agg::AggregateState incoming(*set_);
    try {
        set_->read_sketch(incoming.data(), state.text);
    } catch (const RuntimeError& e) {
        out.reject(record, "bad _sketches.state: " + std::string(e.what()));
        return;
    }
    // first()/last(): arrival stamps are comparable within one run's results, not across runs;
    // each input file counts as a later run than the files before it.
    if (record.origin.source != merge_source_) {
        merge_source_ = record.origin.source;
        ++merge_run_;
    }
    set_->shift_sequence(incoming.data(), merge_run_ << 40);
    encode_key(record);
    set_->merge(table_for(0).state_for(key_), incoming.data());
}

void AggOperator::advance(Emitter& out) {
    while (!periods_.empty()) {
        auto it = periods_.begin();
        if (saturating_add(it->first, *config_.every - 1) > tracker_.watermark()) break;
        emit_period(it->first, it->second, out);
        periods_.erase(it);
        current_ = nullptr;
    }
    out.watermark(tracker_.watermark());
}

void AggOperator::on_watermark(Timestamp watermark, Emitter& out) {
    // Without --every all results come at the end; they carry no promise about event time,
    // so the watermark stops here.
    if (!time_) return;
    if (tracker_.advance_to(watermark)) advance(out);
}

void AggOperator::on_progress(Timestamp time, Emitter& out) {
    if (!time_) return;
    if (tracker_.observe(time)) advance(out);
}

void AggOperator::on_idle(Duration idle_for, Emitter& out) {
    if (!time_ || tracker_.max_seen() == min_timestamp) return;
    // While the input is silent, event time is taken to keep pace with the wall clock.
    const Timestamp assumed = saturating_add(tracker_.max_seen(), idle_for);
    if (tracker_.advance_to(saturating_add(assumed, -config_.time.max_delay - 1))) advance(out);
}

void AggOperator::finish(Emitter& out) {
    if (set_ && periods_.empty() && !time_ && config_.group_by.empty() && !config_.merge) {
        // Like SQL's aggregate without GROUP BY: an empty input still has a total (count 0).
        table_for(0);
        key_.clear();
        if (window_start_) {
            agg::append_value_key(key_, Value::missing());
            agg::append_value_key(key_, Value::missing());
        }
        current_->state_for(key_);
    }
    for (auto& [period, table] : periods_)
        emit_period(period, table, out);
    periods_.clear();
    current_ = nullptr;
    if (late_sink_)
        late_sink_->close();
    else if (late_ > 0)
        std::fprintf(stderr, "cep-agg: %llu late record%s dropped (keep them with --late FILE)\n",
                     static_cast<unsigned long long>(late_), late_ == 1 ? "" : "s");
}

void AggOperator::emit_period(Timestamp period, agg::GroupTable& table, Emitter& out) {
    const std::optional<Timestamp> bounds = time_ ? std::optional<Timestamp>(period) : std::nullopt;
    const std::size_t fields = groups_.size();
    const std::vector<std::uint32_t> order = table.sorted();
    if (!config_.rollup) {
        for (const std::uint32_t g : order)
            emit_row(table.key(g), table.state(g), fields, 0, bounds, out);
        return;
    }
    // ROLLUP: after the last detail row of each prefix, its sub-total; the total comes last.
    // Sorted keys put every prefix's rows together, so one pass with a running sub-total per
    // level suffices. subtotals[level] rolls up the last `level` group fields.
    const std::size_t window_values = window_start_ ? 2 : 0;
    std::vector<agg::AggregateState> subtotals(fields + 1);
    for (std::size_t level = 1; level <= fields; ++level)
        subtotals[level] = agg::AggregateState(*set_);
    for (std::size_t i = 0; i < order.size(); ++i) {
        const std::string_view key = table.key(order[i]);
        emit_row(key, table.state(order[i]), fields, 0, bounds, out);
        for (std::size_t level = 1; level <= fields; ++level)
            set_->merge(subtotals[level].data(), table.state(order[i]));
        const std::optional<std::string_view> next =
            i + 1 < order.size() ? std::optional<std::string_view>(table.key(order[i + 1])) : std::nullopt;
        for (std::size_t level = 1; level <= fields; ++level) {
            const std::size_t prefix = prefix_length(key, window_values + fields - level);
            // Equal prefixes of the canonical encoding are equal values; then so are all shorter ones.
            if (next && next->substr(0, prefix) == key.substr(0, prefix)) break;
            emit_row(key, subtotals[level].data(), fields - level, level, bounds, out);
            subtotals[level] = agg::AggregateState(*set_);
        }
    }
}

void AggOperator::emit_row(std::string_view key, const std::byte* state, std::size_t kept, std::size_t level,
                           std::optional<Timestamp> period, Emitter& out) {
    values_.clear();
    for (std::size_t pos = 0; pos < key.size();)
        values_.push_back(agg::read_value_key(key, pos));
    const std::size_t window_values = window_start_ ? 2 : 0;
    line_.clear();
    line_ += '{';
    bool comma = groups_.append_json(std::span<const Value>(values_).subspan(window_values), kept, line_);
    const auto separate = [&] {
        if (comma) line_ += ',';
        comma = true;
    };
    if (period) {
        separate();
        line_ += "\"window\":{\"start\":";
        time_->append_json(line_, *period);
        line_ += ",\"end\":";
        time_->append_json(line_, saturating_add(*period, *config_.every));
        line_ += '}';
    } else if (window_values > 0 && (!values_[0].is_missing() || !values_[1].is_missing())) {
        separate();
        line_ += "\"window\":{\"start\":";
        agg::append_value_json(line_, values_[0]);
        line_ += ",\"end\":";
        agg::append_value_json(line_, values_[1]);
        line_ += '}';
    }
    if (level > 0) {
        separate();
        line_ += "\"rollup\":";
        append_json_number(line_, static_cast<std::int64_t>(level));
    }
    separate();
    set_->append_results(state, line_);
    if (config_.sketches) {
        line_ += ',';
        set_->write_sketch(state, line_);
    }
    line_ += '}';
    static constexpr Origin origin{"cep-agg result", 0};
    out.emit_new(line_, origin);
}

void AggOperator::late(const Record& record, Timestamp time) {
    ++late_;
    if (!late_sink_) return;
    const Timestamp watermark = tracker_.watermark();
    line_.clear();
    // As cep-window writes them: how far behind the watermark, and the record.
    line_ += "{\"late_by_ms\":";
    append_json_millis(line_, watermark - time + 1);
    line_ += ",\"watermark\":";
    Timestamp shown = watermark - watermark % nanos_per_milli;
    if (watermark % nanos_per_milli < 0) shown -= nanos_per_milli;
    time_->append_json(line_, shown);
    line_ += ",\"record\":";
    line_ += record.raw;
    line_ += '}';
    late_sink_->write(line_);
}

void AggOperator::note_time_style(const Record& record) {
    agg::append_value_key(time_sample_, record[time_slot_]);
}

std::uint64_t AggOperator::state_size() const {
    std::uint64_t groups = 0;
    for (const auto& [period, table] : periods_)
        groups += table.size();
    return groups;
}

std::string AggOperator::fingerprint() const {
    std::string out = config_.merge ? "merge" : config_.spec;
    out += '|';
    for (std::size_t i = 0; i < groups_.size(); ++i)
        out += groups_.path(i).to_string() + ",";
    out += '|' + std::to_string(config_.rollup) + std::to_string(config_.sketches) +
           std::to_string(window_start_.has_value());
    out += '|' + (config_.every ? std::to_string(*config_.every) : std::string("-"));
    out += '|' + config_.time.path + '|' + std::to_string(config_.options.hll_precision);
    return out;
}

void AggOperator::snapshot(std::ostream& out) const {
    std::string bytes(snapshot_magic);
    agg::ByteWriter writer(bytes);
    writer.bytes(fingerprint());
    writer.u8(set_ ? 1 : 0);
    if (set_) {
        writer.bytes(set_->canonical());
        writer.varint(static_cast<std::uint64_t>(set_->options().hll_precision));
        writer.f64(set_->options().compression);
        writer.varint(set_->sequence());
    }
    writer.svarint(tracker_.max_seen());
    writer.svarint(tracker_.watermark());
    writer.varint(late_);
    writer.bytes(time_sample_);
    writer.bytes(merge_source_);
    writer.varint(merge_run_);
    writer.varint(periods_.size());
    std::string state;
    for (const auto& [period, table] : periods_) {
        writer.svarint(period);
        writer.varint(table.size());
        for (std::uint32_t g = 0; g < table.size(); ++g) {
            writer.bytes(table.key(g));
            state.clear();
            set_->write_state(table.state(g), state);
            writer.bytes(state);
        }
    }
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw RuntimeError("cep-agg: cannot write the snapshot");
}

void AggOperator::restore(std::istream& in) {
    const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    if (!std::string_view(bytes).starts_with(snapshot_magic)) throw RuntimeError("not a cep-agg snapshot");
    agg::ByteReader reader(std::string_view(bytes).substr(snapshot_magic.size()));
    if (reader.bytes() != fingerprint())
        throw RuntimeError("the snapshot was taken with other cep-agg options (aggregates, groups, --every)");
    if (reader.u8() != 0) {
        const std::string spec(reader.bytes());
        agg::AggOptions options;
        options.hll_precision = static_cast<int>(reader.varint());
        options.compression = reader.f64();
        if (config_.merge) {
            create_set(spec, options);
        } else if (spec != set_->canonical()) {
            throw RuntimeError("the snapshot was taken with another aggregate list");
        }
        set_->set_sequence(reader.varint());
    }
    const Timestamp max_seen = reader.svarint();
    const Timestamp watermark = reader.svarint();
    tracker_ = WatermarkTracker(config_.time.max_delay);
    if (max_seen != min_timestamp) tracker_.observe(max_seen);
    tracker_.advance_to(watermark);
    late_ = reader.varint();
    time_sample_ = reader.bytes();
    merge_source_ = reader.bytes();
    merge_run_ = reader.varint();
    if (time_ && !time_sample_.empty()) {
        // Replay the first event time through the extractor so results are written in the
        // input's time format (RFC 3339 style or numeric unit), as before the snapshot.
        std::size_t pos = 0;
        std::vector<Value> slots(time_slot_ + 1);
        slots[time_slot_] = agg::read_value_key(time_sample_, pos);
        std::string reason;
        (void)time_->extract(Record{"", slots, Origin{"snapshot", 0}}, reason);
    }
    periods_.clear();
    current_ = nullptr;
    const std::uint64_t periods = reader.count(2);
    for (std::uint64_t p = 0; p < periods; ++p) {
        if (!set_) throw RuntimeError("corrupt cep-agg snapshot: groups without aggregates");
        const Timestamp period = reader.svarint();
        agg::GroupTable& table = table_for(period);
        const std::uint64_t groups = reader.count(2);
        for (std::uint64_t g = 0; g < groups; ++g) {
            const std::string_view key = reader.bytes();
            set_->read_state(table.state_for(key), reader.bytes());
        }
    }
    if (!reader.done()) throw RuntimeError("corrupt cep-agg snapshot: trailing bytes");
}

} // namespace cep::ops
