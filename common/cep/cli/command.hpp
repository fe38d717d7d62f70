#pragma once
// What a tool is to the shared main: its own flags, and the operator those flags configure.
// One definition of each flag serves --help, the man-page check and the completions
// (`--cep-options-json` prints the table they are generated from).

#include "cep/control.hpp"
#include "cep/diagnostics.hpp"
#include "cep/event_time.hpp"
#include "cep/io/kafka_config.hpp"
#include "cep/operator.hpp"
#include "cep/schema.hpp"

#include <CLI/CLI.hpp>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cep::cli {

/// Options every tool shares: inputs, output, error handling, statistics.
struct CommonOptions {
    std::vector<std::string> inputs; // default: stdin
    std::string output = "-";
    std::string dead_letter;
    OnError on_error = OnError::skip;
    bool stats = false;
    std::string stats_interval;
    /// Hidden, for `cep run --metrics` in processes mode: stats lines to this inherited fd.
    int metrics_fd = -1;
    std::string metrics_interval = "1s";
    std::string progress = "auto";
    std::size_t max_line_bytes = std::size_t{128} << 20;
    bool strict = false;
    /// Event time (--time, --time-unit for every tool; the rest for tools that use_event_time()).
    TimeOptions time;
    std::string time_unit = "ms";
    std::string max_delay, idle_timeout;
    ControlOutput watermarks = ControlOutput::automatic;
    /// -b, -G, -X, --offset, --exit-at-end, --kafka-outage-limit: for kafka: inputs and outputs.
    io::KafkaOptions kafka;
};

class Command {
  public:
    virtual ~Command() = default;
    /// Binds the tool's own flags, and positional arguments that come before the inputs.
    virtual void add_options(CLI::App& app) = 0;
    /// After parsing, before any input is opened. Throws UsageError.
    virtual void configure(CommonOptions& common) { (void)common; }
    /// Builds the operator; registers the paths it reads in `schema`. Throws UsageError or
    /// SyntaxError (both exit 2).
    virtual std::unique_ptr<Operator> make_operator(Schema& schema, const CommonOptions& common) = 0;
    /// Tools that work in event time get --max-delay, --idle-timeout and --late.
    virtual bool uses_event_time() const { return false; }
    /// Number of partitioned outputs (`-o 'part-{p}.ndjson'`), 0 for one output.
    virtual std::uint32_t output_partitions() const { return 0; }
    /// A tool whose work is not one operator over records (cep-keyby -j) runs itself and
    /// returns the exit code; others return nullopt and the shared driver runs the operator.
    virtual std::optional<int> run_directly(const CommonOptions& common, Diagnostics& diagnostics) {
        (void)common;
        (void)diagnostics;
        return std::nullopt;
    }
};

struct ToolInfo {
    std::string_view name;    ///< without the `cep-` prefix
    std::string_view summary; ///< one line, for `cep help` and man pages
    std::string_view usage;   ///< synopsis after the binary name
    std::unique_ptr<Command> (*make)();
};

/// All tools, in the order `cep help` lists them.
std::span<const ToolInfo> tools();
const ToolInfo* find_tool(std::string_view name);

/// The shared main of every binary: `cep-filter` is `return cep::cli::main("filter", argc, argv);`.
int main(std::string_view tool, int argc, char** argv);

} // namespace cep::cli
