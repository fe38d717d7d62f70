// cep-sequence's snapshot and restore: a run split by a snapshot at any record writes exactly
// the matches and timeouts of a single run; a snapshot restores into other rules as a reload.

#include "cep/errors.hpp"
#include "cep/ops/sequence.hpp"
#include "cep/record_parser.hpp"
#include "cep/sequence/loader.hpp"

#include <cstdio>
#include <doctest/doctest.h>
#include <fstream>
#include <simdjson.h>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

class Lines final : public cep::Emitter {
  public:
    void emit(const cep::Record& record, const cep::Route&) override { lines.emplace_back(record.raw); }
    void emit_new(std::string_view json, const cep::Origin&, const cep::Route&) override {
        lines.emplace_back(json);
    }
    void reject(const cep::Record&, std::string_view reason) override { lines.emplace_back(reason); }
    std::vector<std::string> lines;
};

// Missions like examples/missions, with short windows so that partial matches time out, and
// captured fields (a.level, a.gold) that later stages and templates read.
const char* const all_rules = R"(rules:
  - id: spender
    keyed: p
    pattern: 'a: e == "purchase" -> b: e == "purchase" && gold > a.gold'
    within: 90s
    emit: {first: "${a.gold}"}
  - id: veteran_dungeon
    keyed: p
    pattern: 'a: e == "level_up" && level >= 3 -> b: e == "dungeon_clear"'
    within: 2m
    skip: skip_past_last
    emit: {reward: gems, player: "${key}", level: "${a.level}"}
  - id: killing_spree
    keyed: p
    where: 'e == "kill"'
    count: 3
    within: 1m
    emit: {badge: spree}
    emit_events: false
  - id: daily_set
    keyed: p
    within: 5m
    all_of:
      - {name: quests, where: 'e == "quest"', count: 2}
      - {name: kills, where: 'e == "kill"', count: 2}
    fire: once
  - id: fast_climber
    keyed: p
    stages:
      - {name: a, where: 'e == "level_up"'}
      - {name: b, where: 'e == "level_up" && level >= a.level + 2', times: [1, 2]}
    within: 3m
    emit: {from: "${a.level}"}
  - id: kept_playing
    keyed: p
    pattern: 'buy: e == "purchase" -> !quit: e == "logout"'
    within: 30s
)";

/// Rules whose conditions all need a string literal and none reads an earlier stage, so that
/// records none of them accepts go by their time only (and wait in the reordering heap so).
const char* const literal_rules = R"(rules:
  - id: veteran_dungeon
    keyed: p
    pattern: 'a: e == "level_up" && level >= 3 -> b: e == "dungeon_clear"'
    within: 2m
    skip: skip_past_last
    emit: {reward: gems, player: "${key}", level: "${a.level}"}
  - id: daily_set
    keyed: p
    within: 5m
    all_of:
      - {name: quests, where: 'e == "quest"', count: 2}
      - {name: buys, where: 'e == "purchase"', count: 1}
    fire: once
)";

/// The same rules without `spender` (whose captured a.gold came first) and with killing_spree
/// changed: what a reload or a restore into edited rules sees.
const char* const edited_rules = R"(rules:
  - id: veteran_dungeon
    keyed: p
    pattern: 'a: e == "level_up" && level >= 3 -> b: e == "dungeon_clear"'
    within: 2m
    skip: skip_past_last
    emit: {reward: gems, player: "${key}", level: "${a.level}"}
  - id: killing_spree
    keyed: p
    where: 'e == "kill"'
    count: 4
    within: 1m
    emit: {badge: spree}
    emit_events: false
  - id: fast_climber
    keyed: p
    stages:
      - {name: a, where: 'e == "level_up"'}
      - {name: b, where: 'e == "level_up" && level >= a.level + 2', times: [1, 2]}
    within: 3m
    emit: {from: "${a.level}"}
)";

/// Count and all-of rules in every form shared counting takes (it is on without --timeouts):
/// fire every N, events written, a template reading a part's field, no window, a schedule,
/// two parts on one condition, a rule on the same condition as another; with a sequence rule
/// in between, so that matches of several rules of one event must keep the rule order.
const char* const counting_rules = R"(rules:
  - id: kills_3
    keyed: p
    where: 'e == "kill"'
    count: 3
    within: 1m
    fire: {every: 2}
  - id: veteran_dungeon
    keyed: p
    pattern: 'a: e == "level_up" && level >= 3 -> b: e == "dungeon_clear"'
    within: 2m
    skip: skip_past_last
    emit: {level: "${a.level}"}
  - id: kills_and_quests
    keyed: p
    within: 2m
    all_of:
      - {name: kills, where: 'e == "kill"', count: 2}
      - {name: quests, where: 'e == "quest"', count: 1}
    emit: {last_kill_level: "${kills.level}"}
    emit_events: false
  - id: kills_ever
    keyed: p
    where: 'e == "kill"'
    count: 10
  - id: late_buyers
    keyed: p
    where: 'e == "purchase"'
    count: 2
    within: 3m
    active: {from: "2026-12-01T09:25:00+09:00"}
    emit_events: false
  - id: kill_pairs
    keyed: p
    within: 40s
    all_of:
      - {name: x, where: 'e == "kill"', count: 2}
      - {name: y, where: 'e == "kill" || e == "quest"', count: 1}
      - {name: z, where: 'e=="kill"', count: 1}
)";

/// Four players over ~20 minutes, out of order by up to 4 s, in RFC 3339 with a +09:00 offset
/// so that a restored operator must write times in the input's style.
std::vector<std::string> generated_events() {
    const char* const kinds[] = {"level_up", "dungeon_clear", "kill", "kill", "quest", "purchase", "logout"};
    std::vector<std::string> lines;
    std::uint64_t state = 12345;
    auto next = [&state](std::uint64_t n) {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        return (state >> 33) % n;
    };
    long ms = 1'000'000;
    for (int i = 0; i < 400; ++i) {
        ms += 3'000;
        const long jitter = static_cast<long>(next(4'000));
        const long t = ms - jitter;
        const long s = t / 1000, frac = t % 1000;
        char time[64];
        std::snprintf(time, sizeof time, "2026-12-01T%02ld:%02ld:%02ld.%03ld+09:00", 9 + s / 3600,
                      (s / 60) % 60, s % 60, frac);
        lines.push_back(std::string(R"({"ts":")") + time + R"(","p":"p)" + std::to_string(next(4)) +
                        R"(","e":")" + kinds[next(7)] + R"(","level":)" + std::to_string(1 + next(9)) +
                        R"(,"gold":)" + std::to_string(next(100)) + "}");
    }
    return lines;
}

class Harness {
  public:
    Harness(const char* rules, const std::string& timeouts) {
        cep::ops::SequenceOptions options;
        options.rules = cep::sequence::parse_rules(rules, "rules.yaml");
        options.time.path = "ts";
        options.time.max_delay = 5'000'000'000; // 5s: records are held and reordered
        options.timeouts = timeouts;
        op_ = std::make_unique<cep::ops::Sequence>(std::move(options), schema_);
        parser_ = std::make_unique<cep::RecordParser>(schema_);
    }
    void push(const std::string& json) {
        text_.assign(json);
        text_.append(simdjson::SIMDJSON_PADDING, ' ');
        const std::string_view line(text_.data(), json.size());
        cep::ParseFailure failure;
        ++line_;
        // As the driver does: a record no rule can accept goes by its time only.
        if (const auto* test = op_->time_only_prefilter();
            test && !test->may_match(line) && op_->push_time_only(line, {"test", line_}, std::nullopt, out)) {
            ++time_only;
            return;
        }
        REQUIRE_MESSAGE(parser_->parse(line, failure), failure.reason);
        op_->push(cep::Record{line, parser_->slots(), {"test", line_}}, out);
    }
    cep::ops::Sequence& op() { return *op_; }
    std::uint64_t time_only = 0;
    Lines out;

  private:
    cep::Schema schema_;
    std::unique_ptr<cep::ops::Sequence> op_;
    std::unique_ptr<cep::RecordParser> parser_;
    std::string text_;
    std::uint64_t line_ = 0;
};

std::string temp_path(const std::string& name) {
    return "/tmp/cep-seq-snapshot-" + std::to_string(::getpid()) + "-" + name;
}

std::vector<std::string> read_lines(const std::string& path) {
    std::vector<std::string> lines;
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);)
        lines.push_back(line);
    std::remove(path.c_str());
    return lines;
}

struct Result {
    std::vector<std::string> matches;
    std::vector<std::string> timeouts;
};

/// `with_timeouts`: with a --timeouts file, so count and all-of rules count per rule; without,
/// they count through shared logs.
Result run_whole(const char* rules, const std::vector<std::string>& lines, bool with_timeouts = true) {
    const std::string timeouts = with_timeouts ? temp_path("whole") : "";
    {
        Harness h(rules, timeouts);
        for (const auto& line : lines)
            h.push(line);
        h.op().finish(h.out);
        Result r{h.out.lines, {}};
        h.out.lines.clear();
        if (with_timeouts) r.timeouts = read_lines(timeouts);
        return r;
    }
}

/// `split` records into `first_rules`, a snapshot, the rest into a fresh operator with
/// `second_rules` restored from it.
Result run_split(const char* first_rules, const char* second_rules, const std::vector<std::string>& lines,
                 std::size_t split, bool with_timeouts = true) {
    const std::string before = with_timeouts ? temp_path("before") : "";
    const std::string after = with_timeouts ? temp_path("after") : "";
    Result r;
    std::stringstream state;
    {
        Harness first(first_rules, before);
        for (std::size_t i = 0; i < split; ++i)
            first.push(lines[i]);
        first.op().snapshot(state);
        r.matches = first.out.lines;
    } // closes its timeouts file
    Harness second(second_rules, after);
    second.op().restore(state);
    for (std::size_t i = split; i < lines.size(); ++i)
        second.push(lines[i]);
    second.op().finish(second.out);
    r.matches.insert(r.matches.end(), second.out.lines.begin(), second.out.lines.end());
    if (!with_timeouts) return r;
    r.timeouts = read_lines(before);
    const auto later = read_lines(after);
    r.timeouts.insert(r.timeouts.end(), later.begin(), later.end());
    return r;
}

std::vector<std::string> with_rule(const std::vector<std::string>& lines, const std::string& id) {
    std::vector<std::string> out;
    for (const auto& line : lines)
        if (line.find("\"rule\":\"" + id + "\"") != std::string::npos) out.push_back(line);
    return out;
}

/// A snapshot after every `step`-th record: each split run must write what one run writes.
void check_every_split(const char* rules, const std::vector<std::string>& lines, const Result& whole,
                       std::size_t step, bool with_timeouts = true) {
    for (std::size_t split = 0; split <= lines.size(); split += step) {
        CAPTURE(split);
        const Result parts = run_split(rules, rules, lines, split, with_timeouts);
        REQUIRE(parts.matches == whole.matches);
        REQUIRE(parts.timeouts == whole.timeouts);
    }
}

} // namespace

TEST_CASE("sequence snapshot: a run split at any record writes what one run writes") {
    const auto lines = generated_events();
    const Result whole = run_whole(all_rules, lines);
    // The rules all fire and time out on this data, so the comparison covers every kind.
    for (const char* id :
         {"spender", "veteran_dungeon", "killing_spree", "daily_set", "fast_climber", "kept_playing"}) {
        CAPTURE(id);
        CHECK(!with_rule(whole.matches, id).empty());
    }
    CHECK(!with_rule(whole.timeouts, "veteran_dungeon").empty());
    CHECK(!with_rule(whole.timeouts, "spender").empty());
    check_every_split(all_rules, lines, whole, 7);
}

TEST_CASE("sequence snapshot: records held by their time only") {
    const auto lines = generated_events();
    {
        Harness probe(literal_rules, "");
        for (const auto& line : lines)
            probe.push(line);
        CHECK(probe.time_only > 100);
    }
    const Result whole = run_whole(literal_rules, lines);
    CHECK(!with_rule(whole.matches, "veteran_dungeon").empty());
    CHECK(!with_rule(whole.timeouts, "veteran_dungeon").empty());
    check_every_split(literal_rules, lines, whole, 11);
}

TEST_CASE("sequence snapshot: restored into edited rules, as a reload") {
    const auto lines = generated_events();
    const Result edited = run_whole(edited_rules, lines);
    const Result original = run_whole(all_rules, lines);
    for (std::size_t split : {std::size_t{50}, std::size_t{201}, std::size_t{333}}) {
        CAPTURE(split);
        const Result parts = run_split(all_rules, edited_rules, lines, split);
        // Unchanged rules continue as if never interrupted, reading captured a.level although
        // the removed rule's a.gold was captured before it.
        for (const char* id : {"veteran_dungeon", "fast_climber"}) {
            CAPTURE(id);
            CHECK(with_rule(parts.matches, id) == with_rule(edited.matches, id));
            CHECK(with_rule(parts.timeouts, id) == with_rule(edited.timeouts, id));
        }
        // The changed rule starts over: its matches before the split are the old count-3 ones.
        const auto spree = with_rule(parts.matches, "killing_spree");
        CHECK(spree.size() < with_rule(original.matches, "killing_spree").size());
        // The removed rule matched only before the split.
        CHECK(with_rule(parts.matches, "spender").size() < with_rule(original.matches, "spender").size());
    }
}

TEST_CASE("shared counting: the matches of per-rule counting, split at any record too") {
    const auto lines = generated_events();
    const Result per_rule = run_whole(counting_rules, lines, true);
    const Result shared = run_whole(counting_rules, lines, false);
    for (const char* id :
         {"kills_3", "veteran_dungeon", "kills_and_quests", "kills_ever", "late_buyers", "kill_pairs"}) {
        CAPTURE(id);
        CHECK(!with_rule(per_rule.matches, id).empty());
    }
    // The schedule holds: no purchase before 09:25 counts, so the first match ends after it.
    const auto late = with_rule(per_rule.matches, "late_buyers");
    REQUIRE(!late.empty());
    CHECK(late.front().find("\"match_start\":\"2026-12-01T09:2") != std::string::npos);
    REQUIRE(shared.matches == per_rule.matches);
    check_every_split(counting_rules, lines, shared, 13, false);
    // The same for the other rule sets, and for a snapshot restored into edited rules.
    CHECK(run_whole(all_rules, lines, false).matches == run_whole(all_rules, lines, true).matches);
    const Result edited = run_whole(edited_rules, lines, false);
    CHECK(edited.matches == run_whole(edited_rules, lines, true).matches);
    for (std::size_t split : {std::size_t{50}, std::size_t{201}, std::size_t{333}}) {
        CAPTURE(split);
        const Result parts = run_split(all_rules, edited_rules, lines, split, false);
        const Result per_rule_parts = run_split(all_rules, edited_rules, lines, split, true);
        CHECK(parts.matches == per_rule_parts.matches);
        CHECK(with_rule(parts.matches, "veteran_dungeon") == with_rule(edited.matches, "veteran_dungeon"));
    }
}

TEST_CASE("shared counting: a snapshot restores only into the same way of counting") {
    const auto lines = generated_events();
    Harness shared(counting_rules, "");
    for (std::size_t i = 0; i < 100; ++i)
        shared.push(lines[i]);
    std::stringstream state;
    shared.op().snapshot(state);
    const std::string timeouts = temp_path("refused");
    {
        Harness per_rule(counting_rules, timeouts);
        CHECK_THROWS_WITH_AS(per_rule.op().restore(state),
                             "the sequence snapshot counts through shared logs (taken without --timeouts and "
                             "--explain): restore it without them",
                             cep::RuntimeError);
    }
    std::remove(timeouts.c_str());
}

TEST_CASE("sequence snapshot: refused when it is not one, or cut short") {
    const auto lines = generated_events();
    Harness first(all_rules, "");
    for (std::size_t i = 0; i < 100; ++i)
        first.push(lines[i]);
    std::stringstream state;
    first.op().snapshot(state);
    const std::string bytes = state.str();

    Harness garbage(all_rules, "");
    std::stringstream not_one("cep-window/1\nxyz");
    CHECK_THROWS_WITH_AS(garbage.op().restore(not_one), "not a cep-sequence snapshot", cep::RuntimeError);

    Harness truncated(all_rules, "");
    std::stringstream cut(bytes.substr(0, bytes.size() / 2));
    CHECK_THROWS_AS(truncated.op().restore(cut), cep::RuntimeError);
}
