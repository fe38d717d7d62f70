// cep-sequence's matching engine, checked against the outcomes Flink CEP documents for its
// Pattern API (contiguity, quantifiers, negation, skip strategies) and against the count,
// all-of, fire and schedule rules of cep-sequence.

#include "cep/errors.hpp"
#include "cep/ops/sequence.hpp"
#include "cep/record_parser.hpp"
#include "cep/sequence/expect.hpp"
#include "cep/sequence/loader.hpp"

#include <algorithm>
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <simdjson.h>
#include <sstream>
#include <string>
#include <vector>

namespace doctest {
template <> struct StringMaker<std::vector<std::string>> {
    static String convert(const std::vector<std::string>& v) {
        std::string out = "{";
        for (const auto& s : v)
            out += (out.size() > 1 ? ", " : "") + ("[" + s + "]");
        return (out + "}").c_str();
    }
};
} // namespace doctest

namespace {

using cep::sequence::parse_rules;

class Capture final : public cep::Emitter {
  public:
    void emit(const cep::Record& record, const cep::Route&) override { lines.emplace_back(record.raw); }
    void emit_new(std::string_view json, const cep::Origin&, const cep::Route&) override {
        lines.emplace_back(json);
    }
    void reject(const cep::Record&, std::string_view reason) override { rejected.emplace_back(reason); }
    std::vector<std::string> lines;
    std::vector<std::string> rejected;
};

/// Feeds events named like `a1` (field n; t is the name without digits, so conditions read
/// `t == "a"` or `contains(n, "a")`) through cep-sequence's operator with the given rules.
class Harness {
  public:
    explicit Harness(const std::string& rules, cep::Duration max_delay = 0) {
        cep::ops::SequenceOptions options;
        options.rules = parse_rules(rules, "test.yaml");
        options.time.path = "ts";
        options.time.max_delay = max_delay;
        op_ = std::make_unique<cep::ops::Sequence>(std::move(options), schema_);
        parser_ = std::make_unique<cep::RecordParser>(schema_);
    }

    /// Pushes one record (JSON text).
    void push_json(const std::string& json) {
        text_.assign(json);
        text_.append(simdjson::SIMDJSON_PADDING, ' ');
        const std::string_view line(text_.data(), json.size());
        cep::ParseFailure failure;
        REQUIRE_MESSAGE(parser_->parse(line, failure), failure.reason);
        op_->push(cep::Record{line, parser_->slots(), {"test", ++line_}}, out);
    }

    /// Pushes events by name, at times 1, 2, 3, ... (or the given times), key `k`.
    void feed(const std::vector<std::string>& names, std::vector<long> times = {}) {
        for (std::size_t i = 0; i < names.size(); ++i) {
            const long ts = times.empty() ? static_cast<long>(i + 1) : times[i];
            std::string type;
            for (char c : names[i])
                if (!std::isdigit(static_cast<unsigned char>(c))) type += c;
            push_json(R"({"ts":)" + std::to_string(ts) + R"(,"n":")" + names[i] + R"(","t":")" + type +
                      R"(","k":"k"})");
        }
    }
    void finish() { op_->finish(out); }
    void watermark(long ts) { op_->on_watermark(ts * 1'000'000, out); }

    /// Each match as its events' names in match order, e.g. "a1 b2".
    std::vector<std::string> matches() const {
        std::vector<std::string> out_list;
        for (const auto& line : out.lines) {
            const auto json = nlohmann::ordered_json::parse(line);
            std::string names;
            for (const auto& [stage, events] : json["events"].items())
                for (const auto& event : events) {
                    if (!names.empty()) names += ' ';
                    names += event["n"].get<std::string>();
                }
            out_list.push_back(names);
        }
        return out_list;
    }
    std::vector<std::string> sorted() const {
        auto m = matches();
        std::sort(m.begin(), m.end());
        return m;
    }

    Capture out;

  private:
    cep::Schema schema_;
    std::unique_ptr<cep::ops::Sequence> op_;
    std::unique_ptr<cep::RecordParser> parser_;
    std::string text_;
    std::uint64_t line_ = 0;
};

std::vector<std::string> run(const std::string& rules, const std::vector<std::string>& events) {
    Harness h(rules);
    h.feed(events);
    h.finish();
    return h.sorted();
}

std::vector<std::string> sorted(std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
}

std::string rule(const std::string& pattern, const std::string& extra = "") {
    return "id: r\nkeyed: k\npattern: '" + pattern + "'\n" + extra;
}

} // namespace

TEST_CASE("sequence: contiguity between stages (Flink docs: a c b1 b2)") {
    const std::vector<std::string> events{"a1", "c1", "b1", "b2"};
    CHECK(run(rule(R"(a: t == "a" => b: t == "b")"), events).empty());
    CHECK(run(rule(R"(a: t == "a" -> b: t == "b")"), events) == std::vector<std::string>{"a1 b1"});
    CHECK(run(rule(R"(a: t == "a" ->> b: t == "b")"), events) == sorted({"a1 b1", "a1 b2"}));
}

TEST_CASE("sequence: contiguity inside a looping stage (Flink docs: C D A1 A2 A3 D A4 B)") {
    const std::vector<std::string> events{"c1", "d1", "a1", "a2", "a3", "d2", "a4", "b1"};
    const auto stages = [](const std::string& inner) {
        return "id: r\nkeyed: k\nstages:\n"
               "  - {name: start, where: 't == \"c\"'}\n"
               "  - {name: middle, where: 't == \"a\"', one_or_more: true" +
               inner +
               "}\n"
               "  - {name: end1, where: 't == \"b\"'}\n";
    };
    CHECK(run(stages(", consecutive: true"), events) ==
          sorted({"c1 a1 b1", "c1 a1 a2 b1", "c1 a1 a2 a3 b1"}));
    CHECK(run(stages(""), events) ==
          sorted({"c1 a1 b1", "c1 a1 a2 b1", "c1 a1 a2 a3 b1", "c1 a1 a2 a3 a4 b1"}));
    // Flink's documentation also lists combinations that skip A1 ({C A2 B}, ...), but its
    // compiler, like ours, lets `middle` begin only with the first A after C (followedBy); with
    // followedByAny (contiguity: any) they all appear.
    const std::vector<std::string> from_a1{"c1 a1 b1",       "c1 a1 a2 b1",      "c1 a1 a3 b1",
                                           "c1 a1 a4 b1",    "c1 a1 a2 a3 b1",   "c1 a1 a2 a4 b1",
                                           "c1 a1 a3 a4 b1", "c1 a1 a2 a3 a4 b1"};
    CHECK(run(stages(", allow_combinations: true"), events) == sorted(from_a1));
    auto all = from_a1;
    for (const char* m :
         {"c1 a2 b1", "c1 a2 a3 b1", "c1 a2 a4 b1", "c1 a2 a3 a4 b1", "c1 a3 b1", "c1 a3 a4 b1", "c1 a4 b1"})
        all.push_back(m);
    CHECK(run(stages(", allow_combinations: true, contiguity: any"), events) == sorted(all));
}

TEST_CASE("sequence: times and skip strategies (Flink AfterMatchSkip cases)") {
    const std::vector<std::string> six{"a1", "a2", "a3", "a4", "a5", "a6"};
    CHECK(run(rule(R"(a{3}: t == "a")"), six) == sorted({"a1 a2 a3", "a2 a3 a4", "a3 a4 a5", "a4 a5 a6"}));
    CHECK(run(rule(R"(a{3}: t == "a")", "skip: skip_past_last\n"), six) == sorted({"a1 a2 a3", "a4 a5 a6"}));

    // a ->> b over a1 b1 a2 b2
    const std::vector<std::string> ab{"a1", "b1", "a2", "b2"};
    CHECK(run(rule(R"(a: t == "a" ->> b: t == "b")"), ab) == sorted({"a1 b1", "a1 b2", "a2 b2"}));
    CHECK(run(rule(R"(a: t == "a" ->> b: t == "b")", "skip: skip_to_next\n"), ab) ==
          sorted({"a1 b1", "a2 b2"}));

    // a => b+ over a1 b1 b2 b3
    const std::vector<std::string> abbb{"a1", "b1", "b2", "b3"};
    CHECK(run(rule(R"(a: t == "a" => b+: t == "b")"), abbb) == sorted({"a1 b1", "a1 b1 b2", "a1 b1 b2 b3"}));
    CHECK(run(rule(R"(a: t == "a" => b+: t == "b")", "skip: skip_to_next\n"), abbb) ==
          std::vector<std::string>{"a1 b1"});

    // start{2} => end{2} where names contain a / b, over ab1..ab6 (ab7)
    const std::string ab2 = R"(start{2}: contains(n, "a") => end{2}: contains(n, "b"))";
    CHECK(run(rule(ab2, "skip: {skip_to_first: end}\n"), {"ab1", "ab2", "ab3", "ab4", "ab5", "ab6"}) ==
          sorted({"ab1 ab2 ab3 ab4", "ab3 ab4 ab5 ab6"}));
    CHECK(run(rule(ab2, "skip: {skip_to_last: end}\n"), {"ab1", "ab2", "ab3", "ab4", "ab5", "ab6", "ab7"}) ==
          sorted({"ab1 ab2 ab3 ab4", "ab4 ab5 ab6 ab7"}));

    CHECK(
        run(rule(
                R"(a: contains(n, "a") ->> b: contains(n, "b") ->> c: contains(n, "c") -> d: contains(n, "d"))",
                "skip: skip_past_last\n"),
            {"a1", "a2", "b1", "b2", "c1", "c2", "d1", "d2"}) == std::vector<std::string>{"a1 b1 c1 d1"});
    CHECK(run(rule(R"(a: contains(n, "a") => b: contains(n, "b"))", "skip: skip_past_last\n"),
              {"a1", "c", "a2", "b2"}) == std::vector<std::string>{"a2 b2"});
}

TEST_CASE("sequence: skip strategies with a greedy consecutive loop (Flink docs: a1 a2 a3 b1)") {
    const std::string loop =
        "id: r\nkeyed: k\nstages:\n"
        "  - {name: a, where: 'contains(n, \"a\")', one_or_more: true, consecutive: true, "
        "greedy: true}\n"
        "  - {name: b, where: 'contains(n, \"b\")', contiguity: strict}\n";
    const std::vector<std::string> events{"a1", "a2", "a3", "b1"};
    CHECK(run(loop, events) == sorted({"a1 a2 a3 b1", "a2 a3 b1", "a3 b1"}));
    CHECK(run(loop + "skip: skip_past_last\n", events) == std::vector<std::string>{"a1 a2 a3 b1"});
    CHECK(run(loop + "skip: {skip_to_last: a}\n", events) == sorted({"a1 a2 a3 b1", "a3 b1"}));
    CHECK(run(loop + "skip: {skip_to_first: a}\n", events) == sorted({"a1 a2 a3 b1", "a2 a3 b1", "a3 b1"}));
}

TEST_CASE("sequence: skip_to_first with a greedy loop in the middle (Flink docs: a b c1 c2 c3 d)") {
    const std::string rules = "id: r\nkeyed: k\nskip: {skip_to_first: cs}\nstages:\n"
                              "  - {name: aorc, where: 'contains(n, \"a\") || contains(n, \"c\")'}\n"
                              "  - {name: borc, where: 'contains(n, \"b\") || contains(n, \"c\")'}\n"
                              "  - {name: cs, where: 'contains(n, \"c\")', one_or_more: true, greedy: true}\n"
                              "  - {name: d, where: 'contains(n, \"d\")'}\n";
    CHECK(run(rules, {"a", "b", "c1", "c2", "c3", "d"}) == sorted({"a b c1 c2 c3 d", "c1 c2 c3 d"}));
}

TEST_CASE("sequence: skip_to_first and skip_to_last with consecutive one_or_more") {
    const std::vector<std::string> events{"a1", "b1", "a2", "b2", "b3", "a3", "b4"};
    const std::string base =
        "id: r\nkeyed: k\nstages:\n"
        "  - {name: a, where: 'contains(n, \"a\")'}\n"
        "  - {name: b, where: 'contains(n, \"b\")', contiguity: strict, one_or_more: true, "
        "consecutive: true}\n";
    CHECK(run(base + "skip: {skip_to_first: b}\n", events) == sorted({"a1 b1", "a2 b2", "a3 b4"}));
    CHECK(run(base + "skip: {skip_to_last: b}\n", events) == sorted({"a1 b1", "a2 b2", "a3 b4"}));
}

TEST_CASE("sequence: optional stages and a missing skip target") {
    // x*? => b => c with skip_to_first b: x never occurs.
    const std::string rules =
        "id: r\nkeyed: k\nskip: {skip_to_first: b}\nstages:\n"
        "  - {name: x, where: 'contains(n, \"x\")', one_or_more: true, optional: true}\n"
        "  - {name: b, where: 'contains(n, \"b\")', contiguity: strict}\n"
        "  - {name: c, where: 'contains(n, \"c\")', contiguity: strict}\n";
    CHECK(run(rules, {"ab1", "c1", "ab2", "c2"}) == sorted({"ab1 c1", "ab2 c2"}));
    const std::string missed =
        "id: r\nkeyed: k\nskip: {skip_to_first: b}\nstages:\n"
        "  - {name: a, where: 'contains(n, \"a\")'}\n"
        "  - {name: b, where: 'contains(n, \"b\")', contiguity: strict, one_or_more: true, "
        "optional: true, consecutive: true}\n"
        "  - {name: c, where: 'contains(n, \"c\")', contiguity: strict}\n";
    CHECK(run(missed, {"a", "c"}) == std::vector<std::string>{"a c"});
    CHECK(run(rule(R"(a: t == "a" -> b?: t == "b" -> c: t == "c")"), {"a1", "b1", "c1"}) ==
          sorted({"a1 b1 c1", "a1 c1"}));
}

TEST_CASE("sequence: conditions on earlier stages (Flink: skip before other already completed)") {
    Harness h(
        "id: r\nkeyed: k\nskip: {skip_to_first: c}\n"
        "pattern: 'a: contains(n, \"a\") -> c: contains(n, \"c\") -> b: contains(n, \"b\") && p == a.p'\n");
    const std::vector<std::pair<std::string, int>> events{{"a1", 0}, {"c1", 0}, {"a2", 1},
                                                          {"c2", 0}, {"b1", 1}, {"b2", 0}};
    int ts = 0;
    for (const auto& [name, price] : events)
        h.push_json(R"({"ts":)" + std::to_string(++ts) + R"(,"n":")" + name + R"(","p":)" +
                    std::to_string(price) + R"(,"k":"k"})");
    h.finish();
    CHECK(h.sorted() == sorted({"a1 c1 b2", "a2 c2 b1"}));
}

TEST_CASE("sequence: negation") {
    const std::string nfb = R"(a: t == "a" -> !b: t == "b" -> c: t == "c")";
    CHECK(run(rule(nfb), {"a1", "b1", "c1"}).empty());
    CHECK(run(rule(nfb), {"a1", "x1", "c1"}) == std::vector<std::string>{"a1 c1"});
    CHECK(run(rule(nfb), {"a1", "b1", "a2", "c1"}) == std::vector<std::string>{"a2 c1"});
    const std::string nn = R"(a: t == "a" => !b: t == "b" -> c: t == "c")";
    CHECK(run(rule(nn), {"a1", "b1", "c1"}).empty());
    CHECK(run(rule(nn), {"a1", "x1", "b1", "c1"}) == std::vector<std::string>{"a1 c1"});

    // A trailing not_followed_by completes when `within` has passed without the event.
    Harness h(rule(R"(a: t == "a" -> !b: t == "b")", "within: 10ms\n"));
    h.feed({"a1", "x1"}, {1, 5});
    h.watermark(10);
    CHECK(h.matches().empty());
    h.watermark(11); // a1 + 10ms
    CHECK(h.matches() == std::vector<std::string>{"a1"});
    h.feed({"a2", "b1"}, {12, 14});
    h.finish(); // b1 followed a2 within 10ms
    CHECK(h.matches() == std::vector<std::string>{"a1"});
}

TEST_CASE("sequence: within, timeouts and out-of-order input") {
    // a1 at 1, b1 at 12: more than 10ms apart, so no match; a2 at 5 -> b1 at 12 matches.
    CHECK(run(rule(R"(a: t == "a" -> b: t == "b")", "within: 10ms\n"), {"a1"}).empty());
    {
        Harness h(rule(R"(a: t == "a" -> b: t == "b")", "within: 10ms\n"));
        h.feed({"a1", "a2", "b1"}, {1, 5, 12});
        h.finish();
        CHECK(h.matches() == std::vector<std::string>{"a2 b1"});
    }
    {
        // Same records out of order, reordered within --max-delay.
        Harness h(rule(R"(a: t == "a" -> b: t == "b")", "within: 10ms\n"), 20 * 1'000'000);
        h.feed({"b1", "a2", "a1"}, {12, 5, 1});
        h.finish();
        CHECK(h.matches() == std::vector<std::string>{"a2 b1"});
    }
}

TEST_CASE("sequence: keys are independent and strict contiguity is per key") {
    Harness h("id: r\nkeyed: k\npattern: 'a: t == \"a\" => b: t == \"b\"'\n");
    h.push_json(R"({"ts":1,"n":"a1","t":"a","k":"x"})");
    h.push_json(R"({"ts":2,"n":"c1","t":"c","k":"y"})");
    h.push_json(R"({"ts":3,"n":"b1","t":"b","k":"x"})");
    h.finish();
    REQUIRE(h.matches() == std::vector<std::string>{"a1 b1"});
    CHECK(nlohmann::json::parse(h.out.lines[0])["key"] == "x");
}

TEST_CASE("count, all_of, fire and schedules") {
    // The operators' event_list form: the event 3 times for the same player.
    const std::string mission = R"(
event_list:
  - topic: sample-access
    conditions:
      - {field: t, value: a, type: string, operator: equals}
    count: 3
    keyed: k
)";
    CHECK(run(mission, {"a1", "b1", "a2", "a3", "a4", "a5", "a6"}) == sorted({"a1 a2 a3", "a4 a5 a6"}));
    CHECK(run(mission + "fire: once\n", {"a1", "a2", "a3", "a4", "a5", "a6"}) ==
          std::vector<std::string>{"a1 a2 a3"});
    CHECK(run("id: r\nkeyed: k\nwhere: 't == \"a\"'\ncount: 1\nfire: {every: 2}\n",
              {"a1", "a2", "a3", "a4"}) == sorted({"a2", "a4"}));

    // Sliding time window: a1 falls out before the third event arrives.
    {
        Harness h("id: r\nkeyed: k\nwhere: 't == \"a\"'\ncount: 3\nwithin: 10ms\n");
        h.feed({"a1", "a2", "a3", "a4"}, {1, 5, 11, 12});
        h.finish();
        CHECK(h.matches() == std::vector<std::string>{"a2 a3 a4"});
    }
    // Count window: 2 matching events within 3 consecutive events of the key.
    CHECK(run("id: r\nkeyed: k\nwhere: 't == \"a\"'\ncount: 2\nwithin_events: 3\n",
              {"a1", "x1", "x2", "a2", "x3", "a3"}) == std::vector<std::string>{"a2 a3"});

    const std::string all_of = "id: r\nkeyed: k\nwithin: 10ms\nall_of:\n"
                               "  - {name: as, where: 't == \"a\"', count: 2}\n"
                               "  - {name: bs, where: 't == \"b\"', count: 1}\n";
    {
        Harness h(all_of);
        h.feed({"b1", "a1", "x1", "a2", "a3", "b2"}, {1, 2, 3, 20, 21, 22});
        h.finish();
        CHECK(h.matches() == std::vector<std::string>{"a2 a3 b2"});
    }
    // Schedules: events outside [from, until) do not count.
    CHECK(run("id: r\nkeyed: k\nwhere: 't == \"a\"'\ncount: 2\n"
              "active: {from: '1970-01-01T00:00:00.003Z', until: '1970-01-01T00:00:00.006Z'}\n",
              {"a1", "a2", "a3", "a4", "a5", "a6", "a7"}) == std::vector<std::string>{"a3 a4"});
}

TEST_CASE("emit templates and output shape") {
    Harness h("id: reward\nkeyed: k\nwithin: 1h\n"
              "pattern: 'a: t == \"a\" -> b: t == \"b\"'\n"
              "emit: {reward: gems, amount: 100, player: '${key}', from: '${a.n}', text: 'got ${b.n} "
              "(${rule})'}\n");
    h.feed({"a1", "b1"});
    h.finish();
    REQUIRE(h.out.lines.size() == 1);
    const auto json = nlohmann::ordered_json::parse(h.out.lines[0]);
    std::vector<std::string> names;
    for (const auto& [name, value] : json.items())
        names.push_back(name);
    CHECK(names == std::vector<std::string>{"rule", "key", "match_start", "match_end", "reward", "amount",
                                            "player", "from", "text", "events"});
    CHECK(json["rule"] == "reward");
    CHECK(json["match_start"] == 1);
    CHECK(json["match_end"] == 2);
    CHECK(json["amount"] == 100);
    CHECK(json["player"] == "k");
    CHECK(json["from"] == "a1");
    CHECK(json["text"] == "got b1 (reward)");
}

TEST_CASE("rule files: errors name the file, line and column") {
    auto error = [](const std::string& text) {
        try {
            cep::Schema schema;
            cep::ops::SequenceOptions options;
            options.rules = parse_rules(text, "m.yaml");
            cep::ops::Sequence op(std::move(options), schema);
        } catch (const cep::UsageError& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    CHECK(error("rules:\n  - id: r\n    withn: 1d\n    pattern: 'a: x == 1'\n")
              .starts_with("m.yaml:3:5: unknown key 'withn'"));
    CHECK(error("rules:\n  - id: r\n    pattern: 'a: x == -> b: y'\n").starts_with("m.yaml:3:"));
    CHECK(error("rules:\n  - id: r\n    stages:\n      - {name: a, where: 'x == == 1'}\n")
              .starts_with("m.yaml:4:"));
    CHECK(error("id: r\npattern: 'a: x == 1 -> !b: y == 2'\n").find("within") != std::string::npos);
    CHECK(error("id: r\nwhere: 'x == 1'\ncount: 0\n").starts_with("m.yaml:3:8: count"));
    CHECK(error("rules: [{id: r, pattern: 'a: x'}, {id: r, pattern: 'a: y'}]").find("duplicate rule id") !=
          std::string::npos);
    CHECK(error("id: r\npattern: 'a: x == 1'\nemit: {n: '${b.x}'}\n").find("unknown placeholder ${b.x}") !=
          std::string::npos);
    CHECK(error("id: r\npattern: 'a: x == 1'\nskip: {skip_to_first: z}\n").find("no stage 'z'") !=
          std::string::npos);
}

TEST_CASE("the command-line pattern form") {
    const auto stages =
        cep::sequence::parse_pattern(R"(a: x == "->" -> b{2,4} greedy: y => !c: z ->> d*: w)");
    REQUIRE(stages.size() == 4);
    CHECK(stages[0].where.text == R"(x == "->")");
    CHECK(stages[1].min == 2);
    CHECK(stages[1].max == 4);
    CHECK(stages[1].greedy);
    CHECK(stages[2].negation == cep::sequence::Negation::not_next);
    CHECK(stages[3].contiguity == cep::sequence::Contiguity::any);
    CHECK(stages[3].looping);
    CHECK(stages[3].optional);
    CHECK_THROWS_WITH_AS(cep::sequence::parse_pattern("a x == 1"), doctest::Contains("--pattern:1:1"),
                         cep::UsageError);
    CHECK(cep::sequence::name_stem("logs/sample-access.ndjson.zst") == "sample-access");
}

TEST_CASE("--expect compares match records as JSON values and diffs them") {
    using cep::sequence::compare_expected;
    const std::vector<std::string> got{R"({"rule":"r","key":"a","n":1})", R"({"rule":"r","key":"b","n":2})"};
    auto same = compare_expected(
        "{\"key\": \"a\", \"rule\": \"r\", \"n\": 1.0}\n\n{\"rule\":\"r\",\"key\":\"b\",\"n\":2}\n", got,
        "e.ndjson");
    CHECK(same.equal);
    CHECK(same.expected == 2);
    auto diff = compare_expected(
        "{\"rule\":\"r\",\"key\":\"a\",\"n\":1}\n{\"rule\":\"r\",\"key\":\"c\",\"n\":3}\n", got, "e.ndjson");
    CHECK_FALSE(diff.equal);
    CHECK(diff.diff.find("- expected line 2: {\"rule\":\"r\",\"key\":\"c\",\"n\":3}") != std::string::npos);
    CHECK(diff.diff.find("+ output line   2: {\"rule\":\"r\",\"key\":\"b\",\"n\":2}") != std::string::npos);
    CHECK(diff.diff.find("- expected line 1") == std::string::npos);
    CHECK_FALSE(compare_expected("", got, "e.ndjson").equal);
    CHECK(compare_expected("", {}, "e.ndjson").equal);
}
