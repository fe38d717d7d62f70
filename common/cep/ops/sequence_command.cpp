#include "cep/cli/commands.hpp"
#include "cep/errors.hpp"
#include "cep/ops/sequence.hpp"
#include "cep/sequence/loader.hpp"

#include <cstdio>
#include <yaml-cpp/yaml.h>

namespace cep::cli {
namespace {

class SequenceCommand final : public Command {
  public:
    void add_options(CLI::App& app) override {
        app.add_option(
               "-r,--rules", rules_files_,
               "Rules to match, from a YAML or JSON file (many rules, one rule, or an event_list mission); "
               "may be given more than once")
            ->type_name("FILE")
            ->allow_extra_args(false); // one file per --rules: what follows is an input
        app.add_option("-p,--pattern", pattern_,
                       "One sequence rule on the command line: 'a: COND -> b: COND' (-> relaxed, => strict, "
                       "->> any; !name negates; quantifiers {n} {n,m} {n,} + * ?)")
            ->type_name("PATTERN");
        app.add_option("-k,--key", key_, "With --pattern: key field(s), PATH or PATH,PATH,...")
            ->type_name("PATH[,PATH...]");
        app.add_option("--within", within_, "With --pattern: the whole match must happen within DURATION")
            ->type_name("DURATION");
        app.add_option("--id", id_, "With --pattern: the rule's id in the output (default: pattern)")
            ->type_name("ID");
        app.add_option("--skip", skip_,
                       "With --pattern: after-match skip strategy: no_skip, skip_to_next, skip_past_last, "
                       "skip_to_first:STAGE, skip_to_last:STAGE")
            ->type_name("STRATEGY");
        app.add_option("--fire", fire_,
                       "With --pattern: write matches once per key, every match, or every N-th")
            ->type_name("once|every|every:N");
        app.add_option("--emit", emit_,
                       "With --pattern: emit template, a JSON or YAML map, e.g. '{reward: gems}'")
            ->type_name("MAP");
        app.add_flag("--no-events", no_events_, "Leave the matched events out of match records (all rules)");
        app.add_option("--timeouts", timeouts_,
                       "Write partial matches that exceeded their rule's 'within' to FILE")
            ->type_name("FILE");
        app.add_option("--backfill", backfill_,
                       "Read FILE first, as history, then the inputs; input records no later than the "
                       "history's last event time are skipped as counted (repeat for several files)")
            ->type_name("FILE")
            ->allow_extra_args(false);
        app.add_option("--key-ttl", key_ttl_,
                       "Drop the state of a key that has seen no record for DURATION of event time")
            ->type_name("DURATION");
        app.add_option("--max-partials", max_partials_,
                       "At most N partial matches per key and rule; the oldest are dropped (and counted)")
            ->type_name("N");
        app.add_flag("--watch", watch_,
                     "Reload the rules when a rules file changes (as on SIGHUP); a bad file is rejected "
                     "and the running rules stay");
        app.add_flag("--check", check_, "Load and compile the rules, print a summary, and exit");
        app.add_option("--expect", expect_,
                       "Test mode: compare the match records with FILE (NDJSON, as JSON values, in order) "
                       "instead of writing them; exit 0 when equal, else print a diff and exit 1")
            ->type_name("FILE");
        app.add_option("--explain", explain_,
                       "Trace what happens to the records and partial matches of key KEY (its bytes, as "
                       "keyby writes it): each event, the stages it advanced, false conditions, timeouts")
            ->type_name("KEY");
        app.add_option("--explain-out", explain_out_, "Write the --explain trace to FILE instead of stderr")
            ->type_name("FILE");
    }

    bool uses_event_time() const override { return true; }

    void configure(CommonOptions& common) override {
        if (rules_files_.empty() == pattern_.empty())
            throw UsageError(pattern_.empty() ? "give --rules FILE or --pattern 'a: COND -> b: COND'"
                                              : "give either --rules or --pattern, not both");
        if (!rules_files_.empty()) {
            for (const char* flag : {"--key", "--within", "--id", "--skip", "--fire", "--emit"}) {
                const bool given = (std::string_view(flag) == "--key" && !key_.empty()) ||
                                   (std::string_view(flag) == "--within" && !within_.empty()) ||
                                   (std::string_view(flag) == "--id" && !id_.empty()) ||
                                   (std::string_view(flag) == "--skip" && !skip_.empty()) ||
                                   (std::string_view(flag) == "--fire" && !fire_.empty()) ||
                                   (std::string_view(flag) == "--emit" && !emit_.empty());
                if (given)
                    throw UsageError(std::string(flag) +
                                     " goes with --pattern; in a rules file write it in the rule");
            }
            rules_ = sequence::load_rules_files(rules_files_);
        } else {
            rules_.push_back(pattern_rule());
        }
        if (no_events_)
            for (auto& rule : rules_)
                rule.emit_events = false;
        topic_filter_ = common.inputs.size() > 1;
        if (!backfill_.empty()) {
            // The driver reads inputs in order: history, then the live inputs (stdin by default).
            if (common.inputs.empty()) common.inputs.emplace_back("-");
            common.inputs.insert(common.inputs.begin(), backfill_.begin(), backfill_.end());
        }
        if (!key_ttl_.empty()) {
            const auto ttl = parse_duration(key_ttl_);
            if (!ttl || *ttl <= 0) throw UsageError("--key-ttl: not a positive duration: '" + key_ttl_ + "'");
            key_ttl_value_ = *ttl;
        }
    }

    std::unique_ptr<Operator> make_operator(Schema& schema, const CommonOptions& common) override {
        ops::SequenceOptions options;
        options.rules = rules_;
        options.time = common.time;
        options.timeouts = timeouts_;
        options.topic_filter = topic_filter_;
        options.expect = expect_;
        options.rules_files = rules_files_;
        options.watch = watch_;
        options.no_events = no_events_;
        options.backfill = backfill_;
        options.key_ttl = key_ttl_value_;
        options.max_partials = max_partials_;
        if (!explain_.empty()) options.explain = explain_;
        options.explain_out = explain_out_;
        return std::make_unique<ops::Sequence>(std::move(options), schema);
    }

    std::optional<int> run_directly(const CommonOptions& common, Diagnostics&) override {
        if (!check_) return std::nullopt;
        Schema schema;
        ops::SequenceOptions options;
        options.rules = rules_;
        options.time = common.time;
        const ops::Sequence op(std::move(options), schema);
        const auto& program = op.program();
        std::printf("%zu rules, %zu distinct conditions, %zu key groups\n", program.rules.size(),
                    program.conditions.size(), program.key_groups.size());
        for (const auto& rule : program.rules) {
            const char* kind = rule.spec.kind == sequence::RuleKind::sequence ? "sequence"
                               : rule.spec.kind == sequence::RuleKind::count  ? "count"
                                                                              : "all_of";
            std::printf("%s: %s, key %s\n", rule.spec.id.c_str(), kind,
                        program.key_groups[rule.key_group].paths.empty()
                            ? "(none)"
                            : program.key_groups[rule.key_group].paths.c_str());
        }
        return exit_code::ok;
    }

  private:
    sequence::RuleSpec pattern_rule() const {
        sequence::RuleSpec rule;
        rule.id = id_.empty() ? "pattern" : id_;
        rule.pos = {"--pattern", 0, 0};
        rule.kind = sequence::RuleKind::sequence;
        rule.stages = sequence::parse_pattern(pattern_, "--pattern");
        if (!key_.empty()) rule.key.push_back(key_);
        if (!within_.empty()) {
            const auto within = parse_duration(within_);
            if (!within || *within <= 0)
                throw UsageError("--within: not a positive duration: '" + within_ + "'");
            rule.within = *within;
        }
        if (!skip_.empty()) {
            const auto colon = skip_.find(':');
            const std::string kind = skip_.substr(0, colon);
            const std::string stage = colon == std::string::npos ? "" : skip_.substr(colon + 1);
            using sequence::SkipKind;
            if (kind == "no_skip")
                rule.skip.kind = SkipKind::no_skip;
            else if (kind == "skip_to_next")
                rule.skip.kind = SkipKind::skip_to_next;
            else if (kind == "skip_past_last")
                rule.skip.kind = SkipKind::skip_past_last;
            else if (kind == "skip_to_first")
                rule.skip.kind = SkipKind::skip_to_first;
            else if (kind == "skip_to_last")
                rule.skip.kind = SkipKind::skip_to_last;
            else
                throw UsageError("--skip: unknown strategy '" + skip_ + "'");
            const bool needs_stage = kind == "skip_to_first" || kind == "skip_to_last";
            if (needs_stage == stage.empty())
                throw UsageError(needs_stage ? "--skip " + kind + ":STAGE needs a stage name"
                                             : "--skip " + kind + " takes no stage");
            rule.skip.stage = stage;
        }
        if (!fire_.empty()) {
            if (fire_ == "once") {
                rule.fire.once = true;
            } else if (fire_ == "every") {
                rule.fire.every = 1;
            } else if (fire_.starts_with("every:")) {
                try {
                    const long long n = std::stoll(fire_.substr(6));
                    if (n < 1) throw std::invalid_argument("");
                    rule.fire.every = static_cast<std::uint64_t>(n);
                } catch (const std::exception&) {
                    throw UsageError("--fire every:N needs a positive N");
                }
            } else {
                throw UsageError("--fire: expected once, every or every:N");
            }
        }
        if (!emit_.empty()) {
            // The same loader as rule files: YAML flow maps and JSON both work.
            const auto parsed =
                sequence::parse_rules("{id: x, pattern: 'a: true', emit: " + emit_ + "}", "--emit");
            rule.emit = parsed.front().emit;
            rule.emit_pos = {"--emit", 0, 0};
        }
        return rule;
    }

    std::vector<std::string> rules_files_;
    std::vector<std::string> backfill_;
    std::string pattern_, key_, within_, id_, skip_, fire_, emit_, timeouts_, expect_, explain_, explain_out_;
    bool no_events_ = false;
    bool check_ = false;
    bool watch_ = false;
    std::string key_ttl_;
    Duration key_ttl_value_ = 0;
    std::size_t max_partials_ = 0;
    bool topic_filter_ = false;
    std::vector<sequence::RuleSpec> rules_;
};

} // namespace

std::unique_ptr<Command> make_sequence_command() {
    return std::make_unique<SequenceCommand>();
}

} // namespace cep::cli
