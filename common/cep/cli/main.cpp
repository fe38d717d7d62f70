#include "cep/cli/command.hpp"
#include "cep/cli/driver.hpp"
#include "cep/cli/tool_app.hpp"
#include "cep/errors.hpp"
#include "cep/expr/expression.hpp"
#include "cep/path.hpp"
#include "cep/time.hpp"

#include <csignal>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#ifndef CEP_VERSION
#define CEP_VERSION "0.0.0"
#endif

namespace cep::cli {
namespace {

void add_time_options(CLI::App& app, CommonOptions& common, bool event_time_tool) {
    app.add_option("--time", common.time.path,
                   "Event-time field: an RFC 3339 string or an epoch number (@kafka: the message timestamp)")
        ->type_name("PATH")
        ->default_str("ts");
    app.add_option("--time-unit", common.time_unit, "Unit of numeric event times")
        ->check(CLI::IsMember({"s", "ms", "us", "ns"}))
        ->type_name("s|ms|us|ns")
        ->default_str("ms");
    app.add_option("--watermarks", common.watermarks,
                   "Write event-time control records for a cep tool reading our output: auto (when the "
                   "reader is a cep tool), always, never")
        ->transform(
            CLI::CheckedTransformer(std::map<std::string, ControlOutput>{{"auto", ControlOutput::automatic},
                                                                         {"always", ControlOutput::always},
                                                                         {"never", ControlOutput::never}}))
        ->type_name("auto|always|never")
        ->default_str("auto");
    if (!event_time_tool) return;
    app.add_option("--max-delay", common.max_delay,
                   "Bounded out-of-orderness: the watermark trails the largest event time by DURATION")
        ->type_name("DURATION")
        ->default_str("0s");
    app.add_option("--idle-timeout", common.idle_timeout,
                   "When no input arrives for DURATION of wall-clock time, advance the watermark")
        ->type_name("DURATION");
    app.add_option("--late", common.time.late_output, "Write late records to FILE, with how late they were")
        ->type_name("FILE");
}

void resolve_time_options(CommonOptions& common) {
    common.time.unit = *parse_time_unit(common.time_unit);
    if (!common.max_delay.empty()) {
        const auto delay = parse_duration(common.max_delay);
        if (!delay) throw UsageError("--max-delay: not a duration: '" + common.max_delay + "' (try 5s, 1m)");
        common.time.max_delay = *delay;
    }
    if (!common.idle_timeout.empty()) {
        const auto idle = parse_duration(common.idle_timeout);
        if (!idle || *idle <= 0)
            throw UsageError("--idle-timeout: not a positive duration: '" + common.idle_timeout + "'");
        common.time.idle_timeout = *idle;
    }
    try {
        if (common.time.path != source_time_path) (void)parse_path(common.time.path);
    } catch (const SyntaxError& e) {
        throw UsageError("--time: bad path '" + common.time.path + "': " + e.what());
    }
}

void add_common_options(CLI::App& app, CommonOptions& common) {
    app.add_option("inputs", common.inputs, "Input files (`-` is stdin; .zst is detected and decompressed)")
        ->type_name("INPUT...");
    app.add_option("-o,--output", common.output,
                   "Write records to FILE (`-` is stdout; a .zst name compresses)")
        ->type_name("FILE");
    app.add_option("--dead-letter", common.dead_letter,
                   "Write bad records to FILE as JSON lines with source, line, reason and raw text")
        ->type_name("FILE");
    app.add_option("--on-error", common.on_error,
                   "On a bad record: skip it and exit 1 at the end, or fail at once")
        ->transform(CLI::CheckedTransformer(
            std::map<std::string, OnError>{{"skip", OnError::skip}, {"fail", OnError::fail}}))
        ->type_name("skip|fail")
        ->default_str("skip");
    app.add_flag("--stats", common.stats, "Print one JSON line of counters to stderr at the end");
    app.add_option("--stats-interval", common.stats_interval,
                   "Also print the counters every DURATION (e.g. 5s)")
        ->type_name("DURATION");
    // Not shown, not completed: `cep run --metrics` in processes mode passes them to each node, and
    // reads its counters (with the watermark and the time blocked) from the descriptor.
    app.add_option("--metrics-fd", common.metrics_fd, "Write stats lines for cep run to this inherited FD")
        ->group("");
    app.add_option("--metrics-interval", common.metrics_interval, "How often --metrics-fd gets a line")
        ->group("");
    app.add_option("--progress", common.progress,
                   "Progress bar on stderr: auto (when stderr is a terminal), always, never")
        ->check(CLI::IsMember({"auto", "always", "never"}))
        ->type_name("auto|always|never")
        ->default_str("auto");
    app.add_option("--max-line-bytes", common.max_line_bytes,
                   "Longest accepted input line in bytes (default 128 MiB)")
        ->type_name("BYTES");
    app.add_flag("--strict", common.strict,
                 "Fully validate every record, including fields no operator reads (slower)");
}

/// What get_type_name() appends after the type name: ":" and the description of each validator.
std::string validator_suffix(CLI::Option& option) {
    std::string suffix;
    // CLI11 2.1 has no validator count; get_validator(i) throws past the last one.
    try {
        for (int i = 0;; ++i) {
            const std::string description = option.get_validator(i)->get_description();
            if (!description.empty()) suffix += ':' + description;
        }
    } catch (const CLI::OptionNotFound&) {
    }
    return suffix;
}

} // namespace

/// The option table behind --help, for the completion generator and the man-page check.
std::string options_json(CLI::App& app, std::string_view tool, std::string_view summary,
                         std::string_view usage) {
    nlohmann::json options = nlohmann::json::array();
    for (CLI::Option* option : app.get_options()) {
        nlohmann::json entry;
        entry["names"] = nlohmann::json::array();
        for (const auto& name : option->get_snames())
            entry["names"].push_back("-" + name);
        for (const auto& name : option->get_lnames())
            entry["names"].push_back("--" + name);
        if (entry["names"].empty()) {
            entry["positional"] = option->get_name();
        }
        entry["description"] = option->get_description();
        // Flags keep a type size of 1 in CLI11 2.1; expected(0) is what marks them.
        entry["takes_value"] = option->get_items_expected_max() != 0;
        // Only the type name (`FILE`, `skip|fail`, `once|every|every:N`), without the validators'
        // descriptions, which is what completions and the man page use.
        std::string type = option->get_type_name();
        const std::string suffix = validator_suffix(*option);
        if (type.ends_with(suffix)) type.resize(type.size() - suffix.size());
        entry["type"] = type;
        if (option->get_group().empty() || option->get_group() == "Hidden") continue;
        options.push_back(entry);
    }
    nlohmann::json out{{"tool", tool}, {"summary", summary}, {"usage", usage}, {"options", options}};
    return out.dump(2);
}

std::unique_ptr<ToolInstance> make_tool_instance(const ToolInfo& info) {
    auto tool = std::make_unique<ToolInstance>();
    tool->info = &info;
    tool->command = info.make();
    const std::string program = "cep-" + std::string(info.name);
    tool->app = std::make_unique<CLI::App>(std::string(info.summary), program);
    CLI::App& app = *tool->app;
    CommonOptions& common = tool->common;
    app.get_formatter()->column_width(34);
    app.set_version_flag("--version", program + " " CEP_VERSION);
    app.footer(
        "Exit status: 0 ok (also on a broken pipe), 1 data or runtime errors, 2 usage or expression errors.\n"
        "See man " +
        program + " and man 7 cep.");
    // Acted on before parsing, in main(); registered so that it is accepted.
    app.add_flag("--cep-options-json")->description("Print the option table as JSON")->group("");
    tool->command->add_options(app);
    add_common_options(app, common);
    add_time_options(app, common, tool->command->uses_event_time());
    io::add_kafka_options(app, common.kafka);
    return tool;
}

void finish_configure(ToolInstance& tool) {
    CommonOptions& common = tool.common;
    if (!common.stats_interval.empty() && !parse_duration(common.stats_interval))
        throw UsageError("--stats-interval: not a duration: '" + common.stats_interval + "' (try 5s, 1m)");
    if (const auto every = parse_duration(common.metrics_interval); !every || *every <= 0)
        throw UsageError("--metrics-interval: not a positive duration: '" + common.metrics_interval + "'");
    resolve_time_options(common);
    io::check_kafka_options(common.kafka);
    tool.command->configure(common);
}

std::unique_ptr<ToolInstance> parse_tool(const ToolInfo& info, const std::vector<std::string>& args) {
    auto tool = make_tool_instance(info);
    // CLI11 takes a vector in reverse order (it pops from the back).
    std::vector<std::string> reversed(args.rbegin(), args.rend());
    try {
        tool->app->parse(reversed);
    } catch (const CLI::CallForHelp&) {
        throw UsageError("--help is not an argument a pipeline can run with");
    } catch (const CLI::CallForAllHelp&) {
        throw UsageError("--help-all is not an argument a pipeline can run with");
    } catch (const CLI::CallForVersion&) {
        throw UsageError("--version is not an argument a pipeline can run with");
    } catch (const CLI::ParseError& e) {
        throw UsageError(e.what());
    }
    finish_configure(*tool);
    return tool;
}

int main(std::string_view tool_name, int argc, char** argv) {
    // A closed pipe must surface as EPIPE (exit 0), not kill us with SIGPIPE.
    std::signal(SIGPIPE, SIG_IGN);
    const ToolInfo* info = find_tool(tool_name);
    const std::string program = "cep-" + std::string(tool_name);
    if (info == nullptr) {
        std::fprintf(stderr, "cep: unknown tool '%.*s'\n", static_cast<int>(tool_name.size()),
                     tool_name.data());
        return exit_code::usage;
    }
    auto tool = make_tool_instance(*info);
    CLI::App& app = *tool->app;
    // Before parsing: a tool with required options (cep-keyby -k) must still print its table.
    for (int i = 1; i < argc; ++i) {
        if (std::string_view(argv[i]) == "--cep-options-json") {
            std::cout << options_json(app, program, info->summary, info->usage) << '\n';
            return exit_code::ok;
        }
    }

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::fprintf(stderr, "%s: %s\nRun '%s --help' for usage.\n", program.c_str(), e.what(),
                     program.c_str());
        return exit_code::usage;
    }

    try {
        finish_configure(*tool);
        return run(program, *tool->command, tool->common);
    } catch (const SyntaxError& e) {
        std::fprintf(stderr, "%s: %s\n", program.c_str(), e.what());
        return exit_code::usage;
    } catch (const UsageError& e) {
        std::fprintf(stderr, "%s: %s\n", program.c_str(), e.what());
        return exit_code::usage;
    } catch (const BrokenPipe&) {
        return exit_code::ok;
    } catch (const RuntimeError& e) {
        std::fprintf(stderr, "%s: error: %s\n", program.c_str(), e.what());
        return exit_code::data_error;
    } catch (const std::bad_alloc&) {
        std::fprintf(stderr, "%s: error: out of memory\n", program.c_str());
        return exit_code::data_error;
    }
}

} // namespace cep::cli
