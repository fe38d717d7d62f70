#pragma once
// Runs one tool's operator over its inputs: read lines, parse once, push, write, report.

#include "cep/cli/command.hpp"
#include "cep/io/sink.hpp"
#include "cep/stats.hpp"

#include <string>
#include <vector>

namespace cep::cli {

/// An Emitter that writes records to one sink, or to one of N partitioned sinks.
class SinkEmitter final : public Emitter {
  public:
    SinkEmitter(std::vector<std::unique_ptr<io::RecordSink>> sinks, Counters& counters)
        : sinks_(std::move(sinks)), counters_(counters) {}

    void emit(const Record& record, const Route& route) override { write(record.raw, route); }
    void emit_new(std::string_view json, const Origin&, const Route& route) override { write(json, route); }
    void close();

  private:
    void write(std::string_view bytes, const Route& route) {
        const std::size_t index = route.partition ? *route.partition % sinks_.size() : 0;
        sinks_[index]->write(bytes, route.key);
        ++counters_.records_out;
    }

    std::vector<std::unique_ptr<io::RecordSink>> sinks_;
    Counters& counters_;
};

/// Opens the outputs a command asks for: one, or N with `{p}` in the name replaced by 0..N-1.
std::vector<std::unique_ptr<io::RecordSink>> open_outputs(const std::string& spec, std::uint32_t partitions);

/// Runs `command` with the shared record driver (or its own run_directly). Returns the exit code.
int run(const std::string& program, Command& command, const CommonOptions& common);

} // namespace cep::cli
