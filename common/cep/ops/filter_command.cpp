#include "cep/cli/commands.hpp"
#include "cep/errors.hpp"
#include "cep/ops/conditions_file.hpp"
#include "cep/ops/filter.hpp"

namespace cep::cli {
namespace {

class FilterCommand final : public Command {
  public:
    void add_options(CLI::App& app) override {
        app.add_option("expression", expression_, "Expression to test each record against (see man 7 cep)")
            ->type_name("EXPR");
        app.add_option("-c,--conditions", conditions_file_,
                       "Read the condition from FILE instead: a YAML or JSON list of {field, value, type, operator}")
            ->type_name("FILE");
        app.add_flag("-v,--invert", invert_, "Keep the records that do not match");
    }

    void configure(CommonOptions& common) override {
        if (!conditions_file_.empty()) {
            // With --conditions there is no EXPR: the first positional was an input.
            if (!expression_.empty()) common.inputs.insert(common.inputs.begin(), expression_);
            expression_.clear();
        } else if (expression_.empty()) {
            throw UsageError("missing EXPR (or --conditions FILE); try: cep-filter 'event == \"kill\"' events.ndjson");
        }
    }

    std::unique_ptr<Operator> make_operator(Schema& schema, const CommonOptions&) override {
        if (!conditions_file_.empty())
            return std::make_unique<ops::Filter>(ops::load_conditions_file(conditions_file_, schema), invert_);
        try {
            return std::make_unique<ops::Filter>(expr::compile(expression_, schema), invert_);
        } catch (const SyntaxError& e) {
            throw UsageError(expr::format_syntax_error(expression_, e.column, e.what()));
        }
    }

  private:
    std::string expression_;
    std::string conditions_file_;
    bool invert_ = false;
};

} // namespace

std::unique_ptr<Command> make_filter_command() { return std::make_unique<FilterCommand>(); }

} // namespace cep::cli
