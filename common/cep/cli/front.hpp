#pragma once
// The `cep` front door: lists the tools, runs `cep TOOL ...` as `cep-TOOL ...` (git style), and
// owns the subcommands that work on more than one tool: test, run, check, graph.

#include <filesystem>
#include <string_view>

namespace cep::cli {

/// `cep`'s main.
int front_main(int argc, char** argv);

/// Where to run `binary` (e.g. `cep-filter`) from: next to the running executable when it is
/// there, so a build tree or an install prefix uses its own tools; else the bare name, for PATH.
std::filesystem::path sibling_program(std::string_view binary);

} // namespace cep::cli
