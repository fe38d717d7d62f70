// The construction follows Flink's NFACompiler (the pattern is converted from its last stage to
// its first, each stage into one or more states pointing at the states of the stages after it),
// without group patterns and `until`, which cep-sequence does not offer.

#include "cep/sequence/nfa.hpp"

#include "cep/errors.hpp"

#include <algorithm>
#include <map>
#include <set>

namespace cep::sequence {
namespace {

constexpr StateId no_state = 0xffff;

class Builder {
  public:
    Builder(const std::vector<StageSpec>& stages, std::optional<Duration> within, std::string where)
        : stages_(stages), within_(within), where_(std::move(where)) {}

    Nfa build() {
        validate();
        // Condition 0 is `true`.
        nfa_.conds.push_back({CondNode::Op::always, 0, 0});
        StateId sink = new_state(0, StateType::final);
        current_ = static_cast<int>(stages_.size()) - 1;
        while (current_ > 0) {
            const StageSpec& stage = stages_[current_];
            if (stage.negation == Negation::not_followed_by) {
                // In the middle it becomes conditions on the edges around it (add_stop_states);
                // at the end it is a Pending state that completes when `within` passes.
                if (nfa_.states[sink].type == StateType::final) {
                    const StateId pending = new_state(current_, StateType::pending);
                    const CondId cond = stage_cond(current_);
                    add(pending, Action::proceed, stop_state(current_), cond);
                    add(pending, Action::ignore, pending, negate(cond));
                    sink = pending;
                }
            } else if (stage.negation == Negation::not_next) {
                const StateId not_next = new_state(current_, StateType::normal);
                const CondId cond = stage_cond(current_);
                // Before Final the event is ignored rather than proceeded with, so the match
                // completes on the next event that is not `cond` without consuming it.
                if (nfa_.states[sink].type == StateType::final)
                    add(not_next, Action::ignore, sink, negate(cond));
                else
                    add(not_next, Action::proceed, sink, negate(cond));
                add(not_next, Action::proceed, stop_state(current_), cond);
                sink = not_next;
            } else {
                sink = convert(sink);
            }
            --current_;
        }
        nfa_.start = convert(sink);
        find_start_stages();
        return std::move(nfa_);
    }

  private:
    [[noreturn]] void fail(const SourcePos& pos, const std::string& message) const {
        throw UsageError((pos.line > 0 ? pos.to_string() : where_) + ": " + message);
    }

    void validate() const {
        if (stages_.empty()) throw UsageError(where_ + ": a pattern needs at least one stage");
        std::set<std::string> names;
        for (std::size_t i = 0; i < stages_.size(); ++i) {
            const StageSpec& s = stages_[i];
            if (!names.insert(s.name).second) fail(s.pos, "stage name '" + s.name + "' is used twice");
            if (s.negation == Negation::none) continue;
            if (i == 0) fail(s.pos, "a pattern cannot begin with a negated stage ('" + s.name + "')");
            if (s.looping || s.optional || s.min != 1 || s.max != 1 || s.greedy)
                fail(s.pos, "negated stage '" + s.name + "' cannot have a quantifier");
            if (stages_[i - 1].optional)
                fail(s.pos, "negated stage '" + s.name + "' cannot follow an optional stage (as in Flink)");
            if (i + 1 == stages_.size() && s.negation == Negation::not_followed_by && !within_)
                fail(s.pos, "a pattern can only end with not_followed_by ('" + s.name +
                                "') when it has 'within' (the match completes when that time has passed)");
        }
        bool all_optional = true;
        for (const auto& s : stages_)
            if (s.negation == Negation::none && !s.optional) all_optional = false;
        if (all_optional)
            throw UsageError(where_ + ": every stage is optional, so the pattern would match nothing");
    }

    StateId new_state(int stage, StateType type) {
        nfa_.states.push_back({static_cast<std::uint16_t>(stage), type, {}});
        return static_cast<StateId>(nfa_.states.size() - 1);
    }
    void add(StateId from, Action action, StateId to, CondId cond) {
        nfa_.states[from].edges.push_back({action, to, cond});
    }

    CondId node(CondNode::Op op, std::uint16_t a, std::uint16_t b = 0) {
        nfa_.conds.push_back({op, a, b});
        return static_cast<CondId>(nfa_.conds.size() - 1);
    }
    CondId always() const { return 0; }
    CondId stage_cond(int stage) {
        const auto it = stage_conds_.find(stage);
        if (it != stage_conds_.end()) return it->second;
        return stage_conds_[stage] = node(CondNode::Op::stage, static_cast<std::uint16_t>(stage));
    }
    CondId negate(CondId a) { return node(CondNode::Op::negate, a); }
    CondId all(CondId a, CondId b) { return node(CondNode::Op::all, a, b); }
    CondId any(CondId a, CondId b) { return node(CondNode::Op::any, a, b); }

    /// The IGNORE condition between this stage and the one before: none for strict contiguity,
    /// "not this stage" for relaxed (skip till next), true for any (skip till any).
    std::optional<CondId> ignore_cond(Contiguity contiguity) {
        switch (contiguity) {
        case Contiguity::strict:
            return std::nullopt;
        case Contiguity::relaxed:
            return negate(stage_cond(current_));
        case Contiguity::any:
            return always();
        }
        return std::nullopt;
    }

    /// The stop state of negated stage `stage`: reaching it discards the partial match.
    StateId stop_state(int stage) {
        const auto it = stop_states_.find(stage);
        if (it != stop_states_.end()) return it->second;
        const StateId stop = new_state(stage, StateType::stop);
        add(stop, Action::take, stop, stage_cond(stage));
        stop_states_[stage] = stop;
        return stop;
    }

    /// not_followed_by stages before the current one that still apply: the one right before it,
    /// and those before optional stages that may be skipped.
    std::vector<int> current_nots() const {
        std::vector<int> out;
        int previous = current_;
        while (previous > 0 && (stages_[previous - 1].optional ||
                                stages_[previous - 1].negation == Negation::not_followed_by)) {
            --previous;
            if (stages_[previous].negation == Negation::not_followed_by) out.push_back(previous);
        }
        return out;
    }

    void add_stop_states(StateId state) {
        for (int stage : current_nots())
            add(state, Action::proceed, stop_state(stage), stage_cond(stage));
    }

    void add_stop_to_looping(StateId state) {
        const int following = current_ + 1;
        if (following < static_cast<int>(stages_.size()) &&
            stages_[following].negation == Negation::not_followed_by)
            add(state, Action::proceed, stop_state(following), stage_cond(following));
    }

    /// Taking an event in an optional stage ends the negations before it: the copy of `sink` it
    /// leads to has no edges into their stop states.
    StateId copy_without_transitive_nots(StateId sink) {
        const std::vector<int> nots = current_nots();
        if (nots.empty() || !stages_[current_].optional) return sink;
        const StateId copy = new_state(nfa_.states[sink].stage, nfa_.states[sink].type);
        const std::vector<Edge> edges = nfa_.states[sink].edges; // new states may reallocate
        for (const Edge& edge : edges) {
            if (edge.action == Action::proceed) {
                StateId target = edge.target;
                bool remove = false;
                if (nfa_.states[target].type == StateType::stop) {
                    for (int stage : nots)
                        if (stop_state(stage) == target) remove = true;
                } else {
                    target = copy_without_transitive_nots(target);
                }
                if (!remove) add(copy, Action::proceed, target, edge.cond);
            } else {
                add(copy, edge.action, edge.target == sink ? copy : edge.target, edge.cond);
            }
        }
        return copy;
    }

    CondId greedy_cond(CondId take, std::optional<CondId> ignore) {
        // Proceed only when the loop cannot take the event (and the next stage can), or when the
        // event can be neither taken nor ignored.
        CondId greedy = negate(take);
        if (following_take_) greedy = all(greedy, *following_take_);
        if (ignore) return any(greedy, negate(any(take, *ignore)));
        return any(greedy, negate(take));
    }

    void update_following_take(CondId take, bool optional) {
        following_take_ = optional && following_take_ ? any(take, *following_take_) : take;
    }

    StateId create_singleton(StateId sink, StateId proceed, CondId take, std::optional<CondId> ignore,
                             bool optional) {
        const StageSpec& stage = stages_[current_];
        const StateId state = new_state(current_, StateType::normal);
        const StateId target = copy_without_transitive_nots(sink);
        add(state, Action::take, target, take);
        CondId proceed_cond = always();
        if (optional) {
            if (stage.greedy) proceed_cond = greedy_cond(take, ignore);
            add(state, Action::proceed, proceed, proceed_cond);
        }
        if (ignore) {
            StateId ignore_state = state;
            if (optional) {
                // A separate state without the PROCEED edge, so that skipping events does not
                // branch a new "proceed" path on every event.
                ignore_state = new_state(current_, StateType::normal);
                add(ignore_state, Action::take, target, take);
                add(ignore_state, Action::ignore, ignore_state, *ignore);
                add_stop_states(ignore_state);
                if (stage.greedy) add(ignore_state, Action::proceed, proceed, proceed_cond);
            }
            add(state, Action::ignore, ignore_state, *ignore);
        }
        update_following_take(take, optional);
        return state;
    }

    StateId create_looping(StateId sink) {
        const StageSpec& stage = stages_[current_];
        const CondId take = stage_cond(current_);
        const std::optional<CondId> ignore = ignore_cond(stage.inner);
        const CondId proceed_cond = stage.greedy ? greedy_cond(take, ignore) : always();
        const StateId looping = new_state(current_, StateType::normal);
        add(looping, Action::proceed, sink, proceed_cond);
        add(looping, Action::take, looping, take);
        add_stop_to_looping(looping);
        if (ignore) {
            const StateId ignore_state = new_state(current_, StateType::normal);
            add(ignore_state, Action::take, looping, take);
            add(ignore_state, Action::ignore, ignore_state, *ignore);
            add(looping, Action::ignore, ignore_state, *ignore);
            if (stage.greedy) add(ignore_state, Action::proceed, sink, proceed_cond);
            add_stop_to_looping(ignore_state);
        }
        update_following_take(take, true);
        return looping;
    }

    StateId create_times(StateId sink, StateId proceed, std::uint32_t from, std::uint32_t to) {
        const StageSpec& stage = stages_[current_];
        const CondId take = stage_cond(current_);
        const std::optional<CondId> inner_ignore = ignore_cond(stage.inner);
        if (stage.greedy && from != to) {
            // The stage after a greedy times(from, to) may not take what the loop could take.
            for (Edge& edge : nfa_.states[sink].edges)
                edge.cond = all(edge.cond, negate(take));
        }
        StateId last = sink;
        for (std::uint32_t i = from; i < to; ++i) {
            last = create_singleton(last, proceed, take, inner_ignore, true);
            add_stop_to_looping(last);
        }
        for (std::uint32_t i = 0; i + 1 < from; ++i) {
            last = create_singleton(last, no_state, take, inner_ignore, false);
            add_stop_to_looping(last);
        }
        return create_singleton(last, proceed, take, ignore_cond(stage.contiguity), stage.optional);
    }

    StateId convert(StateId sink) {
        const StageSpec& stage = stages_[current_];
        StateId last;
        if (stage.looping) {
            const StateId looping = create_looping(copy_without_transitive_nots(sink));
            last = create_times(looping, sink, stage.min, stage.min);
        } else {
            last = create_times(sink, sink, stage.min, stage.max);
        }
        add_stop_states(last);
        return last;
    }

    /// Stages whose condition must hold for an event to be taken from `cond`; empty when it
    /// cannot be told (then any event may start a match).
    std::optional<std::set<std::uint16_t>> required(CondId cond) const {
        const CondNode& n = nfa_.conds[cond];
        switch (n.op) {
        case CondNode::Op::stage:
            return std::set<std::uint16_t>{n.a};
        case CondNode::Op::all: {
            if (auto left = required(n.a)) return left;
            return required(n.b);
        }
        case CondNode::Op::any: {
            auto left = required(n.a);
            auto right = required(n.b);
            if (!left || !right) return std::nullopt;
            left->insert(right->begin(), right->end());
            return left;
        }
        default:
            return std::nullopt;
        }
    }

    void find_start_stages() {
        std::set<std::uint16_t> stages;
        std::vector<StateId> stack{nfa_.start};
        std::set<StateId> seen;
        while (!stack.empty()) {
            const StateId state = stack.back();
            stack.pop_back();
            if (!seen.insert(state).second) continue;
            if (nfa_.states[state].type == StateType::final)
                throw UsageError(where_ + ": the pattern can match without any event");
            for (const Edge& edge : nfa_.states[state].edges) {
                if (edge.action == Action::proceed) {
                    stack.push_back(edge.target);
                } else if (edge.action == Action::take) {
                    if (auto req = required(edge.cond))
                        stages.insert(req->begin(), req->end());
                    else
                        nfa_.starts_on_any = true;
                }
            }
        }
        nfa_.start_stages.assign(stages.begin(), stages.end());
    }

    const std::vector<StageSpec>& stages_;
    std::optional<Duration> within_;
    std::string where_;
    Nfa nfa_;
    int current_ = 0;
    std::optional<CondId> following_take_;
    std::map<int, CondId> stage_conds_;
    std::map<int, StateId> stop_states_;
};

void cond_text(std::string& out, const Nfa& nfa, CondId id, const std::vector<StageSpec>& stages) {
    const CondNode& n = nfa.conds[id];
    switch (n.op) {
    case CondNode::Op::always:
        out += "true";
        return;
    case CondNode::Op::stage:
        out += stages[n.a].name;
        return;
    case CondNode::Op::negate:
        out += '!';
        cond_text(out, nfa, n.a, stages);
        return;
    case CondNode::Op::all:
    case CondNode::Op::any:
        out += '(';
        cond_text(out, nfa, n.a, stages);
        out += n.op == CondNode::Op::all ? " && " : " || ";
        cond_text(out, nfa, n.b, stages);
        out += ')';
        return;
    }
}

} // namespace

std::string Nfa::describe(const std::vector<StageSpec>& stages) const {
    std::string out;
    for (std::size_t i = 0; i < states.size(); ++i) {
        const NfaState& s = states[i];
        out += std::to_string(i) + (i == start ? "*" : "") + " ";
        switch (s.type) {
        case StateType::final:
            out += "final";
            break;
        case StateType::stop:
            out += "stop(" + stages[s.stage].name + ")";
            break;
        case StateType::pending:
            out += "pending(" + stages[s.stage].name + ")";
            break;
        case StateType::normal:
            out += stages[s.stage].name;
            break;
        }
        out += ":";
        for (const Edge& e : s.edges) {
            out += e.action == Action::take ? " take" : e.action == Action::ignore ? " ignore" : " proceed";
            out += "->";
            out += std::to_string(e.target);
            out += '[';
            cond_text(out, *this, e.cond, stages);
            out += ']';
        }
        out += "\n";
    }
    return out;
}

Nfa compile_nfa(const std::vector<StageSpec>& stages, std::optional<Duration> within,
                const std::string& where) {
    return Builder(stages, within, where).build();
}

} // namespace cep::sequence
