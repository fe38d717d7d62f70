#include "cep/sequence/loader.hpp"

#include "cep/errors.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <set>
#include <sstream>
#include <yaml-cpp/yaml.h>

namespace cep::sequence {

std::string SourcePos::to_string() const {
    if (line <= 0) return file;
    return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

std::string name_stem(std::string_view path) {
    const auto slash = path.find_last_of('/');
    if (slash != std::string_view::npos) path.remove_prefix(slash + 1);
    // `a.ndjson.zst` -> `a`, but keep a leading dot of hidden files.
    const auto dot = path.find('.', 1);
    if (dot != std::string_view::npos) path = path.substr(0, dot);
    return std::string(path);
}

namespace {

using json = nlohmann::json;

/// Walks the YAML tree, keeping the file name for messages.
class Reader {
  public:
    explicit Reader(std::string file) : file_(std::move(file)) {}

    SourcePos pos(const YAML::Node& node) const {
        const YAML::Mark mark = node.Mark();
        if (mark.is_null()) return {file_, 0, 0};
        return {file_, mark.line + 1, mark.column + 1};
    }
    [[noreturn]] void fail(const YAML::Node& node, const std::string& message) const {
        throw UsageError(pos(node).to_string() + ": " + message);
    }

    /// The same typing of plain scalars as conditions_file.cpp (load_yaml_or_json), so a data-form
    /// condition means the same in a rules file as in `cep-filter --conditions`.
    static json scalar(const YAML::Node& node) {
        const std::string& text = node.Scalar();
        if (node.Tag() == "!") return text; // quoted: always a string
        if (text == "true" || text == "True" || text == "TRUE") return true;
        if (text == "false" || text == "False" || text == "FALSE") return false;
        if (text == "null" || text == "~" || text.empty()) return nullptr;
        std::int64_t integer = 0;
        auto [iend, iec] = std::from_chars(text.data(), text.data() + text.size(), integer);
        if (iec == std::errc() && iend == text.data() + text.size()) return integer;
        double floating = 0;
        auto [dend, dec] = std::from_chars(text.data(), text.data() + text.size(), floating);
        if (dec == std::errc() && dend == text.data() + text.size()) return floating;
        return text;
    }
    template <class Json = json> static Json to_json(const YAML::Node& node) {
        switch (node.Type()) {
        case YAML::NodeType::Null:
        case YAML::NodeType::Undefined:
            return nullptr;
        case YAML::NodeType::Scalar:
            return Json(scalar(node));
        case YAML::NodeType::Sequence: {
            Json out = Json::array();
            for (const auto& item : node)
                out.push_back(to_json<Json>(item));
            return out;
        }
        case YAML::NodeType::Map: {
            Json out = Json::object();
            for (const auto& item : node)
                out[item.first.Scalar()] = to_json<Json>(item.second);
            return out;
        }
        }
        return nullptr;
    }

    std::string string(const YAML::Node& node, std::string_view what) const {
        if (!node.IsScalar()) fail(node, std::string(what) + ": expected a string");
        return node.Scalar();
    }
    bool boolean(const YAML::Node& node, std::string_view what) const {
        const json value = node.IsScalar() ? scalar(node) : json();
        if (!value.is_boolean()) fail(node, std::string(what) + ": expected true or false");
        return value.get<bool>();
    }
    std::uint64_t positive(const YAML::Node& node, std::string_view what, std::uint64_t min = 1) const {
        const json value = node.IsScalar() ? scalar(node) : json();
        if (!value.is_number_integer() || value.get<std::int64_t>() < static_cast<std::int64_t>(min))
            fail(node, std::string(what) + ": expected an integer >= " + std::to_string(min));
        return value.get<std::uint64_t>();
    }
    Duration duration(const YAML::Node& node, std::string_view what) const {
        const auto parsed = node.IsScalar() ? parse_duration(node.Scalar()) : std::nullopt;
        if (!parsed || *parsed <= 0)
            fail(node, std::string(what) + ": expected a positive duration such as 30s, 10m, 1h, 1d");
        return *parsed;
    }
    Timestamp time(const YAML::Node& node, std::string_view what) const {
        const auto parsed = node.IsScalar() ? parse_rfc3339(node.Scalar()) : std::nullopt;
        if (!parsed)
            fail(node, std::string(what) + ": expected an RFC 3339 time such as 2026-12-01T00:00:00Z");
        return *parsed;
    }

    /// Rejects keys outside `allowed`, so a typo (`withn: 1d`) is an error, not a silent default.
    void check_keys(const YAML::Node& map, std::initializer_list<std::string_view> allowed,
                    std::string_view what) const {
        for (const auto& item : map) {
            const std::string& key = item.first.Scalar();
            if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
            std::string list;
            for (auto name : allowed)
                list += (list.empty() ? "" : ", ") + std::string(name);
            fail(item.first, "unknown key '" + key + "' in " + std::string(what) + " (known: " + list + ")");
        }
    }

    ConditionSpec condition(const YAML::Node& node) const {
        ConditionSpec spec;
        spec.pos = pos(node);
        if (node.IsScalar()) {
            spec.text = node.Scalar();
            spec.quoted = node.Tag() == "!";
            if (spec.text.empty()) fail(node, "empty condition");
        } else if (node.IsSequence() || node.IsMap()) {
            spec.data = to_json(node);
        } else {
            fail(node, "expected a condition: an expression or a list of {field, value, type, operator}");
        }
        return spec;
    }

    /// `where:` (expression) or `conditions:` (data form) of a stage, part or event.
    ConditionSpec condition_of(const YAML::Node& map, std::string_view what) const {
        const YAML::Node where = map["where"];
        const YAML::Node conditions = map["conditions"];
        if (where && conditions)
            fail(conditions, std::string(what) + ": give either 'where' or 'conditions', not both");
        if (where) return condition(where);
        if (conditions) {
            if (!conditions.IsSequence() && !conditions.IsMap())
                fail(conditions, "conditions: expected a list of {field, value, type, operator}");
            return condition(conditions);
        }
        fail(map, std::string(what) + ": missing 'where' (an expression) or 'conditions' (a list)");
    }

    std::vector<std::string> key_paths(const YAML::Node& node) const {
        std::vector<std::string> out;
        if (node.IsScalar()) {
            // `a,b` is two paths, as with -k; splitting is left to KeyExtractor's parser.
            out.push_back(node.Scalar());
        } else if (node.IsSequence()) {
            for (const auto& item : node)
                out.push_back(string(item, "keyed"));
        } else {
            fail(node, "keyed: expected a path or a list of paths");
        }
        if (out.empty()) fail(node, "keyed: no paths");
        return out;
    }

    StageSpec stage(const YAML::Node& node, std::size_t index) const {
        if (!node.IsMap())
            fail(node, "stage " + std::to_string(index + 1) + ": expected a map with name and where");
        check_keys(node,
                   {"name", "where", "conditions", "contiguity", "times", "times_or_more", "one_or_more",
                    "zero_or_more", "optional", "greedy", "inner", "consecutive", "allow_combinations", "not",
                    "description"},
                   "a stage");
        StageSpec stage;
        stage.pos = pos(node);
        if (!node["name"]) fail(node, "stage " + std::to_string(index + 1) + ": missing 'name'");
        stage.name = string(node["name"], "name");
        stage.where = condition_of(node, "stage '" + stage.name + "'");
        if (const auto c = node["contiguity"]) stage.contiguity = contiguity(c);
        if (const auto t = node["times"]) {
            if (t.IsScalar()) {
                stage.min = stage.max = static_cast<std::uint32_t>(positive(t, "times"));
            } else if (t.IsSequence() && t.size() == 2) {
                stage.min = static_cast<std::uint32_t>(positive(t[0], "times"));
                stage.max = static_cast<std::uint32_t>(positive(t[1], "times"));
                if (stage.max < stage.min) fail(t, "times: [min, max] with max < min");
            } else {
                fail(t, "times: expected N or [MIN, MAX]");
            }
        }
        if (const auto t = node["times_or_more"]) {
            if (node["times"]) fail(t, "give either 'times' or 'times_or_more'");
            stage.min = stage.max = static_cast<std::uint32_t>(positive(t, "times_or_more"));
            stage.looping = true;
        }
        if (const auto o = node["one_or_more"]; o && boolean(o, "one_or_more")) {
            if (node["times"] || node["times_or_more"])
                fail(o, "give only one of times, times_or_more, one_or_more");
            stage.looping = true;
        }
        if (const auto z = node["zero_or_more"]; z && boolean(z, "zero_or_more")) {
            stage.looping = true;
            stage.optional = true;
        }
        if (const auto o = node["optional"]) stage.optional = stage.optional || boolean(o, "optional");
        if (const auto g = node["greedy"]) stage.greedy = boolean(g, "greedy");
        if (const auto i = node["inner"]) stage.inner = contiguity(i);
        if (const auto c = node["consecutive"]; c && boolean(c, "consecutive"))
            stage.inner = Contiguity::strict;
        if (const auto a = node["allow_combinations"]; a && boolean(a, "allow_combinations"))
            stage.inner = Contiguity::any;
        if (const auto n = node["not"]) {
            const std::string kind = string(n, "not");
            if (kind == "next" || kind == "not_next")
                stage.negation = Negation::not_next;
            else if (kind == "followed_by" || kind == "not_followed_by")
                stage.negation = Negation::not_followed_by;
            else
                fail(n, "not: expected next or followed_by");
        }
        return stage;
    }

    Contiguity contiguity(const YAML::Node& node) const {
        const std::string text = string(node, "contiguity");
        if (text == "strict" || text == "next") return Contiguity::strict;
        if (text == "relaxed" || text == "followed_by") return Contiguity::relaxed;
        if (text == "any" || text == "followed_by_any") return Contiguity::any;
        fail(node, "contiguity: expected strict, relaxed or any");
    }

    PartSpec part(const YAML::Node& node, std::size_t index, std::string_view what) const {
        if (!node.IsMap())
            fail(node, std::string(what) + " " + std::to_string(index + 1) + ": expected a map");
        PartSpec part;
        part.pos = pos(node);
        if (const auto n = node["name"]) part.name = string(n, "name");
        part.where = condition_of(node, std::string(what) + " " + std::to_string(index + 1));
        if (const auto c = node["count"]) part.count = positive(c, "count");
        if (const auto t = node["times"]) part.count = positive(t, "times");
        if (const auto t = node["topic"]) part.topic = string(t, "topic");
        return part;
    }

    /// The parts of the operators' event_list: each event is counted `count` times for the key.
    void event_list(const YAML::Node& list, RuleSpec& rule) const {
        if (!list.IsSequence() || list.size() == 0)
            fail(list, "event_list: expected a non-empty list of events");
        std::optional<std::vector<std::string>> keyed;
        std::set<std::string> topics;
        for (std::size_t i = 0; i < list.size(); ++i) {
            const YAML::Node entry = list[i];
            if (entry.IsMap())
                check_keys(entry, {"topic", "conditions", "where", "count", "keyed", "name", "description"},
                           "an event_list entry");
            PartSpec p = part(entry, i, "event");
            if (const auto k = entry["keyed"]) {
                auto paths = key_paths(k);
                if (keyed && *keyed != paths)
                    fail(k, "keyed: every event of a mission must use the same key (" + join(*keyed) + ")");
                keyed = std::move(paths);
            }
            if (!p.topic.empty()) topics.insert(p.topic);
            rule.parts.push_back(std::move(p));
        }
        if (keyed) {
            if (!rule.key.empty() && rule.key != *keyed)
                fail(list, "event_list: the events' keyed differs from the mission's keyed");
            rule.key = *keyed;
        }
        // Unnamed parts take their topic as name when topics tell them apart.
        for (std::size_t i = 0; i < rule.parts.size(); ++i) {
            PartSpec& p = rule.parts[i];
            if (!p.name.empty()) continue;
            if (!p.topic.empty() && topics.size() == rule.parts.size())
                p.name = p.topic;
            else if (rule.parts.size() == 1)
                p.name = "event";
            else
                p.name = "p" + std::to_string(i + 1);
        }
        rule.kind = rule.parts.size() == 1 ? RuleKind::count : RuleKind::all_of;
    }

    static std::string join(const std::vector<std::string>& items) {
        std::string out;
        for (const auto& item : items)
            out += (out.empty() ? "" : ",") + item;
        return out;
    }

    RuleSpec rule(const YAML::Node& node, const std::string& default_id) const {
        if (!node.IsMap())
            fail(node, "expected a rule: a map with id and a pattern, stages, count or all_of");
        check_keys(node,
                   {"id",         "keyed", "key",         "topic",      "pattern",   "stages",        "where",
                    "conditions", "count", "all_of",      "event_list", "within",    "within_events", "skip",
                    "fire",       "emit",  "emit_events", "active",     "on_change", "description",   "name"},
                   "a rule");
        RuleSpec rule;
        rule.pos = pos(node);
        if (const auto id = node["id"])
            rule.id = string(id, "id");
        else
            rule.id = default_id;
        if (rule.id.empty()) fail(node, "rule without 'id'");
        if (node["keyed"] && node["key"]) fail(node["key"], "give either 'keyed' or 'key'");
        if (const auto k = node["keyed"] ? node["keyed"] : node["key"]) rule.key = key_paths(k);
        if (const auto t = node["topic"]) rule.topic = string(t, "topic");

        int kinds = 0;
        if (const auto p = node["pattern"]) {
            ++kinds;
            const std::string text = string(p, "pattern");
            rule.kind = RuleKind::sequence;
            rule.stages = parse_pattern_at(text, p);
        }
        if (const auto s = node["stages"]) {
            ++kinds;
            if (!s.IsSequence() || s.size() == 0) fail(s, "stages: expected a non-empty list");
            rule.kind = RuleKind::sequence;
            for (std::size_t i = 0; i < s.size(); ++i)
                rule.stages.push_back(stage(s[i], i));
        }
        if (node["where"] || node["conditions"]) {
            ++kinds;
            rule.kind = RuleKind::count;
            PartSpec p;
            p.pos = pos(node);
            p.name = "event";
            if (const auto n = node["name"]) p.name = string(n, "name");
            p.where = condition_of(node, "rule '" + rule.id + "'");
            p.count = node["count"] ? positive(node["count"], "count") : 1;
            rule.parts.push_back(std::move(p));
        } else if (const auto c = node["count"]) {
            fail(c, "count: a count rule also needs 'where' or 'conditions'");
        }
        if (const auto a = node["all_of"]) {
            ++kinds;
            if (!a.IsSequence() || a.size() == 0) fail(a, "all_of: expected a non-empty list");
            rule.kind = RuleKind::all_of;
            for (std::size_t i = 0; i < a.size(); ++i) {
                if (a[i].IsMap())
                    check_keys(a[i],
                               {"name", "where", "conditions", "count", "times", "topic", "description"},
                               "an all_of entry");
                PartSpec p = part(a[i], i, "all_of entry");
                if (p.name.empty()) p.name = "p" + std::to_string(i + 1);
                rule.parts.push_back(std::move(p));
            }
        }
        if (const auto e = node["event_list"]) {
            ++kinds;
            event_list(e, rule);
        }
        if (kinds == 0)
            fail(node, "rule '" + rule.id +
                           "': give a pattern, stages, where/conditions (count), all_of or event_list");
        if (kinds > 1)
            fail(node, "rule '" + rule.id +
                           "': give only one of pattern, stages, where/conditions, all_of, event_list");

        if (const auto w = node["within"]) rule.within = duration(w, "within");
        if (const auto w = node["within_events"]) {
            if (rule.kind != RuleKind::count) fail(w, "within_events: only count rules have a count window");
            rule.within_events = positive(w, "within_events");
        }
        if (const auto s = node["skip"]) rule.skip = skip(s);
        if (const auto f = node["fire"]) rule.fire = fire(f);
        if (const auto e = node["emit"]) {
            if (!e.IsMap())
                fail(e, "emit: expected a map of fields, e.g. {reward: gems, player: \"${key}\"}");
            rule.emit = to_json<nlohmann::ordered_json>(e);
            rule.emit_pos = pos(e);
        }
        if (const auto e = node["emit_events"]) rule.emit_events = boolean(e, "emit_events");
        if (const auto a = node["active"]) {
            if (!a.IsMap()) fail(a, "active: expected {from: TIME, until: TIME}");
            check_keys(a, {"from", "until"}, "active");
            if (const auto f = a["from"]) rule.active_from = time(f, "active.from");
            if (const auto u = a["until"]) rule.active_until = time(u, "active.until");
            if (rule.active_from && rule.active_until && *rule.active_until <= *rule.active_from)
                fail(a, "active: 'until' must be after 'from'");
        }
        if (const auto o = node["on_change"]) {
            const std::string text = string(o, "on_change");
            if (text == "keep")
                rule.on_change = OnChange::keep;
            else if (text == "reset")
                rule.on_change = OnChange::reset;
            else
                fail(o, "on_change: expected keep or reset");
        }
        return rule;
    }

    std::vector<StageSpec> parse_pattern_at(const std::string& text, const YAML::Node& node) const {
        // Errors inside the pattern are reported at the pattern's position in the file.
        try {
            auto stages = parse_pattern(text, "pattern");
            const SourcePos at = pos(node);
            const int shift = node.Tag() == "!" ? 1 : 0;
            for (auto& stage : stages) {
                stage.where.pos = {at.file, at.line, at.column + shift + stage.where.pos.column - 1};
                stage.pos = at;
            }
            return stages;
        } catch (const UsageError& e) {
            std::string message = e.what();
            // "pattern:1:COL: ..." -> "file:line:col+COL-1: ..."
            int column = 1;
            std::size_t rest = 0;
            if (message.starts_with("pattern:1:")) {
                const char* begin = message.data() + 10;
                auto [end, ec] = std::from_chars(begin, message.data() + message.size(), column);
                if (ec == std::errc()) rest = static_cast<std::size_t>(end - message.data()) + 2;
            }
            const SourcePos at = pos(node);
            const int shift = node.Tag() == "!" ? 1 : 0;
            throw UsageError(SourcePos{at.file, at.line, at.column + shift + column - 1}.to_string() + ": " +
                             message.substr(rest));
        }
    }

    SkipSpec skip(const YAML::Node& node) const {
        SkipSpec spec;
        if (node.IsScalar()) {
            const std::string text = node.Scalar();
            if (text == "no_skip")
                spec.kind = SkipKind::no_skip;
            else if (text == "skip_to_next")
                spec.kind = SkipKind::skip_to_next;
            else if (text == "skip_past_last" || text == "skip_past_last_event")
                spec.kind = SkipKind::skip_past_last;
            else
                fail(node, "skip: expected no_skip, skip_to_next, skip_past_last, {skip_to_first: STAGE} or "
                           "{skip_to_last: STAGE}");
            return spec;
        }
        if (node.IsMap() && node.size() == 1) {
            const auto item = *node.begin();
            const std::string kind = item.first.Scalar();
            if (kind == "skip_to_first")
                spec.kind = SkipKind::skip_to_first;
            else if (kind == "skip_to_last")
                spec.kind = SkipKind::skip_to_last;
            else
                fail(item.first, "skip: expected skip_to_first or skip_to_last");
            spec.stage = string(item.second, kind);
            return spec;
        }
        fail(node, "skip: expected no_skip, skip_to_next, skip_past_last, {skip_to_first: STAGE} or "
                   "{skip_to_last: STAGE}");
    }

    FireSpec fire(const YAML::Node& node) const {
        FireSpec spec;
        if (node.IsScalar()) {
            const std::string text = node.Scalar();
            if (text == "once")
                spec.once = true;
            else if (text == "every")
                spec.every = 1;
            else
                fail(node, "fire: expected once, every or {every: N}");
            return spec;
        }
        if (node.IsMap() && node.size() == 1 && node["every"]) {
            spec.every = positive(node["every"], "fire.every");
            return spec;
        }
        fail(node, "fire: expected once, every or {every: N}");
    }

    std::vector<RuleSpec> document(const YAML::Node& root, const std::string& default_id) const {
        std::vector<RuleSpec> rules;
        if (root.IsSequence()) {
            for (std::size_t i = 0; i < root.size(); ++i)
                rules.push_back(rule(root[i], ""));
        } else if (root.IsMap() && root["rules"]) {
            check_keys(root, {"rules", "description"}, "the rules file");
            const YAML::Node list = root["rules"];
            if (!list.IsSequence()) fail(list, "rules: expected a list of rules");
            for (std::size_t i = 0; i < list.size(); ++i)
                rules.push_back(rule(list[i], ""));
        } else if (root.IsMap()) {
            // One rule (e.g. a mission written as an event_list), its id defaulting to the file's stem.
            rules.push_back(rule(root, default_id));
        } else {
            fail(root, "expected rules: a list, a map with 'rules', or one rule");
        }
        std::set<std::string> ids;
        for (std::size_t i = 0; i < rules.size(); ++i) {
            if (!ids.insert(rules[i].id).second)
                throw UsageError(rules[i].pos.to_string() + ": duplicate rule id '" + rules[i].id + "'");
        }
        return rules;
    }

  private:
    std::string file_;
};

bool is_name_start(char c) {
    return std::isalpha(static_cast<unsigned char>(c)) || c == '_';
}
bool is_name_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

[[noreturn]] void pattern_error(const std::string& source, std::size_t offset, const std::string& message) {
    throw UsageError(source + ":1:" + std::to_string(offset + 1) + ": " + message);
}

/// A stage head `!name{2,4} greedy` (everything before the colon).
void parse_head(std::string_view text, std::size_t begin, std::size_t end, StageSpec& stage,
                const std::string& source) {
    std::size_t i = begin;
    auto skip_spaces = [&] {
        while (i < end && std::isspace(static_cast<unsigned char>(text[i])))
            ++i;
    };
    skip_spaces();
    if (i < end && text[i] == '!') {
        stage.negation = Negation::not_followed_by; // `=>` turns it into not_next
        ++i;
        skip_spaces();
    }
    if (i >= end || !is_name_start(text[i])) pattern_error(source, i, "expected a stage name (a: CONDITION)");
    const std::size_t name_begin = i;
    while (i < end && is_name_char(text[i]))
        ++i;
    stage.name = std::string(text.substr(name_begin, i - name_begin));
    skip_spaces();
    auto number = [&](std::uint32_t& out) {
        const std::size_t at = i;
        auto [ptr, ec] = std::from_chars(text.data() + i, text.data() + end, out);
        if (ec != std::errc() || out == 0) pattern_error(source, at, "expected a positive count");
        i = static_cast<std::size_t>(ptr - text.data());
    };
    if (i < end) {
        switch (text[i]) {
        case '+':
            stage.looping = true;
            ++i;
            break;
        case '*':
            stage.looping = true;
            stage.optional = true;
            ++i;
            break;
        case '?':
            stage.optional = true;
            ++i;
            break;
        case '{': {
            ++i;
            number(stage.min);
            stage.max = stage.min;
            if (i < end && text[i] == ',') {
                ++i;
                if (i < end && text[i] == '}')
                    stage.looping = true;
                else
                    number(stage.max);
                if (!stage.looping && stage.max < stage.min)
                    pattern_error(source, i, "{min,max} with max < min");
            }
            if (i >= end || text[i] != '}') pattern_error(source, i, "expected '}'");
            ++i;
            // `{2,4}?` and `{2,}?` are optional like `b?`.
            if (i < end && text[i] == '?') {
                stage.optional = true;
                ++i;
            }
            break;
        }
        default:
            break;
        }
    }
    skip_spaces();
    if (i < end && is_name_start(text[i])) {
        const std::size_t word = i;
        while (i < end && is_name_char(text[i]))
            ++i;
        if (text.substr(word, i - word) != "greedy") pattern_error(source, word, "expected ':' or 'greedy'");
        stage.greedy = true;
        skip_spaces();
    }
    if (i != end) pattern_error(source, i, "expected ':' after the stage name");
}

} // namespace

std::vector<StageSpec> parse_pattern(std::string_view text, const std::string& source) {
    // Split at the top-level arrows, outside string literals.
    struct Piece {
        std::size_t begin, end;
        Contiguity contiguity;
    };
    std::vector<Piece> pieces;
    Contiguity next_contiguity = Contiguity::relaxed;
    std::size_t begin = 0;
    char quote = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (quote) {
            if (c == '\\')
                ++i;
            else if (c == quote)
                quote = 0;
            continue;
        }
        if (c == '"' || c == '\'') {
            quote = c;
            continue;
        }
        std::size_t arrow = 0;
        Contiguity contiguity = Contiguity::relaxed;
        if (text.substr(i, 3) == "->>") {
            arrow = 3;
            contiguity = Contiguity::any;
        } else if (text.substr(i, 2) == "->") {
            arrow = 2;
        } else if (text.substr(i, 2) == "=>") {
            arrow = 2;
            contiguity = Contiguity::strict;
        }
        if (arrow == 0) continue;
        pieces.push_back({begin, i, next_contiguity});
        next_contiguity = contiguity;
        begin = i + arrow;
        i += arrow - 1;
    }
    if (quote) pattern_error(source, text.size(), "unterminated string");
    pieces.push_back({begin, text.size(), next_contiguity});

    std::vector<StageSpec> stages;
    for (std::size_t p = 0; p < pieces.size(); ++p) {
        const Piece& piece = pieces[p];
        // The colon that ends the head: the first one outside quotes.
        std::size_t colon = std::string_view::npos;
        for (std::size_t i = piece.begin; i < piece.end; ++i) {
            if (text[i] == ':') {
                colon = i;
                break;
            }
            if (text[i] == '"' || text[i] == '\'') break;
        }
        if (colon == std::string_view::npos) {
            std::size_t at = piece.begin;
            while (at < piece.end && std::isspace(static_cast<unsigned char>(text[at])))
                ++at;
            pattern_error(source, at, "expected NAME: CONDITION");
        }
        StageSpec stage;
        parse_head(text, piece.begin, colon, stage, source);
        stage.contiguity = piece.contiguity;
        if (stage.negation == Negation::not_followed_by && piece.contiguity == Contiguity::strict)
            stage.negation = Negation::not_next;
        if (stage.negation != Negation::none && piece.contiguity == Contiguity::any)
            pattern_error(source, piece.begin, "a negated stage takes -> (not_followed_by) or => (not_next)");
        std::size_t cond_begin = colon + 1;
        while (cond_begin < piece.end && std::isspace(static_cast<unsigned char>(text[cond_begin])))
            ++cond_begin;
        std::size_t cond_end = piece.end;
        while (cond_end > cond_begin && std::isspace(static_cast<unsigned char>(text[cond_end - 1])))
            --cond_end;
        if (cond_begin == cond_end)
            pattern_error(source, colon, "stage '" + stage.name + "' has no condition");
        stage.where.text = std::string(text.substr(cond_begin, cond_end - cond_begin));
        stage.where.pos = {source, 1, static_cast<int>(cond_begin + 1)};
        stage.pos = {source, 1, static_cast<int>(piece.begin + 1)};
        stages.push_back(std::move(stage));
    }
    return stages;
}

std::vector<RuleSpec> parse_rules(std::string_view text, const std::string& name) {
    const Reader reader(name);
    YAML::Node root;
    try {
        root = YAML::Load(std::string(text));
    } catch (const YAML::Exception& e) {
        throw UsageError(name + ":" + std::to_string(e.mark.line + 1) + ":" +
                         std::to_string(e.mark.column + 1) + ": " + e.msg);
    }
    return reader.document(root, name_stem(name));
}

std::vector<RuleSpec> load_rules_file(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw UsageError(path + ": cannot open the rules file");
    std::stringstream text;
    text << in.rdbuf();
    return parse_rules(text.str(), path);
}

std::vector<RuleSpec> load_rules_files(const std::vector<std::string>& paths) {
    std::vector<RuleSpec> rules;
    for (const auto& path : paths) {
        for (auto& rule : load_rules_file(path)) {
            for (const auto& existing : rules)
                if (existing.id == rule.id)
                    throw UsageError(rule.pos.to_string() + ": duplicate rule id '" + rule.id +
                                     "' (also at " + existing.pos.to_string() + ")");
            rules.push_back(std::move(rule));
        }
    }
    return rules;
}

namespace {

nlohmann::json condition_json(const ConditionSpec& c) {
    return c.data.is_null() ? nlohmann::json(c.text) : c.data;
}

} // namespace

std::string fingerprint(const RuleSpec& rule) {
    nlohmann::json j;
    j["id"] = rule.id;
    j["kind"] = static_cast<int>(rule.kind);
    j["key"] = rule.key;
    j["topic"] = rule.topic;
    nlohmann::json stages = nlohmann::json::array();
    for (const auto& s : rule.stages)
        stages.push_back({s.name, condition_json(s.where), s.min, s.max, s.looping, s.optional, s.greedy,
                          static_cast<int>(s.contiguity), static_cast<int>(s.inner),
                          static_cast<int>(s.negation)});
    j["stages"] = stages;
    nlohmann::json parts = nlohmann::json::array();
    for (const auto& p : rule.parts)
        parts.push_back({p.name, condition_json(p.where), p.count, p.topic});
    j["parts"] = parts;
    j["within"] = rule.within ? nlohmann::json(*rule.within) : nlohmann::json();
    j["within_events"] = rule.within_events ? nlohmann::json(*rule.within_events) : nlohmann::json();
    j["skip"] = {static_cast<int>(rule.skip.kind), rule.skip.stage};
    j["fire"] = {rule.fire.once, rule.fire.every};
    j["emit"] = rule.emit.dump();
    j["emit_events"] = rule.emit_events;
    j["active"] = {rule.active_from ? nlohmann::json(*rule.active_from) : nlohmann::json(),
                   rule.active_until ? nlohmann::json(*rule.active_until) : nlohmann::json()};
    j["on_change"] = static_cast<int>(rule.on_change);
    return j.dump();
}

} // namespace cep::sequence
