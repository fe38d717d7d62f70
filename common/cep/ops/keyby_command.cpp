#include "cep/cli/commands.hpp"
#include "cep/errors.hpp"

namespace cep::cli {
namespace {

// Placeholder so every tool links while cep-keyby is being written.
class KeybyCommand final : public Command {
  public:
    void add_options(CLI::App&) override {}
    std::unique_ptr<Operator> make_operator(Schema&, const CommonOptions&) override {
        throw UsageError("cep-keyby is not implemented yet");
    }
};

} // namespace

std::unique_ptr<Command> make_keyby_command() { return std::make_unique<KeybyCommand>(); }

} // namespace cep::cli
