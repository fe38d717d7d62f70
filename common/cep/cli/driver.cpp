#include "cep/cli/driver.hpp"

#include "cep/errors.hpp"
#include "cep/io/line_reader.hpp"
#include "cep/record_parser.hpp"
#include "cep/time.hpp"

#include <unistd.h>

namespace cep::cli {

void SinkEmitter::note(ControlRecord::Type type, Timestamp time) {
    if (!control_output_) return;
    Pending& pending = type == ControlRecord::Type::watermark ? watermark_ : progress_;
    if (time <= pending.time) return;
    pending.time = time;
    if (++pending.updates % control_every != 0) return;
    pending.written = time;
    for (auto& sink : sinks_) sink->write(format_control({type, time}));
}

void SinkEmitter::flush_control() {
    // What was emitted while idle (windows fired by --idle-timeout) must reach the reader now,
    // not when a buffer fills; control records go out only when the reader is a cep tool.
    for (auto type : {ControlRecord::Type::progress, ControlRecord::Type::watermark}) {
        if (!control_output_) break;
        Pending& pending = type == ControlRecord::Type::watermark ? watermark_ : progress_;
        if (pending.time <= pending.written) continue;
        pending.written = pending.time;
        for (auto& sink : sinks_) sink->write(format_control({type, pending.time}));
    }
    for (auto& sink : sinks_) sink->flush();
}

void SinkEmitter::close() {
    for (auto& sink : sinks_) sink->close();
}

std::vector<std::unique_ptr<io::RecordSink>> open_outputs(const std::string& spec, std::uint32_t partitions) {
    std::vector<std::unique_ptr<io::RecordSink>> sinks;
    if (partitions == 0) {
        sinks.push_back(io::open_sink(spec));
        return sinks;
    }
    const auto marker = spec.find("{p}");
    if (marker == std::string::npos)
        throw UsageError("--partitions needs an output name with {p} in it, e.g. -o 'part-{p}.ndjson'");
    for (std::uint32_t p = 0; p < partitions; ++p) {
        std::string name = spec;
        name.replace(marker, 3, std::to_string(p));
        sinks.push_back(io::open_sink(name));
    }
    return sinks;
}

namespace {

/// Notices records an operator dropped and turns their event times into progress markers,
/// so a windowing tool downstream keeps advancing while, say, a filter drops everything.
class DropTracker {
  public:
    DropTracker(bool enabled, const TimeOptions& options, Schema& schema) {
        if (enabled) time_.emplace(options, schema);
    }
    bool enabled() const { return time_.has_value(); }
    void after_push(const Record& record, bool emitted, Emitter& out) {
        if (emitted) return;
        if (auto time = time_->extract(record, scratch_)) out.progress(*time);
    }

  private:
    std::optional<TimeExtractor> time_;
    std::string scratch_;
};

} // namespace

int run(const std::string& program, Command& command, const CommonOptions& common) {
    std::unique_ptr<io::RecordSink> dead_letter;
    if (!common.dead_letter.empty()) dead_letter = io::open_sink(common.dead_letter);
    Diagnostics diagnostics(program, common.on_error, std::move(dead_letter));
    if (auto code = command.run_directly(common, diagnostics)) {
        diagnostics.finish();
        return *code;
    }

    Schema schema;
    std::unique_ptr<Operator> op = command.make_operator(schema, common);
    const bool control_output =
        resolve_control_output(common.watermarks, common.output == "-" ? STDOUT_FILENO : -1);
    DropTracker drops(control_output && !command.uses_event_time(), common.time, schema);
    RecordParser parser(schema, common.strict);
    Counters counters;
    SinkEmitter out(open_outputs(common.output, command.output_partitions()), counters, diagnostics, control_output);

    std::optional<StatsReporter::Clock::duration> interval;
    if (!common.stats_interval.empty()) interval = std::chrono::nanoseconds(*parse_duration(common.stats_interval));
    const bool progress = common.progress == "always" || (common.progress == "auto" && isatty(STDERR_FILENO));
    StatsReporter reporter(program, common.stats, interval, progress);

    // Live inputs are polled so idleness can be acted on: windows fire (--idle-timeout) and
    // pending control records reach the next tool.
    int poll_ms = -1;
    if (common.time.idle_timeout) poll_ms = static_cast<int>(std::max<Duration>(*common.time.idle_timeout / 1'000'000, 1));
    if (control_output) poll_ms = poll_ms < 0 ? 100 : std::min(poll_ms, 100);
    auto last_input = std::chrono::steady_clock::now();

    std::vector<std::string> inputs = common.inputs;
    if (inputs.empty()) inputs.emplace_back("-");
    ParseFailure failure;
    try {
        for (const auto& input : inputs) {
            std::unique_ptr<io::ByteSource> source;
            try {
                source = io::open_byte_source(input);
            } catch (const RuntimeError& e) {
                diagnostics.input_error(input, e.what());
                continue;
            }
            io::LineReader reader(std::move(source), common.max_line_bytes);
            const std::string& name = reader.source().name();
            io::LineReader::Line block;
            bool input_done = false;
            while (!input_done) {
                const auto status = reader.next_block(block, poll_ms);
                const auto now = std::chrono::steady_clock::now();
                switch (status) {
                case io::LineReader::Status::end: input_done = true; continue;
                case io::LineReader::Status::source_error:
                    diagnostics.input_error(name, reader.error());
                    input_done = true;
                    continue;
                case io::LineReader::Status::idle: {
                    const Duration idle_for = std::chrono::nanoseconds(now - last_input).count();
                    if (common.time.idle_timeout && idle_for >= *common.time.idle_timeout) op->on_idle(idle_for, out);
                    out.flush_control();
                    continue;
                }
                case io::LineReader::Status::too_long:
                    ++counters.records_in;
                    diagnostics.data_error(Origin{name, block.number}, 0,
                                           "line longer than --max-line-bytes (" +
                                               std::to_string(common.max_line_bytes) + "); raw text truncated",
                                           block.text);
                    counters.errors = diagnostics.errors();
                    continue;
                case io::LineReader::Status::line: break;
                }
                if (poll_ms >= 0) last_input = now;
                // One simdjson pass over the whole block, then the lines one by one.
                parser.begin_batch(block.text);
                std::string_view rest = block.text;
                std::uint64_t line_number = block.number;
                while (!rest.empty()) {
                    const std::size_t newline = rest.find('\n');
                    std::string_view text = rest.substr(0, newline);
                    rest.remove_prefix(newline == std::string_view::npos ? rest.size() : newline + 1);
                    const Origin origin{name, line_number++};
                    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
                    if (text.find_first_not_of(" \t") == std::string_view::npos) continue; // blank
                    if (is_control(text)) {
                        if (auto control = parse_control(text)) {
                            parser.skip_in_batch(text);
                            if (control->type == ControlRecord::Type::watermark) op->on_watermark(control->time, out);
                            else op->on_progress(control->time, out);
                            continue;
                        }
                    }
                    ++counters.records_in;
                    if (text.size() > common.max_line_bytes) {
                        parser.skip_in_batch(text);
                        diagnostics.data_error(origin, 0,
                                               "line longer than --max-line-bytes (" +
                                                   std::to_string(common.max_line_bytes) + "); raw text truncated",
                                               text.substr(0, 1024));
                        counters.errors = diagnostics.errors();
                        continue;
                    }
                    if (!parser.parse_in_batch(text, failure)) {
                        diagnostics.data_error(origin, failure.column, failure.reason, text);
                        counters.errors = diagnostics.errors();
                        continue;
                    }
                    const Record record{text, parser.slots(), origin};
                    const std::uint64_t out_before = counters.records_out;
                    op->push(record, out);
                    if (drops.enabled()) drops.after_push(record, counters.records_out != out_before, out);
                    reporter.tick(counters, reader.source().position(), reader.source().size());
                }
                reader.lines_consumed(line_number - block.number);
            }
            counters.bytes_in += reader.source().position();
        }
        op->finish(out);
        out.close();
    } catch (const BrokenPipe&) {
        // The reader left (`| head`): a normal end, not an error.
        diagnostics.finish();
        return exit_code::ok;
    }
    counters.errors = diagnostics.errors();
    counters.dead_lettered = diagnostics.dead_lettered();
    counters.state = op->state_size();
    counters.late = op->late_records();
    diagnostics.finish();
    reporter.finish(counters);
    return diagnostics.errors() > 0 ? exit_code::data_error : exit_code::ok;
}

} // namespace cep::cli
