#include "cep/cli/driver.hpp"

#include "cep/drop_times.hpp"
#include "cep/errors.hpp"
#include "cep/io/kafka_sink.hpp"
#include "cep/io/kafka_source.hpp"
#include "cep/io/record_source.hpp"
#include "cep/record_parser.hpp"
#include "cep/time.hpp"

#include <algorithm>
#include <fcntl.h>
#include <unistd.h>

namespace cep::cli {

void SinkEmitter::note(ControlRecord::Type type, Timestamp time) {
    ControlThinning& thinning = type == ControlRecord::Type::watermark ? watermark_ : progress_;
    if (!thinning.note(time) || !control_output_) return;
    for (auto& sink : sinks_)
        sink->write(format_control({type, time}));
}

void SinkEmitter::flush_control() {
    // What was emitted while idle (windows fired by --idle-timeout) must reach the reader now,
    // not when a buffer fills; control records go out only when the reader is a cep tool.
    for (auto type : {ControlRecord::Type::progress, ControlRecord::Type::watermark}) {
        if (!control_output_) break;
        ControlThinning& thinning = type == ControlRecord::Type::watermark ? watermark_ : progress_;
        if (const auto pending = thinning.take_pending())
            for (auto& sink : sinks_)
                sink->write(format_control({type, *pending}));
    }
    for (auto& sink : sinks_)
        sink->flush();
}

void SinkEmitter::flush() {
    flush_control();
    for (auto& sink : sinks_)
        sink->flush();
}

std::uint64_t SinkEmitter::blocked_ns() const {
    std::uint64_t total = 0;
    for (const auto& sink : sinks_)
        total += sink->blocked_ns();
    return total;
}

void SinkEmitter::close() {
    for (auto& sink : sinks_)
        sink->close();
}

std::unique_ptr<io::RecordSink> open_output(const std::string& spec, const io::KafkaOptions& kafka) {
    if (io::is_kafka_spec(spec)) return io::open_kafka_sink(io::resolve_kafka_endpoint(spec, kafka));
    return io::open_sink(spec);
}

std::vector<std::unique_ptr<io::RecordSink>> open_outputs(const std::string& spec, std::uint32_t partitions,
                                                          const io::KafkaOptions& kafka) {
    std::vector<std::unique_ptr<io::RecordSink>> sinks;
    if (partitions == 0) {
        sinks.push_back(open_output(spec, kafka));
        return sinks;
    }
    const auto marker = spec.find("{p}");
    if (marker == std::string::npos)
        throw UsageError("--partitions needs an output name with {p} in it, e.g. -o 'part-{p}.ndjson'");
    for (std::uint32_t p = 0; p < partitions; ++p) {
        std::string name = spec;
        name.replace(marker, 3, std::to_string(p));
        sinks.push_back(open_output(name, kafka));
    }
    return sinks;
}

std::unique_ptr<io::RecordSource> open_input(const std::string& spec, const CommonOptions& common) {
    if (io::is_kafka_spec(spec))
        return io::open_kafka_source(io::resolve_kafka_endpoint(spec, common.kafka), common.max_line_bytes);
    return std::make_unique<io::LineRecordSource>(io::open_byte_source(spec), common.max_line_bytes);
}

StatsReporter make_stats_reporter(const std::string& program, const CommonOptions& common) {
    std::optional<StatsReporter::Clock::duration> interval;
    if (!common.stats_interval.empty())
        interval = std::chrono::nanoseconds(*parse_duration(common.stats_interval));
    const bool progress = common.progress == "always" || (common.progress == "auto" && isatty(STDERR_FILENO));
    StatsReporter reporter(program, common.stats, interval, progress);
    if (common.metrics_fd >= 0) {
        if (::fcntl(common.metrics_fd, F_GETFD) < 0)
            throw UsageError("--metrics-fd: " + std::to_string(common.metrics_fd) +
                             " is not an open descriptor");
        reporter.report_to(common.metrics_fd,
                           std::chrono::nanoseconds(*parse_duration(common.metrics_interval)));
    }
    return reporter;
}

int run(const std::string& program, Command& command, const CommonOptions& common) {
    std::vector<std::string> inputs = common.inputs;
    if (inputs.empty()) inputs.emplace_back("-");
    const bool kafka = std::any_of(inputs.begin(), inputs.end(), io::is_kafka_spec) ||
                       io::is_kafka_spec(common.output) || io::is_kafka_spec(common.dead_letter);
    // Names are checked before anything is opened, so a typo is a usage error (exit 2).
    for (std::string spec : {common.output, common.dead_letter}) {
        if (const auto marker = spec.find("{p}"); marker != std::string::npos) spec.replace(marker, 3, "0");
        if (io::is_kafka_spec(spec)) io::check_kafka_output(io::resolve_kafka_endpoint(spec, common.kafka));
    }
    for (const auto& spec : inputs)
        if (io::is_kafka_spec(spec)) io::check_kafka_input(io::resolve_kafka_endpoint(spec, common.kafka));

    std::unique_ptr<io::RecordSink> dead_letter;
    if (!common.dead_letter.empty()) dead_letter = open_output(common.dead_letter, common.kafka);
    Diagnostics diagnostics(program, common.on_error, std::move(dead_letter));
    if (auto code = command.run_directly(common, diagnostics)) {
        diagnostics.finish();
        return *code;
    }

    Schema schema;
    std::unique_ptr<Operator> op = command.make_operator(schema, common);
    const bool control_output =
        resolve_control_output(common.watermarks, common.output == "-" ? STDOUT_FILENO : -1);
    // The event times of the records the operator drops move the next tool's event time on
    // (progress records), so a window after a filter keeps firing while it drops everything.
    std::optional<DropTimes> drops;
    if (control_output && !command.uses_event_time()) drops.emplace(common.time, schema);
    RecordParser parser(schema, common.strict);
    // Not with --strict (every record is validated in full), nor when the times of dropped
    // records can only come from the parser.
    const RawPrefilter* prefilter =
        !common.strict && (!drops || drops->reads_bytes()) ? op->raw_prefilter() : nullptr;
    // Records the operator needs only the time of: asked per block, since a rules reload may
    // change the test.
    const bool time_only = !prefilter && !common.strict && !drops;
    Counters counters;
    SinkEmitter out(open_outputs(common.output, command.output_partitions(), common.kafka), counters,
                    diagnostics, control_output);

    StatsReporter reporter = make_stats_reporter(program, common);
    std::uint64_t waiting_ns = 0; // in next_block: reading, or waiting for input
    reporter.on_refresh([&](Counters& c) {
        c.errors = diagnostics.errors();
        c.state = op->state_size();
        c.late = op->late_records();
        c.watermark = out.last_watermark();
        c.waiting_in_ns = waiting_ns;
        c.blocked_out_ns = out.blocked_ns();
    });

    // Live inputs are polled so idleness can be acted on: windows fire (--idle-timeout) and
    // pending control records reach the next tool.
    int poll_ms = -1;
    if (common.time.idle_timeout)
        poll_ms = static_cast<int>(std::max<Duration>(*common.time.idle_timeout / 1'000'000, 1));
    if (control_output) poll_ms = poll_ms < 0 ? 100 : std::min(poll_ms, 100);
    // A quiet input still gets its metrics line on time (cep run shows the node waiting).
    if (common.metrics_fd >= 0) {
        const int every =
            static_cast<int>(std::max<Duration>(*parse_duration(common.metrics_interval) / 1'000'000, 1));
        poll_ms = poll_ms < 0 ? every : std::min(poll_ms, every);
    }
    // SIGINT/SIGTERM end the run cleanly, as the end of the input would: what was read is
    // processed, held-back results are emitted, outputs flushed and closed (Kafka inputs
    // committed), exit 0. So a waiting input wakes up regularly to notice a signal (and a Kafka
    // input to commit while idle); a second signal kills the tool.
    io::install_stop_handlers();
    poll_ms = poll_ms < 0 ? 200 : std::min(poll_ms, 200);
    auto last_input = std::chrono::steady_clock::now();

    ParseFailure failure;
    const auto report_bad = [&](const Origin& origin, std::string_view reason, std::string_view raw) {
        ++counters.records_in;
        diagnostics.data_error(origin, 0, reason, raw);
        counters.errors = diagnostics.errors();
    };
    // One record line (not blank): control records, over-long lines, parse, push. `batched`:
    // the line is part of a block begun with parser.begin_batch(), else it is parsed alone.
    const auto handle_line = [&](std::string_view text, const Origin& origin,
                                 std::optional<Timestamp> source_time, std::uint64_t position,
                                 std::optional<std::uint64_t> size, bool batched = true) {
        if (is_control(text)) {
            if (auto control = parse_control(text)) {
                if (batched) parser.skip_in_batch(text);
                if (control->type == ControlRecord::Type::watermark)
                    op->on_watermark(control->time, out);
                else
                    op->on_progress(control->time, out);
                return;
            }
        }
        if (text.size() > common.max_line_bytes) {
            if (batched) parser.skip_in_batch(text);
            report_bad(origin, io::too_long_reason(common.max_line_bytes), text.substr(0, 1024));
            return;
        }
        ++counters.records_in;
        if (!(batched ? parser.parse_in_batch(text, failure) : parser.parse(text, failure))) {
            diagnostics.data_error(origin, failure.column, failure.reason, text);
            counters.errors = diagnostics.errors();
            return;
        }
        const Record record{text, parser.slots(), origin, source_time};
        const std::uint64_t out_before = counters.records_out;
        op->push(record, out);
        // A record the operator dropped still moves event time on for the next tool.
        if (drops && counters.records_out == out_before)
            if (auto time = drops->parsed(record)) out.progress(*time);
        reporter.tick(counters, position, size);
    };
    // With a prefilter: the lines of a block that still need parsing, copied together, and
    // between them the times of dropped records, passed on in their place.
    struct KeptLine {
        std::size_t offset, size;
        Origin origin;
        std::optional<Timestamp> source_time;
        std::optional<Timestamp> dropped; // set: no line, the time of a dropped record
    };
    std::string compact;
    std::vector<KeptLine> kept;
    std::vector<std::unique_ptr<io::RecordSource>> finished;
    try {
        for (const auto& input : inputs) {
            if (io::stop_requested()) break;
            std::unique_ptr<io::RecordSource> source;
            try {
                source = open_input(input, common);
            } catch (const RuntimeError& e) {
                diagnostics.input_error(input, e.what());
                continue;
            }
            const std::string& name = source->name();
            // A rebalance takes partitions away: what was emitted for them goes out before
            // their offsets are committed, and the operator hears of it.
            source->on_revoke([&](const io::RevokedPartitions& revoked) {
                op->on_partitions_revoked(revoked.topic, revoked.partitions, revoked.partition_count, out);
                out.flush();
                op->sync();
            });
            io::Block block;
            bool input_done = false;
            while (!input_done) {
                if (io::stop_requested()) break;
                const auto asked = std::chrono::steady_clock::now();
                const auto status = source->next_block(block, poll_ms);
                const auto now = std::chrono::steady_clock::now();
                waiting_ns += static_cast<std::uint64_t>(std::chrono::nanoseconds(now - asked).count());
                switch (status) {
                case io::RecordSource::Status::end:
                    input_done = true;
                    continue;
                case io::RecordSource::Status::source_error:
                    diagnostics.input_error(name, source->error());
                    input_done = true;
                    continue;
                case io::RecordSource::Status::idle: {
                    const Duration idle_for = std::chrono::nanoseconds(now - last_input).count();
                    if (common.time.idle_timeout && idle_for >= *common.time.idle_timeout)
                        op->on_idle(idle_for, out);
                    out.flush_control();
                    // A quiet Kafka stream: what was emitted reaches the reader now, not when a
                    // buffer fills, and offsets are committed once it has.
                    if (kafka) out.flush();
                    if (source->commit_due()) {
                        out.flush();
                        op->sync();
                        source->commit();
                    }
                    reporter.poll(counters, source->position(), source->size());
                    continue;
                }
                case io::RecordSource::Status::bad_record:
                    report_bad(block.origin, block.reason, block.text);
                    continue;
                case io::RecordSource::Status::block:
                    break;
                }
                if (poll_ms >= 0) last_input = now;
                // Once per block, not per record: progress needs no finer grain.
                const std::uint64_t position = source->position();
                const std::optional<std::uint64_t> size = source->size();
                const RawPrefilter* time_filter = time_only ? op->time_only_prefilter() : nullptr;
                // One simdjson pass over the whole block; with a time-only test, the lines that
                // pass it are parsed one by one, in order with the others.
                if (!prefilter && !time_filter) parser.begin_batch(block.text);
                const std::uint64_t line_number = io::for_each_block_line(
                    block, name,
                    [&](std::string_view text, const Origin& origin, std::optional<Timestamp> source_time) {
                        if (time_filter) {
                            if (!is_control(text) && text.size() <= common.max_line_bytes &&
                                time_filter->rules_out(text) &&
                                op->push_time_only(text, origin, source_time, out)) {
                                ++counters.records_in;
                                return;
                            }
                            return handle_line(text, origin, source_time, position, size, false);
                        }
                        if (!prefilter) return handle_line(text, origin, source_time, position, size);
                        // A record the operator would ignore, with the outline of one object, is
                        // dropped before simdjson sees it; the others are copied together and
                        // parsed below, in one pass.
                        if (!is_control(text) && text.size() <= common.max_line_bytes &&
                            prefilter->rules_out(text)) {
                            std::optional<Timestamp> time;
                            if (!drops || drops->read_unparsed(text, source_time, time)) {
                                ++counters.records_in;
                                if (time) kept.push_back({0, 0, origin, std::nullopt, time});
                                return;
                            }
                            // The time is not the line's first field: the parser finds it below.
                        }
                        kept.push_back({compact.size(), text.size(), origin, source_time, std::nullopt});
                        compact.append(text);
                        compact.push_back('\n');
                    });
                if (prefilter) {
                    const std::size_t used = compact.size();
                    compact.append(simdjson::SIMDJSON_PADDING, ' '); // simdjson reads past the end
                    parser.begin_batch(std::string_view(compact.data(), used));
                    for (const auto& line : kept)
                        if (line.dropped)
                            out.progress(*line.dropped);
                        else
                            handle_line(std::string_view(compact.data() + line.offset, line.size),
                                        line.origin, line.source_time, position, size);
                    compact.clear();
                    kept.clear();
                }
                source->lines_consumed(line_number - block.first_line);
                reporter.poll(counters, position, size);
                // Commit after write: offsets go to the group only once what the records
                // produced is flushed (delivered, for a Kafka output).
                if (source->commit_due()) {
                    out.flush();
                    op->sync();
                    source->commit();
                }
            }
            counters.bytes_in += source->position();
            // Kafka inputs are committed and closed only after the operator has emitted what it
            // holds and the outputs are closed (delivered): commit after write, to the end.
            if (io::is_kafka_spec(input)) finished.push_back(std::move(source));
        }
        op->finish(out);
        out.close();
        for (auto& source : finished) {
            source->on_revoke(nullptr); // the outputs are closed; nothing is left to write
            source->close();
        }
    } catch (const BrokenPipe&) {
        // The reader left (`| head`): a normal end, not an error.
        diagnostics.finish();
        reporter.finish_metrics(counters);
        return exit_code::ok;
    }
    counters.errors = diagnostics.errors();
    counters.dead_lettered = diagnostics.dead_lettered();
    counters.state = op->state_size();
    counters.late = op->late_records();
    counters.extra = op->stats_fields();
    diagnostics.finish();
    reporter.finish(counters);
    return diagnostics.errors() > 0 ? exit_code::data_error : exit_code::ok;
}

} // namespace cep::cli
