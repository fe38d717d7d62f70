// cep-window: window assignment, triggers, lateness, sessions, count windows, output order and
// snapshot/restore, through the operator as the driver calls it.

#include "cep/agg/hash.hpp"
#include "cep/control.hpp"
#include "cep/ops/window.hpp"
#include "cep/record_parser.hpp"
#include "cep/window/key_table.hpp"
#include "cep/window/keys.hpp"

#include <cstdio>
#include <doctest/doctest.h>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <simdjson.h>
#include <sstream>
#include <string>
#include <vector>

using cep::window::EmitMode;
using cep::window::WindowKind;
using Json = nlohmann::json;

namespace {

class CollectingEmitter final : public cep::Emitter {
  public:
    void emit(const cep::Record& record, const cep::Route&) override { lines.emplace_back(record.raw); }
    void emit_new(std::string_view json, const cep::Origin&, const cep::Route& route) override {
        lines.emplace_back(json);
        keys.emplace_back(route.key);
    }
    void reject(const cep::Record&, std::string_view reason) override { rejected.emplace_back(reason); }
    void watermark(cep::Timestamp t) override { watermarks.push_back(t); }

    std::vector<std::string> lines, keys, rejected;
    std::vector<cep::Timestamp> watermarks;
};

struct Setup {
    WindowKind kind = WindowKind::tumbling;
    std::string size = "1m"; // tumbling/sliding size, session gap
    std::string slide;       // sliding
    std::uint64_t count = 0; // count windows
    std::uint64_t every = 0;
    std::string keys = "k";
    std::string agg = "count()";
    std::string max_delay = "0s";
    std::string lateness = "0s";
    EmitMode emit = EmitMode::final;
    bool collect = false;
};

cep::Duration duration(const std::string& text) {
    return *cep::parse_duration(text);
}

cep::ops::WindowOptions options_of(const Setup& s) {
    cep::ops::WindowOptions o;
    o.spec.kind = s.kind;
    switch (s.kind) {
    case WindowKind::tumbling:
        o.spec.size = o.spec.slide = duration(s.size);
        break;
    case WindowKind::sliding:
        o.spec.size = duration(s.size);
        o.spec.slide = duration(s.slide);
        break;
    case WindowKind::session:
        o.spec.gap = duration(s.size);
        break;
    case WindowKind::count:
        o.spec.count = s.count;
        o.spec.every = s.every == 0 ? s.count : s.every;
        break;
    }
    o.spec.lateness = duration(s.lateness);
    o.spec.emit = s.emit;
    o.spec.collect = s.collect;
    if (!s.keys.empty()) o.keys = cep::parse_path_list(s.keys);
    o.aggregates = s.agg;
    o.time.max_delay = duration(s.max_delay);
    return o;
}

/// The operator as the driver runs it: lines in (control records too), results out.
class Harness {
  public:
    explicit Harness(const Setup& setup) : op_(options_of(setup), schema_), parser_(schema_) {}

    void feed(std::string_view line) {
        if (cep::is_control(line)) {
            const auto control = cep::parse_control(line);
            REQUIRE(control.has_value());
            if (control->type == cep::ControlRecord::Type::watermark)
                op_.on_watermark(control->time, out);
            else
                op_.on_progress(control->time, out);
            return;
        }
        buffer_.assign(line);
        buffer_.append(simdjson::SIMDJSON_PADDING, ' ');
        const std::string_view text(buffer_.data(), line.size());
        cep::ParseFailure failure;
        REQUIRE_MESSAGE(parser_.parse(text, failure), failure.reason);
        op_.push(cep::Record{text, parser_.slots(), {"test", ++line_}}, out);
    }
    void feed_all(const std::vector<std::string>& lines) {
        for (const auto& line : lines)
            feed(line);
    }
    void finish() { op_.finish(out); }

    cep::ops::Window& op() { return op_; }
    std::vector<Json> results() const {
        std::vector<Json> all;
        for (const auto& line : out.lines)
            all.push_back(Json::parse(line));
        return all;
    }

    CollectingEmitter out;

  private:
    cep::Schema schema_;
    cep::ops::Window op_;
    cep::RecordParser parser_;
    std::string buffer_;
    std::uint64_t line_ = 0;
};

std::string rec(std::int64_t ts_ms, std::string_view key, double price = 1) {
    return R"({"ts":)" + std::to_string(ts_ms) + R"(,"k":")" + std::string(key) + R"(","price":)" +
           std::to_string(price) + "}";
}

std::vector<std::string> run_all(const Setup& setup, const std::vector<std::string>& lines) {
    Harness h(setup);
    h.feed_all(lines);
    h.finish();
    return h.out.lines;
}

/// Runs the lines with a snapshot after `split` of them, restored into a fresh operator.
std::vector<std::string> run_split(const Setup& setup, const std::vector<std::string>& lines,
                                   std::size_t split) {
    Harness first(setup);
    for (std::size_t i = 0; i < split; ++i)
        first.feed(lines[i]);
    std::stringstream state;
    first.op().snapshot(state);
    Harness second(setup);
    second.op().restore(state);
    for (std::size_t i = split; i < lines.size(); ++i)
        second.feed(lines[i]);
    second.finish();
    std::vector<std::string> all = first.out.lines;
    all.insert(all.end(), second.out.lines.begin(), second.out.lines.end());
    return all;
}

Json window(std::int64_t start, std::int64_t end) {
    return Json{{"start", start}, {"end", end}};
}

} // namespace

TEST_CASE("tumbling windows are aligned to the epoch and fire when the watermark reaches end - 1") {
    Harness h(Setup{});
    h.feed(rec(61'000, "a"));
    h.feed(rec(119'999, "a"));
    CHECK(h.out.lines.empty()); // watermark 119'998.999999 < end - 1 of [60s, 120s)
    h.feed(rec(120'000, "b"));  // watermark 119'999.999999 = end - 1: fires
    REQUIRE(h.out.lines.size() == 1);
    CHECK(h.results()[0] == Json{{"k", "a"}, {"window", window(60'000, 120'000)}, {"count", 2}});
    CHECK(h.out.keys[0] == "a"); // routed by the window's key
    h.finish();
    REQUIRE(h.out.lines.size() == 2);
    CHECK(h.results()[1] == Json{{"k", "b"}, {"window", window(120'000, 180'000)}, {"count", 1}});
}

TEST_CASE("windows of negative times start at the floor") {
    Harness h(Setup{});
    h.feed(rec(-1, "a"));
    h.finish();
    CHECK(h.results()[0]["window"] == window(-60'000, 0));
}

TEST_CASE("out-of-order records within --max-delay land in their windows; output by end, then key") {
    Setup s;
    s.max_delay = "10s";
    Harness h(s);
    h.feed_all({rec(50'000, "b"), rec(65'000, "a"), rec(55'000, "a"), rec(58'000, "c"), rec(69'000, "b")});
    CHECK(h.out.lines.empty()); // watermark 58.999s
    h.feed(rec(70'000, "a"));   // watermark 59.999999999s: [0, 60s) fires
    const auto r = h.results();
    REQUIRE(r.size() == 3);
    CHECK(r[0]["k"] == "a");
    CHECK(r[1]["k"] == "b");
    CHECK(r[2]["k"] == "c");
    for (const auto& result : r)
        CHECK(result["window"] == window(0, 60'000));
    CHECK(h.op().late_records() == 0);
}

TEST_CASE("the watermark is forwarded as it advances") {
    Setup s;
    s.max_delay = "1s";
    Harness h(s);
    h.feed(rec(10'000, "a"));
    REQUIRE(!h.out.watermarks.empty());
    CHECK(h.out.watermarks.back() == 9'000'000'000 - 1);
}

TEST_CASE("sliding windows: each record is in size / slide windows") {
    Setup s;
    s.kind = WindowKind::sliding;
    s.size = "3m";
    s.slide = "1m";
    s.keys = "";
    const auto lines = run_all(s, {rec(125'000, "a")});
    REQUIRE(lines.size() == 3);
    CHECK(Json::parse(lines[0])["window"] == window(0, 180'000));
    CHECK(Json::parse(lines[1])["window"] == window(60'000, 240'000));
    CHECK(Json::parse(lines[2])["window"] == window(120'000, 300'000));
}

TEST_CASE("sliding windows whose size is not a multiple of the slide") {
    Setup s;
    s.kind = WindowKind::sliding;
    s.size = "90s";
    s.slide = "1m";
    s.keys = "";
    // 30s is in [-60s, 30s) and [0, 90s); 75s only in [60s, 150s) and [0, 90s).
    auto lines = run_all(s, {rec(30'000, "a")});
    REQUIRE(lines.size() == 1);
    CHECK(Json::parse(lines[0])["window"] == window(0, 90'000));
    lines = run_all(s, {rec(75'000, "a")});
    REQUIRE(lines.size() == 2);
    CHECK(Json::parse(lines[0])["window"] == window(0, 90'000));
    CHECK(Json::parse(lines[1])["window"] == window(60'000, 150'000));
}

TEST_CASE("allowed lateness: late records within it re-fire the window as an update") {
    Setup s;
    s.lateness = "30s";
    Harness h(s);
    h.feed_all({rec(10'000, "a"), rec(70'000, "b")}); // [0, 60s) fires
    REQUIRE(h.out.lines.size() == 1);
    h.feed(rec(20'000, "a")); // late, kept: an update
    REQUIRE(h.out.lines.size() == 2);
    CHECK(h.results()[1] == Json{{"k", "a"}, {"window", window(0, 60'000)}, {"count", 2}, {"update", true}});
    h.feed(rec(30'000, "z")); // a key the window had not seen: its first result, no update flag
    CHECK(h.results()[2] == Json{{"k", "z"}, {"window", window(0, 60'000)}, {"count", 1}});
    h.feed(rec(89'999, "b")); // watermark 89.998999999 < 59.999999999 + 30s: still kept
    h.feed(rec(40'000, "a"));
    CHECK(h.results().back()["count"] == 3);
    h.feed(rec(90'000, "b")); // watermark reaches the cleanup time: state dropped
    h.feed(rec(50'000, "a"));
    CHECK(h.op().late_records() == 1);
    CHECK(h.results().back()["count"] == 3);
}

TEST_CASE("without allowed lateness a record for a fired window is late") {
    Harness h(Setup{});
    h.feed_all({rec(10'000, "a"), rec(60'000, "a"), rec(59'999, "a")});
    CHECK(h.op().late_records() == 1);
    h.finish();
    const auto r = h.results();
    REQUIRE(r.size() == 2);
    CHECK(r[0]["count"] == 1);
}

TEST_CASE("--emit updates: a result on every change, then the final one") {
    Setup s;
    s.emit = EmitMode::updates;
    Harness h(s);
    h.feed_all({rec(1'000, "a"), rec(2'000, "a")});
    auto r = h.results();
    REQUIRE(r.size() == 2);
    CHECK(r[0] == Json{{"k", "a"}, {"window", window(0, 60'000)}, {"count", 1}, {"early", true}});
    CHECK(r[1] ==
          Json{{"k", "a"}, {"window", window(0, 60'000)}, {"count", 2}, {"update", true}, {"early", true}});
    h.feed(rec(60'000, "b"));
    r = h.results();
    REQUIRE(r.size() == 4);
    CHECK(r[2] == Json{{"k", "b"}, {"window", window(60'000, 120'000)}, {"count", 1}, {"early", true}});
    CHECK(r[3] == Json{{"k", "a"}, {"window", window(0, 60'000)}, {"count", 2}, {"update", true}});
}

TEST_CASE("records without a usable time are rejected") {
    Harness h(Setup{});
    h.feed(R"({"k":"a"})");
    h.feed(R"({"ts":"yesterday","k":"a"})");
    h.feed(R"({"ts":true,"k":"a"})");
    REQUIRE(h.out.rejected.size() == 3);
    CHECK(h.out.rejected[0] == "missing event time field 'ts'");
    h.finish();
    CHECK(h.out.lines.empty());
}

TEST_CASE("RFC 3339 times are written back in the input's style") {
    Harness h(Setup{});
    h.feed(R"({"ts":"2026-11-01T12:00:30.250+09:00","k":"a"})");
    h.finish();
    CHECK(h.results()[0]["window"] ==
          Json{{"start", "2026-11-01T12:00:00.000+09:00"}, {"end", "2026-11-01T12:01:00.000+09:00"}});
}

TEST_CASE("key fields are written back under their paths; composite keys order by their text") {
    Setup s;
    s.keys = "m.p,m.c,n";
    Harness h(s);
    h.feed(R"({"ts":1,"m":{"p":"x,\"y","c":2},"n":null})");
    h.feed(R"({"ts":2,"m":{"p":"a","c":[1,2]},"n":{"z":1}})");
    h.finish();
    const auto r = h.results();
    REQUIRE(r.size() == 2);
    CHECK(r[0] == Json{{"m", {{"p", "a"}, {"c", {1, 2}}}},
                       {"n", {{"z", 1}}},
                       {"window", window(0, 60'000)},
                       {"count", 1}});
    CHECK(
        r[1] ==
        Json{{"m", {{"p", "x,\"y"}, {"c", 2}}}, {"n", nullptr}, {"window", window(0, 60'000)}, {"count", 1}});
}

TEST_CASE("single-field keys: a number stays a number, missing keys group as null") {
    Setup s;
    s.keys = "n";
    Harness h(s);
    h.feed_all({R"({"ts":1,"n":10})", R"({"ts":1,"n":9})", R"({"ts":1,"n":"9"})", R"({"ts":1})",
                R"({"ts":1,"n":-1.5})", R"({"ts":1,"n":true})"});
    h.finish();
    std::vector<Json> keys;
    for (const auto& r : h.results())
        keys.push_back(r["n"]);
    // jq's order of types; numbers by value; "9" shares the key of 9 (cep/key.hpp), first seen wins.
    CHECK(Json(keys) == Json::parse(R"([null, true, -1.5, 9, 10])"));
    CHECK(h.results()[3]["count"] == 2);
}

TEST_CASE("key paths that overlap or collide with output fields are refused") {
    cep::Schema schema;
    Setup s;
    s.keys = "a,a.b";
    CHECK_THROWS_AS(cep::ops::Window(options_of(s), schema), cep::UsageError);
    s.keys = "window";
    CHECK_THROWS_AS(cep::ops::Window(options_of(s), schema), cep::UsageError);
    s.keys = "count";
    CHECK_THROWS_AS(cep::ops::Window(options_of(s), schema), cep::UsageError);
}

TEST_CASE("session windows: [first, last + gap), merged when windows touch, as Flink's intersects") {
    Setup s;
    s.kind = WindowKind::session;
    s.size = "10s";
    Harness h(s);
    // 0, 10s: [0,10s) and [10s,20s) touch, so one session; 31s is a new one (gap 21s).
    h.feed_all({rec(0, "a"), rec(10'000, "a"), rec(5'000, "b"), rec(31'000, "a")});
    auto r = h.results();
    REQUIRE(r.size() == 2); // watermark 30.999s: a's [0, 20s) and b's [5s, 15s) fired
    CHECK(r[0] == Json{{"k", "b"}, {"window", window(5'000, 15'000)}, {"count", 1}});
    CHECK(r[1] == Json{{"k", "a"}, {"window", window(0, 20'000)}, {"count", 2}});
    h.finish();
    CHECK(h.results()[2] == Json{{"k", "a"}, {"window", window(31'000, 41'000)}, {"count", 1}});
}

TEST_CASE("session windows: a late record that bridges two sessions merges them") {
    Setup s;
    s.kind = WindowKind::session;
    s.size = "10s";
    s.lateness = "1m";
    Harness h(s);
    h.feed_all({rec(0, "a"), rec(25'000, "a"), rec(50'000, "z")}); // both of a's sessions fire
    REQUIRE(h.out.lines.size() == 2);
    h.feed(rec(12'000, "a")); // [12s, 22s) touches [0,10s)? no (12 > 10); touches [25s,35s)? no
    REQUIRE(h.out.lines.size() == 3);
    CHECK(h.results()[2] == Json{{"k", "a"}, {"window", window(12'000, 22'000)}, {"count", 1}});
    h.feed(rec(9'000, "a")); // [9s, 19s) bridges [0,10s) and [12s,22s), then 22 < 25 stays apart
    auto r = h.results();
    REQUIRE(r.size() == 4);
    CHECK(r[3] == Json{{"k", "a"},
                       {"window", window(0, 22'000)},
                       {"count", 3},
                       {"update", true},
                       {"replaces", {window(0, 10'000), window(12'000, 22'000)}}});
    h.feed(rec(15'000, "a")); // [15s, 25s) bridges [0,22s) and [25s,35s)
    r = h.results();
    CHECK(r[4] == Json{{"k", "a"},
                       {"window", window(0, 35'000)},
                       {"count", 5},
                       {"update", true},
                       {"replaces", {window(0, 22'000), window(25'000, 35'000)}}});
    CHECK(h.op().late_records() == 0);
}

TEST_CASE("session windows: a late record whose merged session is past the lateness is late") {
    Setup s;
    s.kind = WindowKind::session;
    s.size = "10s";
    s.lateness = "5s";
    Harness h(s);
    h.feed_all({rec(0, "a"), rec(30'000, "z")}); // a's [0, 10s) fired, cleaned at 14.999s
    h.feed(rec(3'000, "a"));
    CHECK(h.op().late_records() == 1);
    h.feed(rec(19'000, "a")); // [19s, 29s): end - 1 + 5s > watermark 29.999s, kept and fired at once
    CHECK(h.op().late_records() == 1);
    CHECK(h.results().back() == Json{{"k", "a"}, {"window", window(19'000, 29'000)}, {"count", 1}});
}

TEST_CASE("session windows with --emit updates: each growth replaces the previous bounds") {
    Setup s;
    s.kind = WindowKind::session;
    s.size = "10s";
    s.emit = EmitMode::updates;
    Harness h(s);
    h.feed_all({rec(0, "a"), rec(5'000, "a")});
    const auto r = h.results();
    REQUIRE(r.size() == 2);
    CHECK(r[0] == Json{{"k", "a"}, {"window", window(0, 10'000)}, {"count", 1}, {"early", true}});
    CHECK(r[1] == Json{{"k", "a"},
                       {"window", window(0, 15'000)},
                       {"count", 2},
                       {"update", true},
                       {"early", true},
                       {"replaces", {window(0, 10'000)}}});
}

TEST_CASE("count windows: every N records per key, in arrival order; the rest at the end") {
    Setup s;
    s.kind = WindowKind::count;
    s.count = 2;
    s.agg = "count(), sum(price)";
    Harness h(s);
    h.feed_all({rec(5'000, "a", 1), rec(1'000, "a", 2), rec(3'000, "b", 4), rec(9'000, "a", 8)});
    auto r = h.results();
    REQUIRE(r.size() == 1);
    CHECK(r[0] == Json{{"k", "a"},
                       {"window", {{"start", 1'000}, {"end", 5'000}, {"count", 2}}},
                       {"count", 2},
                       {"sum_price", 3.0}});
    h.finish();
    r = h.results();
    REQUIRE(r.size() == 3);
    CHECK(r[1]["k"] == "a");
    CHECK(r[1]["window"] == Json{{"start", 9'000}, {"end", 9'000}, {"count", 1}});
    CHECK(r[2]["k"] == "b");
}

TEST_CASE("sliding count windows: every M records the last N, fewer at first (Flink's countWindow(N, M))") {
    Setup s;
    s.kind = WindowKind::count;
    s.count = 5;
    s.every = 2;
    s.keys = "";
    s.agg = "count(), sum(price), first(price), last(price)";
    std::vector<std::string> lines;
    for (int i = 1; i <= 9; ++i)
        lines.push_back(rec(i * 1'000, "a", i));
    const auto out = run_all(s, lines);
    REQUIRE(out.size() == 5); // after 2, 4, 6, 8 records, and the 9th at the end
    const double sums[] = {1 + 2, 1 + 2 + 3 + 4, 2 + 3 + 4 + 5 + 6, 4 + 5 + 6 + 7 + 8, 6 + 7 + 8 + 9};
    const double firsts[] = {1, 1, 2, 4, 6};
    for (int i = 0; i < 5; ++i) {
        CAPTURE(i);
        const Json r = Json::parse(out[static_cast<std::size_t>(i)]);
        CHECK(r["sum_price"] == sums[i]);
        CHECK(r["first_price"] == firsts[i]);
    }
    CHECK(Json::parse(out[4])["window"] == Json{{"start", 6'000}, {"end", 9'000}, {"count", 4}});
}

TEST_CASE("count windows take records without a time; their bounds are then left out") {
    Setup s;
    s.kind = WindowKind::count;
    s.count = 2;
    Harness h(s);
    h.feed_all({R"({"k":"a"})", R"({"k":"a"})"});
    CHECK(h.results()[0]["window"] == Json{{"count", 2}});
    h.feed(R"({"k":"a","ts":"soon"})");
    CHECK(h.out.rejected.size() == 1); // a time that is there must be a time
}

TEST_CASE("--collect writes the window's records as they came in") {
    Setup s;
    s.collect = true;
    s.agg = "";
    Harness h(s);
    h.feed_all({R"({"ts":1, "k":"a"})", R"({"ts":2,"k":"a","s":"x\ny"})"});
    h.finish();
    REQUIRE(h.out.lines.size() == 1);
    CHECK(
        h.out.lines[0] ==
        R"({"k":"a","window":{"start":0,"end":60000},"events":[{"ts":1, "k":"a"},{"ts":2,"k":"a","s":"x\ny"}]})");
}

TEST_CASE("control records: a watermark fires windows; progress counts as a record's time") {
    Harness h(Setup{});
    h.feed(rec(1'000, "a"));
    h.feed(cep::format_control({cep::ControlRecord::Type::watermark, 60'000'000'000 - 2}));
    CHECK(h.out.lines.empty());
    h.feed(cep::format_control({cep::ControlRecord::Type::watermark, 60'000'000'000 - 1}));
    CHECK(h.out.lines.size() == 1);
    h.feed(rec(61'000, "a"));
    h.feed(cep::format_control({cep::ControlRecord::Type::progress, 120'000'000'000}));
    CHECK(h.out.lines.size() == 2);
}

TEST_CASE("idle input: the watermark moves as if event time kept pace with the wall clock") {
    Setup s;
    s.max_delay = "5s";
    Harness h(s);
    h.op().on_idle(duration("1h"), h.out); // nothing seen yet: nothing to advance from
    CHECK(h.op().watermark() == cep::min_timestamp);
    h.feed(rec(50'000, "a"));
    h.op().on_idle(duration("14s"), h.out); // 50s + 14s - 5s - 1ns < 60s - 1ns
    CHECK(h.out.lines.empty());
    h.op().on_idle(duration("15s"), h.out);
    CHECK(h.op().watermark() == 60'000'000'000 - 1);
    CHECK(h.out.lines.size() == 1);
}

TEST_CASE("late records go to --late with how late they were") {
    const std::string path = "test_window_late.ndjson";
    Setup s;
    auto options = options_of(s);
    options.time.late_output = path;
    {
        cep::Schema schema;
        cep::ops::Window op(options, schema);
        cep::RecordParser parser(schema);
        CollectingEmitter out;
        for (const std::string& line : {rec(1'000, "a"), rec(61'234, "a"), rec(1'000, "b")}) {
            std::string buffer = line + std::string(simdjson::SIMDJSON_PADDING, ' ');
            cep::ParseFailure failure;
            REQUIRE(parser.parse(std::string_view(buffer.data(), line.size()), failure));
            op.push(cep::Record{std::string_view(buffer.data(), line.size()), parser.slots(), {}}, out);
        }
        op.finish(out);
    }
    std::ifstream in(path);
    std::string line;
    REQUIRE(std::getline(in, line));
    CHECK(Json::parse(line) ==
          Json{{"late_by_ms", 60'234}, {"watermark", 61'233}, {"record", Json::parse(rec(1'000, "b"))}});
    CHECK_FALSE(std::getline(in, line));
    std::remove(path.c_str());
}

TEST_CASE("snapshot and restore continue exactly where a single pass would") {
    std::vector<std::string> lines;
    // Disorder, several keys, late records and sessions that merge after the split.
    const std::int64_t times[] = {1'000,  65'000,  3'000,  62'000,  130'000, 20'000,  125'000, 59'000,
                                  70'000, 200'000, 61'000, 140'000, 15'000,  260'000, 199'000, 300'000};
    const char* keys[] = {"a", "b", "c"};
    for (std::size_t i = 0; i < std::size(times); ++i)
        lines.push_back(rec(times[i], keys[i % 3], static_cast<double>(i)));

    std::vector<Setup> setups;
    Setup tumbling;
    tumbling.max_delay = "30s";
    tumbling.lateness = "1m";
    tumbling.agg = "count(), sum(price), p50(price), distinct(k), first(price), last(price)";
    setups.push_back(tumbling);
    Setup sliding = tumbling;
    sliding.kind = WindowKind::sliding;
    sliding.size = "2m";
    sliding.slide = "30s";
    sliding.collect = true;
    setups.push_back(sliding);
    Setup session = tumbling;
    session.kind = WindowKind::session;
    session.size = "40s";
    session.emit = EmitMode::updates;
    setups.push_back(session);
    Setup count;
    count.kind = WindowKind::count;
    count.count = 4;
    count.every = 3;
    count.collect = true;
    count.agg = "count(), sum(price), last(price)";
    setups.push_back(count);
    Setup global = tumbling;
    global.keys = "";
    setups.push_back(global);

    for (std::size_t i = 0; i < setups.size(); ++i) {
        const auto whole = run_all(setups[i], lines);
        CHECK(!whole.empty());
        for (std::size_t split : {std::size_t{0}, std::size_t{5}, lines.size() / 2, lines.size() - 1}) {
            CAPTURE(i);
            CAPTURE(split);
            CHECK(run_split(setups[i], lines, split) == whole);
        }
    }
}

TEST_CASE("a snapshot is refused by an operator configured differently") {
    Harness first(Setup{});
    first.feed(rec(1'000, "a"));
    std::stringstream state;
    first.op().snapshot(state);
    Setup other;
    other.size = "2m";
    Harness second(other);
    CHECK_THROWS_AS(second.op().restore(state), cep::RuntimeError);
}

TEST_CASE("KeyTable: short keys in the slot, long keys by hash and bytes, through growth") {
    cep::window::KeyTable table;
    std::vector<std::string> keys;
    for (int i = 0; i < 5000; ++i)
        keys.push_back(i % 2 == 0 ? std::to_string(i)
                                  : "a long key that does not fit in a slot #" + std::to_string(i));
    keys.push_back("");
    keys.push_back(std::string("a\0b", 3));
    keys.push_back(std::string("a\0", 2));
    for (std::size_t i = 0; i < keys.size(); ++i) {
        const auto found = table.insert(keys[i], cep::agg::hash_bytes(keys[i]));
        CHECK(found.inserted);
        CHECK(found.index == i);
    }
    for (std::size_t i = 0; i < keys.size(); ++i) {
        const auto found = table.insert(keys[i], cep::agg::hash_bytes(keys[i]));
        CHECK_FALSE(found.inserted);
        CHECK(found.index == i);
        CHECK(table.key(found.index) == keys[i]);
    }
    table.clear();
    CHECK(table.size() == 0);
    CHECK(table.insert("x", cep::agg::hash_bytes("x")).inserted);
}

TEST_CASE("split_composite_key keeps commas and brackets inside strings and values") {
    std::vector<std::string_view> parts;
    cep::window::split_composite_key(R"(["a,]\"b",[1,{"x":[2]}],null,-1.5])", parts);
    REQUIRE(parts.size() == 4);
    CHECK(parts[0] == R"("a,]\"b")");
    CHECK(parts[1] == R"([1,{"x":[2]}])");
    CHECK(parts[2] == "null");
    CHECK(parts[3] == "-1.5");
}

TEST_CASE("KeyOrder sorts many keys (radix on prefixes, ties by the whole key) as the comparison does") {
    // Strings sharing 7-byte prefixes, numbers of both signs, other types: prefixes tie often.
    std::vector<std::pair<std::string, bool>> keys;
    for (int i = 0; i < 3000; ++i) {
        keys.emplace_back("p00000" + std::to_string(i % 997), true);
        keys.emplace_back(
            std::to_string((i % 2 == 0 ? -1 : 1) * (i * 7919 % 5003)) + (i % 3 == 0 ? ".5" : ""), false);
    }
    keys.emplace_back("null", false);
    keys.emplace_back("true", false);
    keys.emplace_back("[1,2]", false);
    keys.emplace_back("", true);
    const cep::window::KeyOrder order(false);
    std::vector<cep::window::KeyOrder::Item> items;
    for (std::uint32_t i = 0; i < keys.size(); ++i)
        items.push_back({order.prefix(keys[i].first, keys[i].second), i});
    const auto key_of = [&](std::uint32_t i) {
        return std::pair{std::string_view(keys[i].first), keys[i].second};
    };
    order.sort(items, key_of);
    REQUIRE(items.size() == keys.size());
    for (std::size_t i = 1; i < items.size(); ++i) {
        const auto& a = keys[items[i - 1].index];
        const auto& b = keys[items[i].index];
        CAPTURE(a.first);
        CAPTURE(b.first);
        CHECK(order.compare(a.first, a.second, b.first, b.second) <= 0);
    }
    CHECK(keys[items.front().index].first == "null");
    CHECK(keys[items.back().index].first == "[1,2]");
}

TEST_CASE("string keys that need escaping are written back as JSON strings") {
    Harness h(Setup{});
    h.feed_all({R"({"ts":1,"k":"plain"})", R"({"ts":1,"k":"q\"b\\s\n\u0001"})", R"({"ts":1,"k":"한글"})"});
    h.finish();
    std::vector<Json> keys;
    for (const auto& r : h.results())
        keys.push_back(r["k"]);
    CHECK(Json(keys) == Json::parse(R"(["plain", "q\"b\\s\n\u0001", "한글"])"));
}

TEST_CASE("count windows firing less often than their size: records between windows are in none") {
    Setup s;
    s.kind = WindowKind::count;
    s.count = 2;
    s.every = 5;
    s.keys = "";
    s.emit = EmitMode::updates;
    s.agg = "sum(price)";
    std::vector<std::string> lines;
    for (int i = 1; i <= 12; ++i)
        lines.push_back(rec(i * 1'000, "a", i));
    std::vector<Json> r;
    for (const auto& line : run_all(s, lines))
        r.push_back(Json::parse(line));
    // Windows are records (3, 5] and (8, 10]; 1-3, 6-8 and 11-12 belong to none, so they are
    // neither shown early nor written at the end.
    REQUIRE(r.size() == 4);
    CHECK(r[0] == Json{{"window", {{"start", 4'000}, {"end", 4'000}, {"count", 1}}},
                       {"sum_price", 4.0},
                       {"early", true}});
    CHECK(r[1] == Json{{"window", {{"start", 4'000}, {"end", 5'000}, {"count", 2}}},
                       {"sum_price", 9.0},
                       {"update", true}});
    CHECK(r[2] == Json{{"window", {{"start", 9'000}, {"end", 9'000}, {"count", 1}}},
                       {"sum_price", 9.0},
                       {"early", true}});
    CHECK(r[3] == Json{{"window", {{"start", 9'000}, {"end", 10'000}, {"count", 2}}},
                       {"sum_price", 19.0},
                       {"update", true}});
}
