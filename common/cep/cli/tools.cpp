#include "cep/cli/commands.hpp"

#include <array>

namespace cep::cli {

std::span<const ToolInfo> tools() {
    static const std::array<ToolInfo, 3> all{{
        {"filter", "keep the records that match an expression", "[OPTIONS] EXPR [INPUT...]", make_filter_command},
        {"keyby", "key records and split them into partitions", "[OPTIONS] -k PATH[,PATH...] [INPUT...]",
         make_keyby_command},
        {"agg", "group records and compute aggregates per group", "[OPTIONS] [-g PATH[,PATH...]] AGGS [INPUT...]",
         make_agg_command},
    }};
    return all;
}

const ToolInfo* find_tool(std::string_view name) {
    for (const auto& tool : tools())
        if (tool.name == name) return &tool;
    return nullptr;
}

} // namespace cep::cli
