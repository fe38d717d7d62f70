// The aggregate library: the spec parser and its errors, exact results of every function, merge
// and state round trips.

#include "cep/agg/aggregate.hpp"
#include "cep/agg/binary.hpp"
#include "cep/agg/exact_sum.hpp"
#include "cep/agg/spec.hpp"
#include "cep/agg/value_key.hpp"
#include "cep/errors.hpp"
#include "cep/json_writer.hpp"
#include "test_agg_util.hpp"

#include <doctest/doctest.h>
#include <random>

using cep::agg::testing::aggregate;
using namespace cep;
using namespace cep::agg;

namespace {

std::size_t error_column(std::string_view spec) {
    try {
        parse_agg_specs(spec);
    } catch (const SyntaxError& e) {
        return e.column;
    }
    FAIL("no error for: " << spec);
    return 0;
}

std::string error_message(std::string_view spec) {
    try {
        parse_agg_specs(spec);
    } catch (const SyntaxError& e) {
        return e.what();
    }
    return "";
}

} // namespace

TEST_CASE("agg spec: functions, arguments and default names") {
    const auto specs =
        parse_agg_specs("count(), count(x), sum(price), avg( price ),min(level), max(level), "
                        "distinct(member.playerId), p50(price), p99.9(price), top(10, country), "
                        "first(x), last(x), stddev(x), count_distinct(x)");
    std::vector<std::string> names;
    for (const auto& s : specs)
        names.push_back(s.name);
    CHECK(names == std::vector<std::string>{"count", "count_x", "sum_price", "avg_price", "min_level",
                                            "max_level", "distinct_member_playerId", "p50_price",
                                            "p99_9_price", "top10_country", "first_x", "last_x", "stddev_x",
                                            "count_distinct_x"});
}

TEST_CASE("agg spec: names, canonical text") {
    const auto specs = parse_agg_specs("count(), sum(price) as revenue, p99.9(a.b) , top(3, items[0].id), "
                                       "avg(x) as \"mean x\", p0(x), p100(x), p12.5(x)");
    REQUIRE(specs.size() == 8);
    CHECK(specs[0].name == "count");
    CHECK(specs[1].name == "revenue");
    CHECK(specs[2].func == Func::percentile);
    CHECK(specs[2].percentile == doctest::Approx(99.9));
    CHECK(specs[2].name == "p99_9_a_b");
    CHECK(specs[3].top_n == 3);
    CHECK(specs[3].name == "top3_items_0_id");
    CHECK(specs[4].name == "mean x");
    CHECK(specs[5].name == "p0_x");
    CHECK(specs[6].name == "p100_x");
    CHECK(specs[7].name == "p12_5_x");
    CHECK(to_string(specs) == "count() as count, sum(price) as revenue, p99.9(a.b) as p99_9_a_b, "
                              "top(3, items[0].id) as top3_items_0_id, avg(x) as \"mean x\", p0(x) as p0_x, "
                              "p100(x) as p100_x, p12.5(x) as p12_5_x");
    // The canonical text parses back to the same list.
    CHECK(to_string(parse_agg_specs(to_string(specs))) == to_string(specs));
    CHECK(parse_agg_specs("count(*)")[0].name == "count");
    CHECK(!parse_agg_specs("count(*)")[0].path);
    CHECK(parse_agg_specs("count(x)")[0].path->to_string() == "x");
    CHECK(parse_agg_specs("distinct(member.playerId)")[0].name == "distinct_member_playerId");
}

TEST_CASE("agg spec: errors carry the column") {
    CHECK(error_column("") == 1);
    CHECK(error_column("count(), median(x)") == 10);
    CHECK(error_message("median(x)").find("unknown aggregate function 'median'") != std::string::npos);
    CHECK(error_column("sum()") == 1);
    CHECK(error_message("sum()").find("sum takes one argument") != std::string::npos);
    CHECK(error_column("sum(a, b)") == 6);
    CHECK(error_column("count(), sum(price") == 19);
    CHECK(error_column("sum(price) avg(x)") == 12);
    CHECK(error_column("count() count()") == 9);
    CHECK(error_column("p101(x)") == 1);
    CHECK(error_message("p101(x)").find("between p0 and p100") != std::string::npos);
    CHECK(error_column("p99.(x)") == 1);
    CHECK(error_column("top(x)") == 5);
    CHECK(error_column("top(0, x)") == 5);
    CHECK(error_column("top(5)") == 6);
    CHECK(error_column("sum(a..b)") == 7);
    CHECK(error_column("sum(a[)") == 7);
    CHECK(error_column("count(), count()") == 10);
    CHECK(error_message("count(), count()").find("duplicate output name 'count'") != std::string::npos);
    CHECK(error_column("sum(x) as") == 10);
    CHECK(error_column("sum x") == 5);
    CHECK(error_column("count(),") == 9);
}

TEST_CASE("count, count(x)") {
    const std::vector<std::string> lines{R"({"x":1})", R"({"x":null})", R"({"y":2})", R"({"x":"a"})",
                                         R"({"x":{"a":1}})"};
    CHECK(aggregate("count(), count(x)", lines) == R"({"count":5,"count_x":3})");
    CHECK(aggregate("count()", {}) == R"({"count":0})");
}

TEST_CASE("sum and avg: numbers only, exact integers, floats when seen") {
    CHECK(aggregate("sum(x), avg(x)", {R"({"x":1})", R"({"x":2})", R"({"x":"3"})", R"({"x":true})",
                                       R"({})"}) == R"({"sum_x":3,"avg_x":1.5})");
    CHECK(aggregate("sum(x), avg(x)", {R"({"y":1})"}) == R"({"sum_x":null,"avg_x":null})");
    CHECK(aggregate("sum(x)", {R"({"x":1.5})", R"({"x":2})"}) == R"({"sum_x":3.5})");
    // Integers beyond 2^53 stay exact.
    CHECK(aggregate("sum(x)", {R"({"x":9007199254740993})", R"({"x":2})"}) ==
          R"({"sum_x":9007199254740995})");
    CHECK(aggregate("sum(x), avg(x)", {R"({"x":-5})", R"({"x":5})", R"({"x":-3})"}) ==
          R"({"sum_x":-3,"avg_x":-1})");
    // Overflow of int64 switches to floating point instead of wrapping.
    CHECK(aggregate("sum(x)", {R"({"x":9223372036854775807})", R"({"x":9223372036854775807})"}) ==
          R"({"sum_x":18446744073709551616})");
    // Double-double: 0.1 added ten times is the correctly rounded 1, not 0.9999999999999999.
    std::vector<std::string> tenths(10, R"({"x":0.1})");
    CHECK(aggregate("sum(x), avg(x)", tenths) == R"({"sum_x":1,"avg_x":0.1})");
    // Large and small magnitudes: 1e16 + 1 - 1e16 is 1 (naive summation gives 0).
    CHECK(aggregate("sum(x)", {R"({"x":1e16})", R"({"x":1.0})", R"({"x":-1e16})"}) == R"({"sum_x":1})");
}

TEST_CASE("min and max: numbers first, strings when there are no numbers") {
    CHECK(aggregate("min(x), max(x)", {R"({"x":3})", R"({"x":-1.5})", R"({"x":"zzz"})", R"({"x":10})"}) ==
          R"({"min_x":-1.5,"max_x":10})");
    CHECK(aggregate("min(x), max(x)", {R"({"x":"pear"})", R"({"x":"apple"})", R"({"x":"zebra"})",
                                       R"({"x":null})"}) == R"({"min_x":"apple","max_x":"zebra"})");
    CHECK(aggregate("min(x), max(x)", {R"({"x":true})", R"({})"}) == R"({"min_x":null,"max_x":null})");
    CHECK(aggregate("max(x)", {R"({"x":9007199254740993})", R"({"x":9007199254740992.0})"}) ==
          R"({"max_x":9007199254740993})");
}

TEST_CASE("first and last: by arrival, skipping missing and null, any JSON value") {
    const std::vector<std::string> lines{R"({"y":0})",   R"({"x":null})",         R"({"x":"a\"b"})",
                                         R"({"x":2.5})", R"({"x":{"k":[1, 2]}})", R"({"x":null})"};
    CHECK(aggregate("first(x), last(x)", lines) == R"({"first_x":"a\"b","last_x":{"k":[1, 2]}})");
    CHECK(aggregate("first(x), last(x)", {R"({})"}) == R"({"first_x":null,"last_x":null})");
    CHECK(aggregate("first(x), last(x)", {R"({"x":1})", R"({"x":false})"}) ==
          R"({"first_x":1,"last_x":false})");
}

TEST_CASE("stddev: sample standard deviation") {
    // 2, 4, 4, 4, 5, 5, 7, 9: mean 5, sum of squared deviations 32, sample variance 32/7.
    const std::vector<std::string> lines{R"({"x":2})", R"({"x":4})", R"({"x":4})", R"({"x":4})",
                                         R"({"x":5})", R"({"x":5})", R"({"x":7})", R"({"x":9})"};
    std::string expected = R"({"stddev_x":)";
    append_json_number(expected, std::sqrt(32.0 / 7.0));
    CHECK(aggregate("stddev(x)", lines) == expected + "}");
    CHECK(aggregate("stddev(x)", {R"({"x":1})"}) == R"({"stddev_x":null})");
    CHECK(aggregate("stddev(x)", {R"({"x":3})", R"({"x":3})"}) == R"({"stddev_x":0})");
    // A large mean does not swallow a small spread (naive double sums of squares would).
    CHECK(aggregate("stddev(x)", {R"({"x":1000000001})", R"({"x":1000000002})", R"({"x":1000000003})"}) ==
          R"({"stddev_x":1})");
}

TEST_CASE("distinct and count_distinct: numbers by value, strings by bytes, null ignored") {
    const std::vector<std::string> lines{R"({"x":1})",   R"({"x":1.0})",  R"({"x":"1"})", R"({"x":null})",
                                         R"({"y":1})",   R"({"x":true})", R"({"x":[1]})", R"({"x":2})",
                                         R"({"x":1e0})", R"({"x":"1"})"};
    CHECK(aggregate("distinct(x), count_distinct(x)", lines) == R"({"distinct_x":5,"count_distinct_x":5})");
    CHECK(aggregate("distinct(x), count_distinct(x)", {}) == R"({"distinct_x":0,"count_distinct_x":0})");
}

TEST_CASE("percentiles: exact linear interpolation while every value is kept") {
    const std::vector<std::string> lines{R"({"x":1})", R"({"x":2})", R"({"x":3})", R"({"x":4})",
                                         R"({"x":"no"})"};
    CHECK(aggregate("p0(x), p25(x), p50(x), p90(x), p100(x)", lines) ==
          R"({"p0_x":1,"p25_x":1.75,"p50_x":2.5,"p90_x":3.7,"p100_x":4})");
    CHECK(aggregate("p50(x)", {R"({"x":7})"}) == R"({"p50_x":7})");
    CHECK(aggregate("p50(x)", {R"({"y":7})"}) == R"({"p50_x":null})");
}

TEST_CASE("top: counts, order by count then value") {
    const std::vector<std::string> lines{R"({"c":"KR"})", R"({"c":"US"})", R"({"c":"KR"})",
                                         R"({"c":"JP"})", R"({"c":"US"})", R"({"c":"KR"})",
                                         R"({"c":"DE"})", R"({"c":null})", R"({"c":1})"};
    CHECK(aggregate("top(3, c)", lines) ==
          R"({"top3_c":[{"value":"KR","count":3},{"value":"US","count":2},{"value":1,"count":1}]})");
    CHECK(aggregate("top(2, c)", {}) == R"({"top2_c":[]})");
}

TEST_CASE("functions on one path share state; the state is compact") {
    Schema schema;
    AggregateSet count_only("count()", schema);
    CHECK(count_only.state_size() == 8);
    AggregateSet shared("p50(x), p99(x), p90(x)", schema);
    AggregateSet single("p50(x)", schema);
    CHECK(shared.state_size() == single.state_size());
    AggregateSet sum_avg("sum(x), avg(x)", schema);
    AggregateSet sum_only("sum(x)", schema);
    CHECK(sum_avg.state_size() == sum_only.state_size());
    // Sketches are one pointer until the first value.
    AggregateSet sketches("distinct(x), count_distinct(x), p50(x), top(5, x)", schema);
    CHECK(sketches.state_size() == 4 * sizeof(void*));
    AggregateState state(sketches);
    CHECK(sketches.memory(state.data()) == sketches.state_size());
}

TEST_CASE("merge equals one pass, exactly, for every function below sketch limits") {
    const char* spec = "count(), count(x), sum(x), avg(x), min(x), max(x), first(x), last(x), stddev(x), "
                       "distinct(x), count_distinct(x), p10(x), p50(x), p99(x), top(3, x), min(s), max(s)";
    std::mt19937_64 random(7);
    std::vector<std::string> lines;
    for (int i = 0; i < 600; ++i) {
        const auto r = random() % 1000;
        if (r % 10 == 0)
            lines.push_back(R"({"s":"s)" + std::to_string(r) + "\"}");
        else if (r % 3 == 0)
            lines.push_back(R"({"x":)" + std::to_string(static_cast<double>(r) / 8) + "}");
        else
            lines.push_back(R"({"x":)" + std::to_string(r % 37) + "}");
    }
    Schema schema;
    AggregateSet set(spec, schema);
    testing::Lines parser(schema);
    AggregateState whole(set);
    for (const auto& line : lines)
        set.add(whole.data(), parser.parse(line));
    // Same records, split in three parts with their own states, merged in order.
    AggregateSet set2(spec, schema);
    std::vector<AggregateState> parts;
    for (int i = 0; i < 3; ++i)
        parts.emplace_back(set2);
    for (std::size_t i = 0; i < lines.size(); ++i)
        set2.add(parts[i * 3 / lines.size()].data(), parser.parse(lines[i]));
    AggregateState merged(set2);
    for (auto& part : parts)
        set2.merge(merged.data(), part.data());
    std::string a, b;
    set.append_results(whole.data(), a);
    set2.append_results(merged.data(), b);
    CHECK(a == b);
    // Merging in another order changes nothing but first/last, which follow arrival order.
    AggregateState reversed(set2);
    for (int i = 2; i >= 0; --i)
        set2.merge(reversed.data(), parts[static_cast<std::size_t>(i)].data());
    std::string c;
    set2.append_results(reversed.data(), c);
    CHECK(c == b);
}

TEST_CASE("state round trip: write_state / read_state and sketches") {
    const char* spec = "count(), sum(x), avg(x), min(x), max(x), first(x), last(s), stddev(x), distinct(x), "
                       "count_distinct(x), p50(x), top(2, s), max(s)";
    Schema schema;
    AggregateSet set(spec, schema);
    testing::Lines parser(schema);
    AggregateState state(set);
    for (int i = 0; i < 3000; ++i)
        set.add(state.data(), parser.parse(R"({"x":)" + std::to_string(i % 1500) + R"(.25,"s":"v)" +
                                           std::to_string(i % 7) + "\"}"));
    std::string bytes;
    set.write_state(state.data(), bytes);
    AggregateState copy(set);
    set.read_state(copy.data(), bytes);
    std::string a, b;
    set.append_results(state.data(), a);
    set.append_results(copy.data(), b);
    CHECK(a == b);
    std::string again;
    set.write_state(copy.data(), again);
    CHECK(again == bytes);

    std::string sketch;
    set.write_sketch(state.data(), sketch);
    CHECK(sketch.starts_with(R"("_sketches":{"spec":"count() as count, sum(x) as sum_x)"));
    const auto at = sketch.find(R"("state":")") + 9;
    AggregateState from_sketch(set);
    set.read_sketch(from_sketch.data(), sketch.substr(at, sketch.size() - at - 2));
    std::string c;
    set.append_results(from_sketch.data(), c);
    CHECK(c == a);

    // Corrupt or truncated bytes are errors, never crashes.
    for (std::size_t cut = 0; cut < bytes.size(); cut += 97) {
        AggregateState broken(set);
        CHECK_THROWS_AS(set.read_state(broken.data(), std::string_view(bytes).substr(0, cut)), RuntimeError);
    }
    AggregateState broken(set);
    CHECK_THROWS_AS(set.read_sketch(broken.data(), "not base64!"), RuntimeError);
}

TEST_CASE("value keys: canonical numbers, jq order") {
    auto key = [](const Value& v) {
        std::string k;
        append_value_key(k, v);
        return k;
    };
    CHECK(key(Value::of_int(1)) == key(Value::of_double(1.0)));
    CHECK(key(Value::of_int(0)) == key(Value::of_double(-0.0)));
    CHECK(key(Value::of_int(1)) != key(Value::of_string("1")));
    const std::vector<Value> ordered{Value::missing(),
                                     Value::null(),
                                     Value::of_bool(false),
                                     Value::of_bool(true),
                                     Value::of_double(-2.5),
                                     Value::of_int(-2),
                                     Value::of_double(1e300),
                                     Value::of_string(""),
                                     Value::of_string("a"),
                                     Value::of_string("b"),
                                     Value::of_raw(Kind::array, "[]"),
                                     Value::of_raw(Kind::object, "{}")};
    for (std::size_t i = 0; i + 1 < ordered.size(); ++i) {
        const std::string a = key(ordered[i]), b = key(ordered[i + 1]);
        std::size_t pa = 0, pb = 0;
        CHECK(compare_value_keys(a, pa, b, pb) < 0);
        CHECK(compare_key_sequences(b, a) > 0);
    }
}

TEST_CASE("base64 decode is the inverse of encode") {
    std::string bytes;
    for (int i = 0; i < 256; ++i)
        bytes += static_cast<char>(i);
    for (std::size_t n = 0; n < 10; ++n) {
        std::string out;
        REQUIRE(base64_decode(base64_encode(bytes.substr(0, n)), out));
        CHECK(out == bytes.substr(0, n));
    }
    std::string out;
    REQUIRE(base64_decode(base64_encode(bytes), out));
    CHECK(out == bytes);
    CHECK_FALSE(base64_decode("abc", out));
    CHECK_FALSE(base64_decode("ab=c", out));
    CHECK_FALSE(base64_decode("a===", out));
}

TEST_CASE("double-double sums are order independent") {
    std::mt19937_64 random(3);
    std::uniform_real_distribution<double> value(-1e6, 1e6);
    std::vector<double> xs(100000);
    for (double& x : xs)
        x = value(random);
    DoubleDouble forward, backward;
    for (double x : xs)
        forward.add(x);
    for (auto it = xs.rbegin(); it != xs.rend(); ++it)
        backward.add(*it);
    CHECK(forward.value() == backward.value());
}
