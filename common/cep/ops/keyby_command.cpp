#include "cep/cli/commands.hpp"
#include "cep/errors.hpp"
#include "cep/ops/keyby.hpp"
#include "cep/ops/keyed_parallel.hpp"

#include <algorithm>

namespace cep::cli {
namespace {

/// The default usage line would list the COMMAND positional before the inputs, as
/// `[command(0x)]`; say how the tool is really called.
class KeybyFormatter final : public CLI::Formatter {
  public:
    explicit KeybyFormatter(const CLI::Formatter& base) : CLI::Formatter(base) {}
    std::string make_usage(const CLI::App* app, std::string name) const override {
        (void)app;
        return get_label("Usage") + ": " + name +
               " [OPTIONS] -k PATH[,PATH...] [INPUT...] [-j N -- COMMAND [ARGS...]]\n";
    }
};

class KeybyCommand final : public Command {
  public:
    void add_options(CLI::App& app) override {
        app.add_option(
               "-k,--key", key_paths_,
               "Key field(s): PATH or PATH,PATH,... (composite keys are JSON arrays, see KEY ENCODING)")
            ->type_name("PATH[,PATH...]")
            ->required();
        app.add_option("--partitions", partitions_,
                       "Split records into N outputs by Kafka's partition of their key (murmur2); "
                       "-o must contain {p}")
            ->type_name("N")
            ->check(CLI::Range(1U, 2147483647U).description(""));
        app.add_option("--missing-key", missing_key_,
                       "A record without a key field: error (dead letter, exit 1) or null (key it as null)")
            ->check(CLI::IsMember({"error", "null"}))
            ->type_name("error|null")
            ->default_str("error");
        emit_key_option_ =
            app.add_option("--emit-key", emit_key_,
                           "Also write the key into each record, as the string field NAME (placed first)")
                ->type_name("NAME");
        app.add_option("-j,--jobs", jobs_,
                       "Run N (1-1024) copies of the COMMAND given after --; copy i gets the records of "
                       "partition i and their outputs are merged line by line")
            ->type_name("N")
            ->check(CLI::Range(1U, 1024U).description(""));
        // Only what follows `--` is the command: CLI11 files it under `--` in remaining() while
        // it parses, and positionals before that are inputs (checked with validate_positionals).
        const CLI::App* parsing = &app;
        app.validate_positionals();
        app.add_option("command", command_,
                       "With -j: the command to run, after -- (e.g. -j 4 -- cep-filter 'level > 3')")
            ->type_name("COMMAND [ARGS...]")
            ->expected(0, 1 << 20)
            ->allow_extra_args()
            ->check(CLI::Validator(
                [parsing](std::string&) -> std::string {
                    const auto seen = parsing->remaining();
                    return std::find(seen.begin(), seen.end(), "--") != seen.end() ? "" : "not after --";
                },
                "", "after --"));
        if (auto base = std::dynamic_pointer_cast<CLI::Formatter>(app.get_formatter()))
            app.formatter(std::make_shared<KeybyFormatter>(*base));
    }

    void configure(CommonOptions& common) override {
        try {
            paths_ = parse_path_list(key_paths_);
        } catch (const SyntaxError& e) {
            throw UsageError("-k: bad key path '" + key_paths_ + "' at column " + std::to_string(e.column) +
                             ": " + e.what());
        }
        if (jobs_ > 0 && command_.empty())
            throw UsageError(
                "-j needs a command after --, e.g. cep-keyby -k id -j 4 -- cep-filter 'level > 3'");
        if (jobs_ == 0 && !command_.empty())
            throw UsageError("a command after -- needs -j N (how many copies to run)");
        if (jobs_ > 0 && partitions_ > 0)
            throw UsageError(
                "--partitions and -j do not combine: with -j N, copy i already gets partition i of N");
        const bool marker = common.output.find("{p}") != std::string::npos;
        if (partitions_ > 0 && !marker)
            throw UsageError("--partitions needs an output name with {p} in it, e.g. -o 'part-{p}.ndjson'");
        if (marker && partitions_ == 0 && jobs_ == 0)
            throw UsageError("-o '" + common.output +
                             "' has {p} but no --partitions N says how many outputs");
        if (emit_key_.empty() && emit_key_option_->count() > 0)
            throw UsageError("--emit-key needs a field name");
    }

    std::unique_ptr<Operator> make_operator(Schema& schema, const CommonOptions&) override {
        return std::make_unique<ops::KeyBy>(options(), schema);
    }

    std::uint32_t output_partitions() const override { return partitions_; }

    std::optional<int> run_directly(const CommonOptions& common, Diagnostics& diagnostics) override {
        if (jobs_ == 0) return std::nullopt;
        return ops::run_keyed_parallel(diagnostics.tool(), common, diagnostics, options(), command_, jobs_);
    }

  private:
    ops::KeyByOptions options() const {
        ops::KeyByOptions options;
        options.paths = paths_;
        options.missing = missing_key_ == "null" ? ops::MissingKey::null : ops::MissingKey::reject;
        options.partitions = partitions_;
        options.emit_key = emit_key_;
        return options;
    }

    std::string key_paths_;
    std::vector<Path> paths_;
    std::uint32_t partitions_ = 0;
    std::string missing_key_ = "error";
    std::string emit_key_;
    const CLI::Option* emit_key_option_ = nullptr;
    std::uint32_t jobs_ = 0;
    std::vector<std::string> command_;
};

} // namespace

std::unique_ptr<Command> make_keyby_command() {
    return std::make_unique<KeybyCommand>();
}

} // namespace cep::cli
