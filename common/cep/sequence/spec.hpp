#pragma once
// The rules of cep-sequence as written by people: parsed from YAML/JSON (or the one-rule
// command line) but not yet compiled. Every element remembers where it was written so that a
// bad rule is reported as `rules.yaml:12:7: ...`.

#include "cep/time.hpp"

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace cep::sequence {

/// Where something was written; line 0 when unknown (e.g. the command line).
struct SourcePos {
    std::string file;
    int line = 0;   ///< 1-based
    int column = 0; ///< 1-based
    /// `file:line:col` (or just `file`) for messages.
    std::string to_string() const;
};

/// A stage or part condition: the expression language, or the operators' data form.
struct ConditionSpec {
    std::string text;    ///< expression text; empty when `data` is used
    nlohmann::json data; ///< list of {field, value, type, operator}, or null
    SourcePos pos;       ///< where the condition text starts
    bool quoted = false; ///< written as a quoted YAML scalar (columns shift by one)
    bool empty() const { return text.empty() && data.is_null(); }
};

/// How a stage relates to the events before it (Flink: next / followedBy / followedByAny).
enum class Contiguity : std::uint8_t { strict, relaxed, any };
enum class Negation : std::uint8_t { none, not_next, not_followed_by };

struct StageSpec {
    std::string name;
    ConditionSpec where;
    std::uint32_t min = 1; ///< times: [min, max]; looping stages have no max
    std::uint32_t max = 1;
    bool looping = false; ///< one_or_more / times_or_more
    bool optional = false;
    bool greedy = false;
    Contiguity contiguity = Contiguity::relaxed; ///< to the previous stage
    Contiguity inner = Contiguity::relaxed;      ///< between the events of a looping stage
    Negation negation = Negation::none;
    SourcePos pos;
};

/// One counted condition of a count or all-of rule.
struct PartSpec {
    std::string name;
    ConditionSpec where;
    std::uint64_t count = 1;
    std::string topic; ///< empty: the rule's topic
    SourcePos pos;
};

enum class RuleKind : std::uint8_t { count, all_of, sequence };
enum class SkipKind : std::uint8_t { no_skip, skip_to_next, skip_past_last, skip_to_first, skip_to_last };

struct SkipSpec {
    SkipKind kind = SkipKind::no_skip;
    std::string stage; ///< for skip_to_first / skip_to_last
};

/// Which matches are written: the first per key only, or every N-th (N = 1: all).
struct FireSpec {
    bool once = false;
    std::uint64_t every = 1;
};

enum class OnChange : std::uint8_t { keep, reset };

struct RuleSpec {
    std::string id;
    SourcePos pos;
    RuleKind kind = RuleKind::sequence;
    std::vector<std::string> key; ///< key paths; empty: one global key
    std::string topic;
    std::vector<StageSpec> stages; ///< sequence rules
    std::vector<PartSpec> parts;   ///< count (one part) and all-of rules
    std::optional<Duration> within;
    std::optional<std::uint64_t> within_events; ///< count rules: a count window
    SkipSpec skip;
    FireSpec fire;
    nlohmann::ordered_json emit; ///< template object (members in written order), or null
    SourcePos emit_pos;
    bool emit_events = true;
    std::optional<Timestamp> active_from, active_until;
    OnChange on_change = OnChange::keep;
};

} // namespace cep::sequence
