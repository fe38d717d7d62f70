#include "cep/sequence/program.hpp"

#include "cep/errors.hpp"
#include "cep/json_writer.hpp"
#include "cep/path.hpp"

#include <algorithm>
#include <cctype>
#include <functional>
#include <map>
#include <set>

namespace cep::sequence {

// ---- ConditionTable ----

std::string ConditionTable::canonical(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    char quote = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (quote) {
            out += c;
            if (c == '\\' && i + 1 < text.size())
                out += text[++i];
            else if (c == quote)
                quote = 0;
            continue;
        }
        if (c == '"' || c == '\'') quote = c;
        if (!std::isspace(static_cast<unsigned char>(c))) out += c;
    }
    return out;
}

std::uint32_t ConditionTable::add(expr::Expression expression) {
    std::string key = canonical(expression.source());
    const auto it = by_text_.find(key);
    if (it != by_text_.end()) return it->second;
    const auto id = static_cast<std::uint32_t>(expressions_.size());
    expressions_.push_back(std::move(expression));
    texts_.push_back(key);
    generations_.push_back(0);
    results_.push_back(0);
    by_text_.emplace(std::move(key), id);
    return id;
}

std::uint32_t CaptureTable::add(Slot slot) {
    for (std::size_t i = 0; i < slots_.size(); ++i)
        if (slots_[i] == slot) return static_cast<std::uint32_t>(i);
    slots_.push_back(slot);
    return static_cast<std::uint32_t>(slots_.size() - 1);
}

// ---- Template ----

void Template::render(std::string& out, TemplateContext& context) const {
    for (const Op& op : ops_) {
        switch (op.kind) {
        case Op::Kind::literal:
            out += op.text;
            break;
        case Op::Kind::value:
            context.append(op.placeholder, out, true);
            break;
        case Op::Kind::interpolate: {
            // Build the text first, then quote and escape it as one JSON string.
            auto& text = const_cast<std::string&>(scratch_);
            text.clear();
            for (std::size_t i = 0; i < op.pieces.size(); ++i) {
                text += op.pieces[i];
                if (i < op.placeholders.size()) context.append(op.placeholders[i], text, false);
            }
            append_json_string(out, text);
            break;
        }
        }
    }
}

namespace {

using json = nlohmann::json;

std::string position(const SourcePos& pos) {
    return pos.line > 0 ? pos.to_string() : pos.file;
}

/// `file:line:col: what: message` plus the condition line and a caret under the column.
[[noreturn]] void condition_error(const ConditionSpec& spec, std::size_t column, const std::string& what,
                                  const std::string& message) {
    const std::string& text = spec.text;
    const std::size_t offset = std::min(column == 0 ? 0 : column - 1, text.size());
    SourcePos at = spec.pos;
    std::size_t line_begin = 0;
    for (std::size_t i = 0; i < offset; ++i) {
        if (text[i] == '\n') {
            ++at.line;
            at.column = 1;
            line_begin = i + 1;
        }
    }
    if (line_begin == 0)
        at.column += (spec.quoted ? 1 : 0) + static_cast<int>(offset);
    else
        at.column = static_cast<int>(offset - line_begin) + 1;
    std::size_t line_end = text.find('\n', line_begin);
    if (line_end == std::string::npos) line_end = text.size();
    std::string out = position(at) + ": " + what + ": " + message + "\n  " +
                      text.substr(line_begin, line_end - line_begin) + "\n  ";
    for (std::size_t i = line_begin; i < offset; ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if ((c & 0xC0) == 0x80) continue;
        out += c == '\t' ? '\t' : ' ';
    }
    out += '^';
    throw UsageError(out);
}

} // namespace

// ---- Program ----

int Program::topic_id(std::string_view name) const {
    for (std::size_t i = 0; i < topics.size(); ++i)
        if (topics[i] == name) return static_cast<int>(i);
    return -1;
}

int Program::intern_topic(const std::string& name) {
    if (name.empty()) return -1;
    const int id = topic_id(name);
    if (id >= 0) return id;
    topics.push_back(name);
    return static_cast<int>(topics.size() - 1);
}

StageCondition Program::compile_condition(const ConditionSpec& spec, const std::vector<std::string>& earlier,
                                          Schema& schema, const std::string& what) {
    if (!spec.data.is_null()) {
        try {
            return {false, conditions.add(expr::compile_conditions(spec.data, schema))};
        } catch (const UsageError& e) {
            throw UsageError(position(spec.pos) + ": " + what + ": " + e.what());
        }
    }
    // Compile against a schema of its own first, to see whether it reads earlier stages.
    Schema own;
    expr::Expression expression;
    try {
        expression = expr::compile(spec.text, own);
    } catch (const SyntaxError& e) {
        condition_error(spec, e.column, what, e.what());
    }
    bool reads_stages = false;
    for (std::size_t slot = 0; slot < own.slot_count(); ++slot) {
        const Path& path = own.path(static_cast<Slot>(slot));
        if (!path.steps.empty() && path.steps[0].type == PathStep::Type::key &&
            std::find(earlier.begin(), earlier.end(), path.steps[0].key) != earlier.end())
            reads_stages = true;
    }
    if (!reads_stages) return {false, conditions.add(expr::compile(spec.text, schema))};

    BoundCondition bc;
    bc.expression = std::move(expression);
    for (std::size_t slot = 0; slot < own.slot_count(); ++slot) {
        const Path& path = own.path(static_cast<Slot>(slot));
        BoundCondition::Input input;
        const auto stage = path.steps.empty() || path.steps[0].type != PathStep::Type::key
                               ? earlier.end()
                               : std::find(earlier.begin(), earlier.end(), path.steps[0].key);
        if (stage != earlier.end()) {
            if (path.steps.size() < 2) {
                const auto at = spec.text.find(*stage);
                condition_error(spec, at == std::string::npos ? 1 : at + 1, what,
                                "'" + *stage + "' is a stage: read one of its fields, e.g. " + *stage +
                                    ".level");
            }
            Path rest;
            rest.steps.assign(path.steps.begin() + 1, path.steps.end());
            input.from_stage = true;
            input.ref = {static_cast<std::uint16_t>(stage - earlier.begin()), captures.add(schema.add(rest))};
        } else {
            input.slot = schema.add(path);
        }
        bc.inputs.push_back(input);
    }
    bound.push_back(std::move(bc));
    return {true, static_cast<std::uint32_t>(bound.size() - 1)};
}

Template Program::compile_template(const nlohmann::ordered_json& emit, const SourcePos& pos,
                                   const std::vector<std::string>& stages,
                                   const std::vector<bool>& has_events, Schema& schema) {
    Template out;
    if (emit.is_null()) return out;
    auto fail = [&](const std::string& message) -> void {
        throw UsageError(position(pos) + ": emit: " + message);
    };
    auto resolve = [&](std::string_view name) {
        Placeholder p;
        if (name == "key")
            p.kind = Placeholder::Kind::key;
        else if (name == "rule")
            p.kind = Placeholder::Kind::rule;
        else if (name == "match_start")
            p.kind = Placeholder::Kind::match_start;
        else if (name == "match_end")
            p.kind = Placeholder::Kind::match_end;
        else {
            const auto dot = name.find_first_of(".[");
            const std::string stage(name.substr(0, dot));
            const auto it = std::find(stages.begin(), stages.end(), stage);
            if (dot == std::string_view::npos || it == stages.end()) {
                std::string known = "key, rule, match_start, match_end";
                for (std::size_t i = 0; i < stages.size(); ++i)
                    if (has_events[i]) known += ", " + stages[i] + ".FIELD";
                fail("unknown placeholder ${" + std::string(name) + "} (known: " + known + ")");
            }
            const auto index = static_cast<std::size_t>(it - stages.begin());
            if (!has_events[index])
                fail("${" + std::string(name) + "}: stage '" + stage + "' matches no event");
            Path path;
            try {
                path = parse_path(name.substr(name[dot] == '.' ? dot + 1 : dot));
            } catch (const SyntaxError& e) {
                fail("${" + std::string(name) + "}: bad field path: " + e.what());
            }
            p.kind = Placeholder::Kind::field;
            p.ref = {static_cast<std::uint16_t>(index), captures.add(schema.add(path))};
        }
        return p;
    };
    auto literal = [&](const std::string& text) {
        if (!out.ops_.empty() && out.ops_.back().kind == Template::Op::Kind::literal)
            out.ops_.back().text += text;
        else
            out.ops_.push_back({Template::Op::Kind::literal, text, {}, {}, {}});
    };
    std::function<void(const nlohmann::ordered_json&)> value = [&](const nlohmann::ordered_json& v) {
        if (v.is_object()) {
            literal("{");
            bool first = true;
            for (const auto& [name, member] : v.items()) {
                std::string key;
                append_json_string(key, name);
                literal((first ? "" : ",") + key + ":");
                first = false;
                value(member);
            }
            literal("}");
        } else if (v.is_array()) {
            literal("[");
            for (std::size_t i = 0; i < v.size(); ++i) {
                if (i) literal(",");
                value(v[i]);
            }
            literal("]");
        } else if (v.is_string()) {
            const std::string& s = v.get_ref<const std::string&>();
            if (s.find("${") == std::string::npos) {
                literal(v.dump());
                return;
            }
            Template::Op op;
            op.kind = Template::Op::Kind::interpolate;
            std::string piece;
            std::size_t i = 0;
            while (i < s.size()) {
                const auto open = s.find("${", i);
                if (open == std::string::npos) {
                    piece += s.substr(i);
                    break;
                }
                const auto close = s.find('}', open);
                if (close == std::string::npos) fail("unterminated ${ in \"" + s + "\"");
                piece += s.substr(i, open - i);
                op.pieces.push_back(std::move(piece));
                piece.clear();
                op.placeholders.push_back(resolve(std::string_view(s).substr(open + 2, close - open - 2)));
                i = close + 1;
            }
            op.pieces.push_back(std::move(piece));
            if (op.placeholders.size() == 1 && op.pieces[0].empty() && op.pieces[1].empty()) {
                out.ops_.push_back({Template::Op::Kind::value, {}, op.placeholders[0], {}, {}});
            } else {
                out.ops_.push_back(std::move(op));
            }
        } else {
            literal(v.dump());
        }
    };
    static const std::set<std::string> reserved{"rule", "key", "match_start", "match_end", "events"};
    for (const auto& [name, member] : emit.items()) {
        if (reserved.count(name))
            fail("'" + name + "' is a field of every match record; pick another name for it");
        std::string key;
        append_json_string(key, name);
        literal("," + key + ":");
        value(member);
    }
    return out;
}

void Program::compile_rule(CompiledRule& rule, Schema& schema) {
    const RuleSpec& spec = rule.spec;
    const std::string where = position(spec.pos) + ": rule '" + spec.id + "'";
    rule.topic = intern_topic(spec.topic);
    rule.within = spec.within.value_or(0);
    rule.within_events = spec.within_events.value_or(0);

    // Key group.
    std::string paths;
    for (const auto& p : spec.key)
        paths += (paths.empty() ? "" : ",") + p;
    std::optional<KeyExtractor> extractor;
    if (!paths.empty()) {
        try {
            extractor.emplace(std::string_view(paths), schema);
        } catch (const SyntaxError& e) {
            throw UsageError(where + ": keyed: bad path '" + paths + "': " + e.what());
        }
        paths = extractor->describe();
    }
    auto group = std::find_if(key_groups.begin(), key_groups.end(),
                              [&](const KeyGroup& g) { return g.paths == paths; });
    if (group == key_groups.end()) {
        std::vector<Slot> slots;
        if (extractor)
            for (std::size_t i = 0; i < extractor->size(); ++i)
                slots.push_back(schema.add(extractor->path(i)));
        key_groups.push_back({paths, std::move(extractor), std::move(slots), {}});
        group = key_groups.end() - 1;
    }
    group->rules.push_back(rule.index);
    rule.key_group = static_cast<std::uint32_t>(group - key_groups.begin());

    std::vector<bool> has_events;
    if (spec.kind == RuleKind::sequence) {
        rule.nfa = compile_nfa(spec.stages, spec.within, where);
        std::vector<std::string> earlier;
        for (const auto& stage : spec.stages) {
            rule.stage_names.push_back(stage.name);
            has_events.push_back(stage.negation == Negation::none);
        }
        for (std::size_t i = 0; i < spec.stages.size(); ++i) {
            const StageSpec& stage = spec.stages[i];
            // Earlier stages that match events can be read; later and negated ones cannot.
            std::vector<std::string> readable;
            for (std::size_t j = 0; j < i; ++j)
                readable.push_back(has_events[j] ? spec.stages[j].name : std::string());
            rule.stage_conds.push_back(compile_condition(
                stage.where, readable, schema, "rule '" + spec.id + "', stage '" + stage.name + "'"));
        }
        rule.starts_on_any = rule.nfa.starts_on_any;
        for (auto stage : rule.nfa.start_stages)
            if (rule.stage_conds[stage].bound) rule.starts_on_any = true;
        if (spec.skip.kind == SkipKind::skip_to_first || spec.skip.kind == SkipKind::skip_to_last) {
            const auto it = std::find(rule.stage_names.begin(), rule.stage_names.end(), spec.skip.stage);
            if (it == rule.stage_names.end() ||
                !has_events[static_cast<std::size_t>(it - rule.stage_names.begin())])
                throw UsageError(where + ": skip: no stage '" + spec.skip.stage + "' that matches events");
            rule.skip_stage = static_cast<std::uint16_t>(it - rule.stage_names.begin());
        }
    } else {
        if (spec.skip.kind != SkipKind::no_skip)
            throw UsageError(where +
                             ": skip: only sequence rules have skip strategies (count and all_of rules "
                             "always start over after a match)");
        std::set<std::string> names;
        for (const auto& part : spec.parts) {
            if (!names.insert(part.name).second)
                throw UsageError(position(part.pos) + ": rule '" + spec.id + "': part name '" + part.name +
                                 "' is used twice");
            CompiledPart cp;
            cp.name = part.name;
            cp.count = part.count;
            cp.topic = intern_topic(part.topic);
            cp.cond =
                compile_condition(part.where, {}, schema, "rule '" + spec.id + "', '" + part.name + "'");
            rule.parts.push_back(std::move(cp));
            rule.stage_names.push_back(part.name);
            has_events.push_back(true);
        }
    }
    rule.emit = compile_template(spec.emit, spec.emit_pos, rule.stage_names, has_events, schema);

    // Which events can change this rule's state. Relaxed and non-deterministic contiguity
    // ignore an event no stage accepts; strict contiguity and not_next are broken by it, a
    // count window counts it, and a condition on earlier stages can only be judged per match.
    rule.sees_every_event = rule.within_events > 0;
    if (spec.kind == RuleKind::sequence) {
        for (std::size_t i = 0; i < spec.stages.size(); ++i) {
            const StageSpec& stage = spec.stages[i];
            if ((i > 0 && stage.contiguity == Contiguity::strict) || stage.inner == Contiguity::strict ||
                stage.negation == Negation::not_next || rule.stage_conds[i].bound)
                rule.sees_every_event = true;
            else
                rule.relevant_conditions.push_back(rule.stage_conds[i].id);
        }
    } else {
        for (const auto& part : rule.parts) {
            if (part.cond.bound)
                rule.sees_every_event = true;
            else
                rule.relevant_conditions.push_back(part.cond.id);
        }
    }
    std::sort(rule.relevant_conditions.begin(), rule.relevant_conditions.end());
    rule.relevant_conditions.erase(
        std::unique(rule.relevant_conditions.begin(), rule.relevant_conditions.end()),
        rule.relevant_conditions.end());
}

Program::Program(std::vector<RuleSpec> specs, Schema& schema, const std::vector<Slot>& seed_captures) {
    captures.seed(seed_captures);
    rules.resize(specs.size());
    for (std::size_t i = 0; i < specs.size(); ++i) {
        rules[i].spec = std::move(specs[i]);
        rules[i].index = static_cast<std::uint32_t>(i);
        compile_rule(rules[i], schema);
    }
    for (auto& group : key_groups) {
        for (const std::uint32_t r : group.rules) {
            group.sees_every_event = group.sees_every_event || rules[r].sees_every_event;
            const auto& more = rules[r].relevant_conditions;
            group.relevant_conditions.insert(group.relevant_conditions.end(), more.begin(), more.end());
        }
        auto& conditions = group.relevant_conditions;
        std::sort(conditions.begin(), conditions.end());
        conditions.erase(std::unique(conditions.begin(), conditions.end()), conditions.end());
    }
    // The dispatch index: distinct start conditions -> rules.
    std::map<std::uint32_t, std::size_t> starter_of;
    auto add_starter = [&](std::uint32_t condition, std::uint32_t rule) {
        auto [it, inserted] = starter_of.emplace(condition, starters.size());
        if (inserted) starters.push_back({condition, {}});
        auto& list = starters[it->second].rules;
        if (list.empty() || list.back() != rule) list.push_back(rule);
    };
    for (auto& rule : rules) {
        if (rule.spec.kind == RuleKind::sequence) {
            if (rule.starts_on_any) {
                always_start.push_back(rule.index);
                continue;
            }
            for (auto stage : rule.nfa.start_stages)
                add_starter(rule.stage_conds[stage].id, rule.index);
        } else {
            for (const auto& part : rule.parts)
                add_starter(part.cond.id, rule.index);
        }
    }
}

} // namespace cep::sequence
