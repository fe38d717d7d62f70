#pragma once
// Rules compiled for matching: conditions compiled once and shared across rules (a condition
// written the same way in 1,000 rules is evaluated once per event), the automaton of each
// sequence rule, emit templates, and the index that sends an event only to the rules whose first
// stage it can start.

#include "cep/expr/expression.hpp"
#include "cep/key.hpp"
#include "cep/sequence/nfa.hpp"
#include "cep/sequence/spec.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace cep::sequence {

/// Distinct conditions, each evaluated at most once per event (results are cached until
/// next_event()).
class ConditionTable {
  public:
    /// Adds `expression` under its canonical text, or returns the id of an equal one.
    std::uint32_t add(expr::Expression expression);
    void next_event() {
        if (++generation_ == 0) { // wrapped: forget every cached result
            std::fill(generations_.begin(), generations_.end(), 0);
            generation_ = 1;
        }
    }
    bool test(std::uint32_t id, const Record& record) {
        if (generations_[id] == generation_) return results_[id];
        const bool result = expressions_[id].test(record);
        generations_[id] = generation_;
        results_[id] = result;
        return result;
    }
    const expr::Expression& expression(std::uint32_t id) const { return expressions_[id]; }
    /// The canonical text of condition `id` (what a reloaded program knows it by).
    const std::string& text(std::uint32_t id) const { return texts_[id]; }
    /// The id of the condition with canonical text `text`, if there is one.
    std::optional<std::uint32_t> find(const std::string& text) const {
        const auto it = by_text_.find(text);
        if (it == by_text_.end()) return std::nullopt;
        return it->second;
    }
    std::size_t size() const { return expressions_.size(); }

    /// Whitespace outside string literals removed: `a==1` and `a == 1` are one condition.
    static std::string canonical(std::string_view text);

  private:
    std::vector<expr::Expression> expressions_;
    std::vector<std::string> texts_;
    std::unordered_map<std::string, std::uint32_t> by_text_;
    std::vector<std::uint32_t> generations_;
    std::vector<std::uint8_t> results_;
    std::uint32_t generation_ = 1;
};

/// Record fields copied into a stored event because a later stage's condition or an emit
/// template reads them (`b.level > a.level`, `${a.level}`).
class CaptureTable {
  public:
    std::uint32_t add(Slot slot);
    const std::vector<Slot>& slots() const { return slots_; }
    void seed(const std::vector<Slot>& slots) { slots_ = slots; }

  private:
    std::vector<Slot> slots_;
};

/// Where a stage's condition or a template finds a value of an earlier event.
struct StageRef {
    std::uint16_t stage;
    std::uint32_t capture;
};

/// A condition that reads fields of events matched by earlier stages. It is compiled against a
/// schema of its own; each of its slots is filled from the current record or from a captured
/// value of an earlier stage's (last) event before evaluation.
struct BoundCondition {
    expr::Expression expression;
    struct Input {
        bool from_stage = false;
        Slot slot = 0;  ///< record slot (main schema)
        StageRef ref{}; ///< when from_stage
    };
    std::vector<Input> inputs; ///< one per slot of the condition's own schema
};

/// How a stage or part tests an event: a shared condition, or a bound one.
struct StageCondition {
    bool bound = false;
    std::uint32_t id = 0; ///< ConditionTable id, or index into Program::bound
};

/// `${key}`, `${rule}`, `${match_start}`, `${match_end}`, `${stage.path}`.
struct Placeholder {
    enum class Kind : std::uint8_t { key, rule, match_start, match_end, field } kind = Kind::key;
    StageRef ref{};
};

/// Supplies placeholder values while a template is rendered.
class TemplateContext {
  public:
    virtual ~TemplateContext() = default;
    /// Appends the value: as a JSON value when `json`, else as text inside a string.
    virtual void append(const Placeholder& placeholder, std::string& out, bool json) = 0;
};

/// An emit template: the members of a JSON object with `${...}` placeholders. A string that is
/// exactly one placeholder takes the value's JSON type (`"${a.level}"` -> 42); placeholders
/// inside longer strings are interpolated as text.
class Template {
  public:
    /// Appends `,"name":value` for each member.
    void render(std::string& out, TemplateContext& context) const;
    bool empty() const { return ops_.empty(); }

    struct Op {
        enum class Kind : std::uint8_t { literal, value, interpolate } kind = Kind::literal;
        std::string text;                      ///< literal JSON text
        Placeholder placeholder;               ///< value
        std::vector<std::string> pieces;       ///< interpolate: text pieces around placeholders
        std::vector<Placeholder> placeholders; ///< interpolate: pieces.size() - 1 of them
    };
    std::vector<Op> ops_;
    std::string scratch_;
};

struct CompiledPart {
    std::string name;
    StageCondition cond;
    std::uint64_t count = 1;
    int topic = -1; ///< -1: any topic
};

struct CompiledRule {
    RuleSpec spec;
    std::uint32_t index = 0;
    std::uint32_t key_group = 0;
    int topic = -1;
    Nfa nfa;                                 ///< sequence rules
    std::vector<StageCondition> stage_conds; ///< sequence rules: one per stage
    std::vector<CompiledPart> parts;         ///< count and all-of rules
    std::vector<std::string> stage_names;    ///< names of stages (or parts), for output
    Duration within = 0;                     ///< 0: no time limit
    std::uint64_t within_events = 0;         ///< count window; 0: none
    std::uint16_t skip_stage = 0;            ///< skip_to_first / skip_to_last
    Template emit;
    /// Start conditions that hold for an event let it begin a match; a rule with
    /// `starts_on_any` is tried on every event.
    bool starts_on_any = false;
    /// An event for which none of these shared conditions holds leaves the rule's state as it
    /// is, unless `sees_every_event` (strict contiguity, not_next, count windows, conditions on
    /// earlier stages): such events are not stepped through the rule at all.
    std::vector<std::uint32_t> relevant_conditions;
    bool sees_every_event = false;
};

/// Rules sharing key paths share the per-key state table.
struct KeyGroup {
    std::string paths; ///< canonical `a,b.c`; empty: the one global key
    std::optional<KeyExtractor> extractor;
    std::vector<Slot> slots; ///< the key fields' slots, to write a key as the JSON it was
    std::vector<std::uint32_t> rules;
    /// The union over the group's rules: an event that no rule of the group can be changed
    /// by skips the key lookup altogether.
    std::vector<std::uint32_t> relevant_conditions;
    bool sees_every_event = false;
};

class Program {
  public:
    /// Compiles `rules`, registering every path they read in `schema`. Throws UsageError naming
    /// the file, line and column of a bad condition, template or pattern.
    /// `captures` seeds the capture table, so that a reloaded program reads the fields events
    /// stored under the previous one captured at the same indices.
    Program(std::vector<RuleSpec> rules, Schema& schema, const std::vector<Slot>& captures = {});
    Program(const Program&) = delete;
    Program& operator=(const Program&) = delete;

    std::vector<CompiledRule> rules;
    std::vector<KeyGroup> key_groups;
    ConditionTable conditions;
    std::vector<BoundCondition> bound;
    CaptureTable captures;
    std::vector<std::string> topics;

    /// Distinct start conditions, each with the rules it may start.
    struct Starter {
        std::uint32_t condition;
        std::vector<std::uint32_t> rules;
    };
    std::vector<Starter> starters;
    std::vector<std::uint32_t> always_start; ///< rules tried on every event

    /// Id of topic `name`, or -1 when no rule names it.
    int topic_id(std::string_view name) const;

  private:
    void compile_rule(CompiledRule& rule, Schema& schema);
    StageCondition compile_condition(const ConditionSpec& spec, const std::vector<std::string>& earlier,
                                     Schema& schema, const std::string& what);
    Template compile_template(const nlohmann::ordered_json& emit, const SourcePos& pos,
                              const std::vector<std::string>& stages, const std::vector<bool>& has_events,
                              Schema& schema);
    int intern_topic(const std::string& name);
};

} // namespace cep::sequence
