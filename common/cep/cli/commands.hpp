#pragma once
// Factories of each tool's Command, one per tool, defined next to the tool's operator.

#include "cep/cli/command.hpp"

namespace cep::cli {

std::unique_ptr<Command> make_filter_command();
std::unique_ptr<Command> make_keyby_command();
std::unique_ptr<Command> make_window_command();
std::unique_ptr<Command> make_agg_command();
std::unique_ptr<Command> make_sequence_command();
std::unique_ptr<Command> make_replay_command();

} // namespace cep::cli
