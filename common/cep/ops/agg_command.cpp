#include "cep/cli/commands.hpp"
#include "cep/errors.hpp"
#include "cep/ops/agg.hpp"

#include <filesystem>

namespace cep::cli {
namespace {

/// `aggregates:1:12: message`, the list and a caret under the column.
std::string format_spec_error(std::string_view spec, std::size_t column, std::string_view message) {
    std::string out = "aggregates:1:" + std::to_string(column) + ": " + std::string(message) + "\n  ";
    for (char c : spec)
        out += (c == '\n' || c == '\r') ? ' ' : c;
    out += "\n  ";
    for (std::size_t i = 1; i < column && i <= spec.size(); ++i) {
        // One caret column per displayed character: skip UTF-8 continuation bytes.
        if ((static_cast<unsigned char>(spec[i - 1]) & 0xC0) == 0x80) continue;
        out += spec[i - 1] == '\t' ? '\t' : ' ';
    }
    out += '^';
    return out;
}

class AggCommand final : public Command {
  public:
    void add_options(CLI::App& app) override {
        app.add_option(
               "aggregates", spec_,
               "Aggregates, comma-separated: count(), sum(x), avg(x), min(x), max(x), first(x), last(x), "
               "stddev(x), distinct(x), count_distinct(x), pNN(x), top(N, x); each may end in 'as NAME'")
            ->type_name("AGGS");
        app.add_option(
               "-g,--group-by", group_by_,
               "Group by these fields (comma-separated, repeatable); results are written under the same "
               "paths. Missing fields group as null")
            ->type_name("PATH[,PATH...]")
            ->allow_extra_args(false); // one list per -g, so AGGS after it stays positional
        app.add_flag("--rollup", rollup_,
                     "Also write sub-totals for each prefix of the group fields and a grand total, marked "
                     "\"rollup\":N (N = group fields rolled up, which are left out)");
        app.add_option("--every", every_,
                       "Write results per tumbling period of event time (--time) instead of at the end; each "
                       "result covers its period only, given as \"window\":{\"start\",\"end\"}")
            ->type_name("DURATION");
        app.add_flag("--sketches", sketches_,
                     "Add each result's mergeable state as \"_sketches\", for a later cep-agg --merge");
        app.add_flag(
            "--merge", merge_,
            "Inputs are results written with --sketches: merge them by group (the aggregates come from "
            "the inputs; no AGGS)");
        app.add_flag("--no-window", no_window_,
                     "Do not group by window.start/window.end when records have them (cep-window results)");
        app.add_option("--hll-precision", options_.hll_precision,
                       "distinct(): HyperLogLog with 2^P registers, standard error 1.04/sqrt(2^P) (4..18)")
            ->type_name("P")
            ->default_str("14");
        app.add_option("--compression", options_.compression,
                       "pNN(): t-digest compression; more is more precise and larger (10..10000)")
            ->type_name("C")
            ->default_str("200");
    }

    bool uses_event_time() const override { return true; }

    void configure(CommonOptions& common) override {
        if (merge_) {
            // With --merge there is no AGGS: the first positional was an input, unless it is
            // plainly an aggregate list (and no file of that name exists).
            if (spec_.find('(') != std::string::npos && !std::filesystem::exists(spec_))
                throw UsageError("--merge takes no AGGS: the aggregates come from the inputs' _sketches "
                                 "(got '" +
                                 spec_ + "')");
            if (!spec_.empty()) common.inputs.insert(common.inputs.begin(), spec_);
            spec_.clear();
        } else if (spec_.empty()) {
            throw UsageError("missing AGGS; try: cep-agg -g event 'count(), avg(price)' events.ndjson");
        }
        if (!every_.empty()) {
            const auto every = parse_duration(every_);
            if (!every || *every <= 0)
                throw UsageError("--every: not a positive duration: '" + every_ + "' (try 30s, 1h)");
            every_ns_ = *every;
        }
    }

    std::unique_ptr<Operator> make_operator(Schema& schema, const CommonOptions& common) override {
        ops::AggConfig config;
        config.spec = spec_;
        for (const auto& list : group_by_) {
            try {
                for (auto& path : parse_path_list(list))
                    config.group_by.push_back(std::move(path));
            } catch (const SyntaxError& e) {
                throw UsageError("-g: bad path list '" + list + "' at column " + std::to_string(e.column) +
                                 ": " + e.what());
            }
        }
        config.rollup = rollup_;
        config.every = every_ns_;
        config.time = common.time;
        config.sketches = sketches_;
        config.merge = merge_;
        config.window_fields = !no_window_;
        config.options = options_;
        try {
            return std::make_unique<ops::AggOperator>(std::move(config), schema);
        } catch (const SyntaxError& e) {
            throw UsageError(format_spec_error(spec_, e.column, e.what()));
        }
    }

  private:
    std::string spec_;
    std::vector<std::string> group_by_;
    bool rollup_ = false;
    std::string every_;
    std::optional<Duration> every_ns_;
    bool sketches_ = false;
    bool merge_ = false;
    bool no_window_ = false;
    agg::AggOptions options_;
};

} // namespace

std::unique_ptr<Command> make_agg_command() {
    return std::make_unique<AggCommand>();
}

} // namespace cep::cli
