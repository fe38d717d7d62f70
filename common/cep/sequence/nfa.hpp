#pragma once
// The automaton of a sequence rule, built the way Flink's NFACompiler builds it, so that
// quantifiers, contiguity, negation and greediness have Flink CEP's semantics: states with
// TAKE (consume the event), IGNORE (skip it, stay) and PROCEED (epsilon) edges, a Final state,
// Stop states for negations, and a Pending state for a trailing not_followed_by that completes
// when the rule's `within` passes.
//
// Edge conditions are small boolean formulas over the stages' conditions ("b holds and c does
// not"), evaluated per event and partial match by the engine.

#include "cep/sequence/spec.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace cep::sequence {

enum class Action : std::uint8_t { take, ignore, proceed };
enum class StateType : std::uint8_t { normal, final, stop, pending };

using CondId = std::uint16_t;
using StateId = std::uint16_t;

/// A node of an edge condition. `stage`: the condition of stage `a`; `negate`: !a; `all`: a && b;
/// `any`: a || b (a, b are CondIds).
struct CondNode {
    enum class Op : std::uint8_t { always, stage, negate, all, any } op = Op::always;
    std::uint16_t a = 0, b = 0;
};

struct Edge {
    Action action;
    StateId target;
    CondId cond;
};

struct NfaState {
    std::uint16_t stage; ///< the user stage this state belongs to (for naming taken events)
    StateType type;
    std::vector<Edge> edges;
};

struct Nfa {
    std::vector<NfaState> states;
    std::vector<CondNode> conds;
    StateId start = 0;
    /// The stage conditions that can take the first event (through PROCEED edges from the
    /// start): a new partial match can only begin on an event for which one of them holds.
    std::vector<std::uint16_t> start_stages;
    /// True when a start edge's condition is not a plain stage condition (e.g. `!b`), so any
    /// event may begin a match.
    bool starts_on_any = false;

    /// Text form for tests and --explain: one line per state with its edges.
    std::string describe(const std::vector<StageSpec>& stages) const;
};

/// Builds the automaton; throws UsageError (prefixed with `where`) for patterns Flink rejects:
/// a negated first stage, a negation after an optional stage, a trailing not_followed_by
/// without `within`, a pattern that can match without any event.
Nfa compile_nfa(const std::vector<StageSpec>& stages, std::optional<Duration> within,
                const std::string& where);

} // namespace cep::sequence
