#include "cep/cli/commands.hpp"

#include <array>

namespace cep::cli {

std::span<const ToolInfo> tools() {
    static const std::array<ToolInfo, 6> all{{
        {"filter", "keep the records that match an expression", "[OPTIONS] EXPR [INPUT...]", make_filter_command},
        {"keyby", "key records and split them into partitions", "[OPTIONS] -k PATH[,PATH...] [INPUT...]",
         make_keyby_command},
        {"window", "aggregate records per key over tumbling, sliding, session or count windows",
         "[OPTIONS] (--tumbling SIZE | --sliding SIZE --every SLIDE | --session GAP | --count N) [INPUT...]",
         make_window_command},
        {"agg", "group records and compute aggregates per group", "[OPTIONS] [-g PATH[,PATH...]] AGGS [INPUT...]",
         make_agg_command},
        {"sequence", "detect event patterns per key: counts, all-of sets and sequences, in event time",
         "[OPTIONS] (--rules FILE | --pattern PATTERN) [INPUT...]", make_sequence_command},
        {"replay", "replay archived records in event-time order, or archive a stream into time-partitioned files",
         "[OPTIONS] [ARCHIVE...|DIR|kafka://...] | --archive DIR [INPUT...]", make_replay_command},
    }};
    return all;
}

const ToolInfo* find_tool(std::string_view name) {
    for (const auto& tool : tools())
        if (tool.name == name) return &tool;
    return nullptr;
}

} // namespace cep::cli
