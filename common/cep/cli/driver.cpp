#include "cep/cli/driver.hpp"

#include "cep/errors.hpp"
#include "cep/io/line_reader.hpp"
#include "cep/record_parser.hpp"
#include "cep/time.hpp"

#include <unistd.h>

namespace cep::cli {

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
    RecordParser parser(schema, common.strict);
    Counters counters;
    SinkEmitter out(open_outputs(common.output, command.output_partitions()), counters);

    std::optional<StatsReporter::Clock::duration> interval;
    if (!common.stats_interval.empty())
        interval = std::chrono::nanoseconds(*parse_duration(common.stats_interval));
    const bool progress = common.progress == "always" || (common.progress == "auto" && isatty(STDERR_FILENO));
    StatsReporter reporter(program, common.stats, interval, progress);

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
            io::LineReader::Line line;
            for (;;) {
                const auto status = reader.next(line);
                if (status == io::LineReader::Status::end) break;
                if (status == io::LineReader::Status::source_error) {
                    diagnostics.input_error(name, reader.error());
                    break;
                }
                ++counters.records_in;
                const Origin origin{name, line.number};
                if (status == io::LineReader::Status::too_long) {
                    diagnostics.data_error(origin, 0,
                                           "line longer than --max-line-bytes (" +
                                               std::to_string(common.max_line_bytes) + "); raw text truncated",
                                           line.text);
                    continue;
                }
                if (!parser.parse(line.text, failure)) {
                    diagnostics.data_error(origin, failure.column, failure.reason, line.text);
                    counters.errors = diagnostics.errors();
                    continue;
                }
                op->push(Record{line.text, parser.slots(), origin}, out);
                reporter.tick(counters, reader.source().position(), reader.source().size());
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
    diagnostics.finish();
    reporter.finish(counters);
    return diagnostics.errors() > 0 ? exit_code::data_error : exit_code::ok;
}

} // namespace cep::cli
