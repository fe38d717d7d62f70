#include "cep/cli/front.hpp"

#include "cep/cli/command.hpp"
#include "cep/cli/tool_app.hpp"
#include "cep/errors.hpp"
#include "cep/manifest/manifest.hpp"
#include "cep/manifest/runner.hpp"
#include "cep/testing/golden.hpp"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>
#include <unistd.h>

#ifndef CEP_VERSION
#define CEP_VERSION "0.0.0"
#endif

namespace cep::cli {
namespace fs = std::filesystem;

fs::path sibling_program(std::string_view binary) {
    std::error_code error;
    const fs::path self = fs::read_symlink("/proc/self/exe", error);
    if (!error) {
        fs::path sibling = self.parent_path() / binary;
        if (access(sibling.c_str(), X_OK) == 0) return sibling;
    }
    return fs::path(binary);
}

namespace {

struct Subcommand {
    std::string_view name;
    std::string_view summary;
};

constexpr Subcommand subcommands[] = {
    {"help", "list the tools, or show one tool's or subcommand's help"},
    {"test", "run golden test cases (cmd, in.ndjson, out.ndjson, ...) and report differences"},
    {"run", "run a pipeline manifest (pipeline.yaml)"},
    {"check", "validate a pipeline manifest without running it"},
    {"graph", "print a pipeline manifest as a Graphviz graph"},
};

/// Every subcommand's flags, bound here so that one definition serves parsing, --help, the
/// option table (completions, man-page check) and nothing can drift.
struct FrontOptions {
    // test
    std::vector<std::string> test_dirs;
    bool bless = false;
    bool keep = false;
    long timeout_seconds = 60;
    // run, check, graph
    std::string manifest;
    manifest::RunOptions run;
    std::string svg;
};

void add_subcommands(CLI::App& app, FrontOptions& options) {
    for (const auto& sub : subcommands) {
        CLI::App* cmd = app.add_subcommand(std::string(sub.name), std::string(sub.summary));
        cmd->get_formatter()->column_width(30);
        if (sub.name == "help") {
            cmd->add_option("topic", options.test_dirs, "A tool or subcommand")->type_name("TOOL");
        } else if (sub.name == "test") {
            cmd->add_option("dirs", options.test_dirs, "Case directories, or directories of cases")
                ->required()
                ->type_name("DIR...");
            cmd->add_flag("--bless", options.bless,
                          "Rewrite out.ndjson, exit and files/* from what the commands produced");
            cmd->add_flag("--keep", options.keep, "Keep each case's scratch directory and print its path");
            cmd->add_option("--timeout", options.timeout_seconds,
                            "Kill a case's command after SECONDS (default 60)")
                ->type_name("SECONDS");
        } else {
            cmd->add_option("manifest", options.manifest, "The pipeline manifest (YAML or JSON)")
                ->required()
                ->type_name("FILE");
        }
        if (sub.name == "run") {
            cmd->add_option("--mode", options.run.mode,
                            "fused: one process, operators chained; processes: one process per node, "
                            "connected by pipes; auto: fused when every node is a cep tool")
                ->check(CLI::IsMember({"auto", "fused", "processes"}))
                ->type_name("auto|fused|processes")
                ->default_str("auto");
            cmd->add_flag("--dry-run", options.run.dry_run,
                          "Print what would run (the commands, in processes mode)");
            cmd->add_option(
                   "--metrics", options.run.metrics,
                   "Append per-node metrics to FILE as NDJSON: records in and out, rates, watermark lag, "
                   "state, backpressure")
                ->type_name("FILE");
            cmd->add_option("--metrics-interval", options.run.metrics_interval,
                            "How often --metrics and --status are written (default 1s)")
                ->type_name("DURATION");
            cmd->add_flag("--status", options.run.status,
                          "Show per-node counters live on stderr (a terminal)");
        }
        if (sub.name == "graph")
            cmd->add_option("--svg", options.svg, "Also render the graph to FILE with Graphviz dot")
                ->type_name("FILE");
    }
}

void print_overview(std::FILE* out) {
    std::fprintf(out, "cep %s: complex event processing over NDJSON streams\n\n", CEP_VERSION);
    std::fprintf(out, "Usage: cep TOOL [ARGS...]      runs cep-TOOL (cep help TOOL for its options)\n");
    std::fprintf(out, "       cep SUBCOMMAND [ARGS...]\n\nTools:\n");
    for (const auto& tool : tools())
        std::fprintf(out, "  %-10.*s %.*s\n", static_cast<int>(tool.name.size()), tool.name.data(),
                     static_cast<int>(tool.summary.size()), tool.summary.data());
    std::fprintf(out, "\nSubcommands:\n");
    for (const auto& sub : subcommands)
        std::fprintf(out, "  %-10.*s %.*s\n", static_cast<int>(sub.name.size()), sub.name.data(),
                     static_cast<int>(sub.summary.size()), sub.summary.data());
    std::fprintf(out, "\nExit status: 0 ok, 1 data or runtime errors, 2 usage, expression, rule or manifest "
                      "errors.\nSee man cep(1), cep-manifest(5) and cep(7).\n");
}

/// Replaces this process with `cep-TOOL`, keeping the arguments; returns only on failure.
int exec_tool(std::string_view tool, int argc, char** argv, int first_arg) {
    const std::string binary = "cep-" + std::string(tool);
    const fs::path program = sibling_program(binary);
    std::vector<char*> args{const_cast<char*>(binary.c_str())};
    for (int i = first_arg; i < argc; ++i)
        args.push_back(argv[i]);
    args.push_back(nullptr);
    // The tool's own exit code passes through, since it replaces us.
    if (program.has_parent_path())
        execv(program.c_str(), args.data());
    else
        execvp(program.c_str(), args.data());
    std::fprintf(stderr, "cep: cannot run %s: %s\n", binary.c_str(), std::strerror(errno));
    return exit_code::data_error;
}

std::string front_options_json(CLI::App& app) {
    // One table for `cep`: its subcommands' flags together (a name means the same wherever it
    // appears), plus the subcommands and tools that complete as the first word.
    nlohmann::json merged = nlohmann::json::parse(options_json(app, "cep", "", ""));
    nlohmann::json& options = merged["options"];
    for (CLI::App* sub : app.get_subcommands({})) {
        const auto table = nlohmann::json::parse(options_json(*sub, "", "", ""));
        for (const auto& option : table["options"]) {
            if (option.contains("positional")) continue;
            bool seen = false;
            for (const auto& have : options)
                seen = seen || have["names"] == option["names"];
            if (!seen) options.push_back(option);
        }
    }
    nlohmann::json words = nlohmann::json::array();
    for (const auto& sub : subcommands)
        words.push_back({{"name", sub.name}, {"summary", sub.summary}});
    for (const auto& tool : tools())
        words.push_back({{"name", tool.name}, {"summary", tool.summary}});
    merged["summary"] = "the cep front door: tools, test, run, check, graph";
    merged["usage"] = "(TOOL [ARGS...] | help [TOOL] | test DIR... | run|check|graph MANIFEST)";
    merged["subcommands"] = words;
    return merged.dump(2);
}

int run_test(const FrontOptions& options) {
    testing::GoldenOptions golden;
    // Cases name cep-TOOL in their cmd (or have a manifest.yaml for `cep run`): our siblings.
    std::error_code error;
    const fs::path self = fs::read_symlink("/proc/self/exe", error);
    golden.bin_dir = error ? fs::path(".") : self.parent_path();
    golden.bless = options.bless;
    golden.keep_temp = options.keep;
    golden.timeout = std::chrono::seconds(options.timeout_seconds);
    std::size_t passed = 0, failed = 0;
    for (const auto& dir : options.test_dirs) {
        const auto suite = testing::run_suite(dir, golden, std::cout);
        passed += suite.passed;
        failed += suite.failed;
    }
    std::cout << passed << " passed, " << failed << " failed\n";
    return failed > 0 ? exit_code::data_error : exit_code::ok;
}

int run_manifest_command(std::string_view sub, const FrontOptions& options) {
    const manifest::Manifest pipeline = manifest::load(options.manifest);
    manifest::validate(pipeline);
    if (sub == "check") {
        std::printf("%s: ok (%zu nodes)\n", options.manifest.c_str(), pipeline.nodes.size());
        return exit_code::ok;
    }
    if (sub == "graph") {
        const std::string dot = manifest::to_dot(pipeline);
        std::fwrite(dot.data(), 1, dot.size(), stdout);
        if (!options.svg.empty()) return manifest::render_svg(dot, options.svg);
        return exit_code::ok;
    }
    return manifest::run(pipeline, options.run);
}

} // namespace

int front_main(int argc, char** argv) {
    std::signal(SIGPIPE, SIG_IGN);
    // git style: `cep filter ...` is `cep-filter ...`, decided before any parsing so the tool
    // sees its arguments untouched.
    if (argc >= 2 && find_tool(argv[1]) != nullptr) return exec_tool(argv[1], argc, argv, 2);

    FrontOptions options;
    CLI::App app{"cep: complex event processing over NDJSON streams", "cep"};
    app.set_version_flag("--version", "cep " CEP_VERSION);
    app.add_flag("--cep-options-json")->description("Print the option table as JSON")->group("");
    app.require_subcommand(0, 1);
    add_subcommands(app, options);
    for (int i = 1; i < argc; ++i) {
        if (std::string_view(argv[i]) == "--cep-options-json") {
            std::cout << front_options_json(app) << '\n';
            return exit_code::ok;
        }
    }
    if (argc < 2) {
        print_overview(stdout);
        return exit_code::ok;
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
        if (std::string_view(argv[1]).starts_with("-") || app.get_subcommands().size() > 0) {
            std::fprintf(stderr, "cep: %s\nRun 'cep help' for usage.\n", e.what());
        } else {
            std::fprintf(stderr, "cep: '%s' is not a cep tool or subcommand; see 'cep help'\n", argv[1]);
        }
        return exit_code::usage;
    }
    const auto chosen = app.get_subcommands();
    if (chosen.empty()) {
        print_overview(stdout);
        return exit_code::ok;
    }
    const std::string sub = chosen.front()->get_name();
    if (sub == "help") {
        if (options.test_dirs.empty()) {
            print_overview(stdout);
            return exit_code::ok;
        }
        const std::string& topic = options.test_dirs.front();
        if (find_tool(topic) != nullptr) {
            char help[] = "--help";
            char* args[] = {argv[0], help, nullptr};
            return exec_tool(topic, 2, args, 1);
        }
        for (CLI::App* cmd : app.get_subcommands({})) {
            if (cmd->get_name() == topic) {
                std::cout << cmd->help();
                return exit_code::ok;
            }
        }
        std::fprintf(stderr, "cep: no help on '%s': not a tool or subcommand; see 'cep help'\n",
                     topic.c_str());
        return exit_code::usage;
    }
    try {
        if (sub == "test") return run_test(options);
        return run_manifest_command(sub, options);
    } catch (const manifest::ManifestError& e) {
        for (const auto& diagnostic : e.diagnostics)
            std::fprintf(stderr, "%s\n", manifest::format(diagnostic).c_str());
        return exit_code::usage;
    } catch (const UsageError& e) {
        std::fprintf(stderr, "cep %s: %s\n", sub.c_str(), e.what());
        return exit_code::usage;
    } catch (const RuntimeError& e) {
        std::fprintf(stderr, "cep %s: error: %s\n", sub.c_str(), e.what());
        return exit_code::data_error;
    }
}

} // namespace cep::cli
