#pragma once
// Runs one tool's operator over its inputs: read lines, parse once, push, write, report.

#include "cep/cli/command.hpp"
#include "cep/control.hpp"
#include "cep/diagnostics.hpp"
#include "cep/io/kafka_config.hpp"
#include "cep/io/record_source.hpp"
#include "cep/io/sink.hpp"
#include "cep/stats.hpp"

#include <string>
#include <vector>

namespace cep::cli {

/// An Emitter that writes records to one sink, or to one of N partitioned sinks, and
/// event-time control records when the reader is another cep tool.
class SinkEmitter final : public Emitter {
  public:
    SinkEmitter(std::vector<std::unique_ptr<io::RecordSink>> sinks, Counters& counters,
                Diagnostics& diagnostics, bool control_output)
        : sinks_(std::move(sinks)), counters_(counters), diagnostics_(diagnostics),
          control_output_(control_output) {}

    void emit(const Record& record, const Route& route) override { write(record.raw, route); }
    void emit_new(std::string_view json, const Origin&, const Route& route) override { write(json, route); }
    void reject(const Record& record, std::string_view reason) override {
        diagnostics_.data_error(record.origin, 0, reason, record.raw);
    }
    void watermark(Timestamp time) override { note(ControlRecord::Type::watermark, time); }
    void progress(Timestamp time) override { note(ControlRecord::Type::progress, time); }

    /// The input went idle: writes pending control records and flushes the outputs, so results
    /// emitted while idle reach the reader now.
    void flush_control();
    /// Writes pending control records and flushes every output (Kafka: waits for delivery), so
    /// that what was emitted so far is downstream before input offsets are committed.
    void flush();
    void close();
    bool control_output() const { return control_output_; }
    /// The latest watermark the operator emitted (whether or not it is written downstream).
    std::optional<Timestamp> last_watermark() const {
        return watermark_.latest() == min_timestamp ? std::nullopt
                                                    : std::optional<Timestamp>(watermark_.latest());
    }
    /// Time the outputs spent blocked (a full pipe, a slow disk, Kafka), in nanoseconds.
    std::uint64_t blocked_ns() const;

  private:
    void write(std::string_view bytes, const Route& route) {
        const std::size_t index = route.partition ? *route.partition % sinks_.size() : 0;
        sinks_[index]->write(bytes, route.key);
        ++counters_.records_out;
    }
    void note(ControlRecord::Type type, Timestamp time);

    std::vector<std::unique_ptr<io::RecordSink>> sinks_;
    Counters& counters_;
    Diagnostics& diagnostics_;
    bool control_output_;
    // Kept without control output too, for last_watermark() (--metrics-fd).
    ControlThinning progress_, watermark_;
};

/// Opens one output: a file, `-`, or a Kafka topic (`kafka:...`, with the Kafka flags).
std::unique_ptr<io::RecordSink> open_output(const std::string& spec, const io::KafkaOptions& kafka);

/// Opens the outputs a command asks for: one, or N with `{p}` in the name replaced by 0..N-1.
std::vector<std::unique_ptr<io::RecordSink>> open_outputs(const std::string& spec, std::uint32_t partitions,
                                                          const io::KafkaOptions& kafka = {});

/// Opens one input: a kafka: name, or a file / `-` read through a LineReader.
std::unique_ptr<io::RecordSource> open_input(const std::string& spec, const CommonOptions& common);

/// The --stats / --stats-interval / --progress reporter, also writing to --metrics-fd when given.
/// Throws UsageError when that descriptor is not open.
StatsReporter make_stats_reporter(const std::string& program, const CommonOptions& common);

/// Runs `command` with the shared record driver (or its own run_directly). Returns the exit code.
int run(const std::string& program, Command& command, const CommonOptions& common);

} // namespace cep::cli
