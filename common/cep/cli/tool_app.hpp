#pragma once
// A tool's command line as its binary defines it, usable outside that binary: the front door
// (`cep check`, `cep run --mode fused`) parses a manifest node's arguments with exactly the flags,
// validators and configure() step that `cep-TOOL` itself would apply.

#include "cep/cli/command.hpp"

#include <memory>
#include <string>
#include <vector>

namespace cep::cli {

/// One tool's Command, its options and the CLI11 app that binds them. Held by pointer: the app
/// keeps references into `common` and the command.
struct ToolInstance {
    const ToolInfo* info = nullptr;
    std::unique_ptr<Command> command;
    CommonOptions common;
    std::unique_ptr<CLI::App> app;
};

/// Builds the tool's app (every flag bound), not yet parsed.
std::unique_ptr<ToolInstance> make_tool_instance(const ToolInfo& info);

/// After parsing: checks durations and Kafka flags, resolves time options, calls configure().
/// Throws UsageError or SyntaxError.
void finish_configure(ToolInstance& tool);

/// Parses `args` (the words after the binary name) and configures, as `cep-TOOL args...` would.
/// Throws UsageError with CLI11's message on a bad flag; --help and --version are usage errors
/// here, since a manifest cannot ask for them.
std::unique_ptr<ToolInstance> parse_tool(const ToolInfo& info, const std::vector<std::string>& args);

/// The tool's option table as `--cep-options-json` prints it.
std::string options_json(CLI::App& app, std::string_view tool, std::string_view summary,
                         std::string_view usage);

} // namespace cep::cli
