// The expression language: every operator, function and semantic rule of man/cep-expressions.md,
// and every kind of compile error with its exact column.

#include "cep/expr/expression.hpp"
#include "cep/raw_prefilter.hpp"
#include "cep/record_parser.hpp"

#include <charconv>
#include <doctest/doctest.h>
#include <simdjson.h>
#include <string>
#include <utility>

namespace {

using cep::expr::compile;

/// One compiled expression over a schema of its own, evaluated against JSON text.
struct Eval {
    cep::Schema schema;
    cep::expr::Expression expression;
    explicit Eval(std::string_view source) : expression(compile(source, schema)) {}

    template <typename F> auto with_record(std::string_view json, F&& f) {
        cep::RecordParser parser(schema);
        const simdjson::padded_string line(json); // the parser reads SIMDJSON_PADDING bytes past the end
        cep::ParseFailure failure;
        const std::string_view text(line.data(), line.size());
        REQUIRE_MESSAGE(parser.parse(text, failure), failure.reason);
        return f(cep::Record{text, parser.slots(), {}});
    }
    bool test(std::string_view json) {
        return with_record(json, [&](const cep::Record& r) { return expression.test(r); });
    }
    std::string value(std::string_view json);
};

/// A Value as text that names its kind: `int 3`, `float 3.5`, `"text"`, `null`, `missing`.
std::string show(const cep::Value& v) {
    switch (v.kind) {
    case cep::Kind::missing:
        return "missing";
    case cep::Kind::null:
        return "null";
    case cep::Kind::boolean:
        return v.boolean ? "true" : "false";
    case cep::Kind::integer:
        return "int " + std::to_string(v.integer);
    case cep::Kind::floating: {
        char buffer[32];
        const auto end = std::to_chars(buffer, buffer + sizeof buffer, v.floating).ptr;
        return "float " + std::string(buffer, end);
    }
    case cep::Kind::string:
        return "\"" + std::string(v.text) + "\"";
    case cep::Kind::object:
    case cep::Kind::array:
        return std::string(v.text);
    }
    return "?";
}

std::string Eval::value(std::string_view json) {
    return with_record(json, [&](const cep::Record& r) { return show(expression.evaluate(r)); });
}

bool t(std::string_view source, std::string_view json = "{}") {
    return Eval(source).test(json);
}
std::string ev(std::string_view source, std::string_view json = "{}") {
    return Eval(source).value(json);
}

/// The column and message of the SyntaxError that compiling `source` throws.
std::pair<std::size_t, std::string> error(std::string_view source) {
    cep::Schema schema;
    try {
        compile(source, schema);
    } catch (const cep::SyntaxError& e) {
        return {e.column, e.what()};
    }
    FAIL("no error for: " << source);
    return {};
}

using E = std::pair<std::size_t, std::string>;

} // namespace

TEST_CASE("expr: the seed example") {
    Eval e(R"(game_id == "kingdom" && event == "level_up" && level == 3)");
    CHECK(e.test(R"({"game_id":"kingdom","event":"level_up","level":3})"));
    CHECK(e.test(R"({"level":3.0,"event":"level_up","x":[1,{"y":2}],"game_id":"kingdom"})"));
    CHECK_FALSE(e.test(R"({"game_id":"kingdom","event":"level_up","level":4})"));
    CHECK_FALSE(e.test(R"({"game_id":"kingdom","event":"level_up","level":"3"})"));
    CHECK_FALSE(e.test(R"({"game_id":"kingdom","event":"kill","level":3})"));
    CHECK_FALSE(e.test(R"({"event":"level_up","level":3})"));
    CHECK(e.schema.slot_count() == 3);
    CHECK(e.expression.source() == R"(game_id == "kingdom" && event == "level_up" && level == 3)");
}

TEST_CASE("expr: paths") {
    CHECK(t(R"(member.playerId == "p1")", R"({"member":{"playerId":"p1"}})"));
    CHECK_FALSE(t(R"(member.playerId == "p1")", R"({"member":"p1"})"));
    CHECK(t("items[0].id == 7", R"({"items":[{"id":7},{"id":8}]})"));
    CHECK(t("items[1].id == 8", R"({"items":[{"id":7},{"id":8}]})"));
    CHECK(t("items[2].id == null", R"({"items":[{"id":7},{"id":8}]})"));
    CHECK_FALSE(t("exists(items[2])", R"({"items":[{"id":7},{"id":8}]})"));
    CHECK(t(R"(a["odd key"] == 1)", R"({"a":{"odd key":1}})"));
    CHECK(t(R"(a['odd key'] == 1)", R"({"a":{"odd key":1}})"));
    CHECK(t(R"(.["odd key"] == 1)", R"({"odd key":1})"));
    CHECK(t(R"(."odd key" == 1)", R"({"odd key":1})"));
    CHECK(t(R"(a["q\"uote"] == 2)", R"({"a":{"q\"uote":2}})"));
    CHECK(t(R"(.["café"] == 3)", R"({"caf\u00e9":3})"));
    CHECK(t(".level == 3", R"({"level":3})"));
    CHECK(t(".member.id == 3", R"({"member":{"id":3}})"));
    CHECK(t("@timestamp == 1 && $type == 2 && _x == 3", R"({"@timestamp":1,"$type":2,"_x":3})"));
    // A `-` inside a name continues it (`user-agent`); subtraction needs spaces.
    CHECK(t(R"(user-agent == "curl")", R"({"user-agent":"curl"})"));
    CHECK(ev("level - 1", R"({"level":3})") == "int 2");
    // Keywords are fields when written with a leading dot.
    CHECK(t(".true == 1 && .in == 2 && .not == 3", R"({"true":1,"in":2,"not":3})"));
    // The same path twice takes one slot.
    Eval twice("a == 1 || a == 2");
    CHECK(twice.schema.slot_count() == 1);
    // A field read whole and descended into.
    CHECK(t(R"(m == m && m.x == 1)", R"({"m":{"x":1}})"));
}

TEST_CASE("expr: literals") {
    CHECK(ev("42") == "int 42");
    CHECK(ev("-42") == "int -42");
    CHECK(ev("1.5") == "float 1.5");
    CHECK(ev("1.5e3") == "float 1500");
    CHECK(ev("25E-1") == "float 2.5");
    CHECK(ev("1e+2") == "float 100");
    CHECK(ev("9223372036854775807") == "int 9223372036854775807");
    CHECK(ev("-9223372036854775808") == "int -9223372036854775808");
    CHECK(ev("9223372036854775808") == "float 9223372036854775808");
    CHECK(ev("true") == "true");
    CHECK(ev("false") == "false");
    CHECK(ev("null") == "null");
    CHECK(ev(R"("plain")") == R"("plain")");
    CHECK(ev("'single'") == R"("single")");
    CHECK(ev(R"("a\nb\tc\\d\"e\'f\/g")") == "\"a\nb\tc\\d\"e'f/g\"");
    CHECK(ev(R"('it\'s "quoted"')") == R"("it's "quoted"")");
    CHECK(ev(R"("\u00e9\u4e2d")") == "\"\xC3\xA9\xE4\xB8\xAD\"");
    CHECK(ev(R"("\ud83d\ude00")") == "\"\xF0\x9F\x98\x80\"");
    CHECK(ev(R"("\r\b\f")") == "\"\r\b\f\"");
    CHECK(ev(R"("")") == R"("")");
    CHECK(t(R"(s == "a\nb")", R"({"s":"a\nb"})"));
    CHECK(t(R"(s == "é")", R"({"s":"\u00e9"})"));
    CHECK(t(R"(s == "\u00e9")", R"({"s":"é"})"));
    CHECK(t(R"(s == "tab\there")", R"({"s":"tab\there"})"));
}

TEST_CASE("expr: comparison operators") {
    const auto x = [](std::string_view source, std::string_view value) {
        return t(source, "{\"x\":" + std::string(value) + "}");
    };
    CHECK(x("x == 3", "3"));
    CHECK_FALSE(x("x == 3", "4"));
    CHECK(x("x != 3", "4"));
    CHECK_FALSE(x("x != 3", "3"));
    CHECK(x("x < 3", "2"));
    CHECK_FALSE(x("x < 3", "3"));
    CHECK(x("x <= 3", "3"));
    CHECK_FALSE(x("x <= 3", "4"));
    CHECK(x("x > 3", "4"));
    CHECK_FALSE(x("x > 3", "3"));
    CHECK(x("x >= 3", "3"));
    CHECK_FALSE(x("x >= 3", "2"));
    CHECK(x("x < 2.5", "2"));
    CHECK(x("x > 2.5", "2.75"));
    CHECK(x("x >= -1.5", "-1.5"));
    CHECK(x(R"(x == "b")", R"("b")"));
    CHECK(x(R"(x != "b")", R"("c")"));
    CHECK(x(R"(x < "b")", R"("a")"));
    CHECK(x(R"(x <= "b")", R"("b")"));
    CHECK(x(R"(x > "b")", R"("bb")"));
    CHECK(x(R"(x >= "b")", R"("c")"));
    CHECK_FALSE(x(R"(x >= "b")", R"("a")"));
    // Literal on the left: the operator mirrors.
    CHECK(x("3 < x", "4"));
    CHECK_FALSE(x("3 < x", "3"));
    CHECK(x("3 >= x", "3"));
    CHECK(x(R"("b" > x)", R"("a")"));
    CHECK(x("3 == x", "3"));
    // Field against field, and computed operands.
    CHECK(t("a < b", R"({"a":1,"b":2.5})"));
    CHECK(t("a + 1 == b", R"({"a":1,"b":2})"));
    CHECK(t("a == b", R"({"a":"s","b":"s"})"));
}

TEST_CASE("expr: integers and floats compare numerically, exactly") {
    CHECK(t("1 == 1.0"));
    CHECK(t("x == 1.0", R"({"x":1})"));
    CHECK(t("x == 1", R"({"x":1.0})"));
    CHECK(t("x == y", R"({"x":1,"y":1.0})"));
    CHECK_FALSE(t("x != 1", R"({"x":1.0})"));
    CHECK(t("x < 1.5", R"({"x":1})"));
    // 2^53 + 1 is not 2^53: int64 against int64 never goes through double.
    CHECK_FALSE(t("x == 9007199254740993", R"({"x":9007199254740992})"));
    CHECK(t("x < 9007199254740993", R"({"x":9007199254740992})"));
    CHECK(t("x == y", R"({"x":9223372036854775807,"y":9223372036854775807})"));
    CHECK_FALSE(t("x == y", R"({"x":9223372036854775807,"y":9223372036854775806})"));
    // ... and an int64 against a double compares the exact values too.
    CHECK(t("x > 9007199254740992.0", R"({"x":9007199254740993})"));
    CHECK_FALSE(t("x == 9007199254740992.0", R"({"x":9007199254740993})"));
    CHECK(t("x == 9007199254740992.0", R"({"x":9007199254740992})"));
    CHECK(t("x < 9223372036854775808.0", R"({"x":9223372036854775807})"));
    CHECK(t("x > -9223372036854777856.0", R"({"x":-9223372036854775808})"));  // the next double below -2^63
    CHECK(t("x >= -9223372036854775809.0", R"({"x":-9223372036854775808})")); // rounds to -2^63
    CHECK(t("x == y", R"({"x":-9223372036854775808,"y":-9223372036854775808.0})"));
    CHECK(t("x > y", R"({"x":3,"y":2.5})"));
    CHECK(t("x < y", R"({"x":-3,"y":-2.5})"));
    // Beyond int64, JSON integers are doubles.
    CHECK(t("x > 9223372036854775807", R"({"x":18446744073709551615})"));
}

TEST_CASE("expr: comparing across types is false, except !=") {
    CHECK_FALSE(t(R"(x == "1")", R"({"x":1})"));
    CHECK(t(R"(x != "1")", R"({"x":1})"));
    CHECK_FALSE(t(R"(x < "1")", R"({"x":0})"));
    CHECK_FALSE(t(R"(x <= "1")", R"({"x":1})"));
    CHECK_FALSE(t(R"(x > "1")", R"({"x":2})"));
    CHECK_FALSE(t(R"(x >= "1")", R"({"x":1})"));
    CHECK_FALSE(t("x == 1", R"({"x":"1"})"));
    CHECK(t("x != 1", R"({"x":"1"})"));
    CHECK_FALSE(t("x < 5", R"({"x":"1"})"));
    CHECK_FALSE(t("x == true", R"({"x":1})"));
    CHECK(t("x != true", R"({"x":1})"));
    CHECK_FALSE(t("x == 0", R"({"x":false})"));
    CHECK_FALSE(t("x == null", R"({"x":0})"));
    CHECK(t("x != null", R"({"x":0})"));
    CHECK_FALSE(t("x < 1", R"({"x":null})"));
    CHECK_FALSE(t("x < 1", "{}"));
    CHECK(t("x != 1", "{}"));
    CHECK(t(R"(x != "a")", "{}"));
    CHECK_FALSE(t(R"(x == "a")", "{}"));
    CHECK_FALSE(t(R"(x == "[1]")", R"({"x":[1]})"));
    CHECK_FALSE(t("x == y", R"({"x":{},"y":[]})"));
    CHECK(t("x != y", R"({"x":{},"y":[]})"));
    CHECK_FALSE(t("1 == \"1\""));
    CHECK(t("1 != \"1\""));
}

TEST_CASE("expr: missing is null, and exists() tells them apart") {
    CHECK(t("x == null", "{}"));
    CHECK(t("x == null", R"({"x":null})"));
    CHECK_FALSE(t("x != null", "{}"));
    CHECK_FALSE(t("x != null", R"({"x":null})"));
    CHECK(t("x != null", R"({"x":1})"));
    CHECK_FALSE(t("exists(x)", "{}"));
    CHECK(t("exists(x)", R"({"x":null})"));
    CHECK(t("exists(x)", R"({"x":false})"));
    CHECK(t("exists(a.b)", R"({"a":{"b":null}})"));
    CHECK_FALSE(t("exists(a.b)", R"({"a":{"c":1}})"));
    CHECK_FALSE(t("exists(a.b)", R"({"a":"b"})"));
    CHECK(t("exists(items[1])", R"({"items":[0,1]})"));
    CHECK(t("!exists(x)", "{}"));
    CHECK(t("exists(.x)", R"({"x":1})"));
    CHECK(t("exists((x))", R"({"x":1})"));
    // null == null, and a missing field is null on either side.
    CHECK(t("null == null"));
    CHECK_FALSE(t("null != null"));
    CHECK(t("x == y", "{}"));
    CHECK(t("x == y", R"({"y":null})"));
    // Ordering is for numbers and strings only.
    CHECK_FALSE(t("null <= null"));
    CHECK_FALSE(t("x >= null", R"({"x":null})"));
    // evaluate() shows a missing field as missing; every operator reads it as null.
    CHECK(ev("x", "{}") == "missing");
    CHECK(ev("x", R"({"x":null})") == "null");
}

TEST_CASE("expr: strings compare bytewise") {
    CHECK(t(R"("B" < "a")"));
    CHECK(t(R"("a" < "b")"));
    CHECK(t(R"("ab" < "abc")"));
    CHECK(t(R"("" < "a")"));
    CHECK(t(R"("é" > "z")")); // 0xC3 > 'z'
    CHECK(t(R"(s > "z")", R"({"s":"\u00e9"})"));
    CHECK(t(R"("abc" == "abc")"));
    CHECK_FALSE(t(R"("abc" == "ABC")"));
    CHECK(t(R"("10" < "9")"));
}

TEST_CASE("expr: booleans support == and != only") {
    CHECK(t("true == true"));
    CHECK(t("true != false"));
    CHECK_FALSE(t("true == false"));
    CHECK_FALSE(t("true > false"));
    CHECK_FALSE(t("false < true"));
    CHECK_FALSE(t("true >= true"));
    CHECK_FALSE(t("b <= true", R"({"b":true})"));
    CHECK(t("b == true", R"({"b":true})"));
    CHECK(t("b != true", R"({"b":false})"));
    CHECK(t("b == false", R"({"b":false})"));
}

TEST_CASE("expr: objects and arrays compare as JSON values") {
    const std::string_view rec =
        R"({"o":{"a":1,"b":[1,{"c":null}]},"p":{"b":[1.0,{"c":null}],"a":1},"q":{"a":1},"r":{"a":1,"b":[1,{"c":0}]},)"
        R"("x":[1,2],"y":[1, 2],"z":[2,1],"w":[1,2,3],"s":{"a":"x"},"u":{"a":"y"}})";
    CHECK(t("o == p", rec));
    CHECK_FALSE(t("o != p", rec));
    CHECK_FALSE(t("o == q", rec));
    CHECK(t("o != q", rec));
    CHECK_FALSE(t("o == r", rec));
    CHECK(t("x == y", rec));
    CHECK_FALSE(t("x == z", rec));
    CHECK_FALSE(t("x == w", rec));
    CHECK_FALSE(t("s == u", rec));
    CHECK_FALSE(t("o < p", rec));
    CHECK_FALSE(t("o <= p", rec));
    CHECK_FALSE(t("x >= y", rec));
    CHECK_FALSE(t("o == x", rec));
    CHECK(ev("o", rec) == R"({"a":1,"b":[1,{"c":null}]})");
}

TEST_CASE("expr: && and || treat only true as true") {
    CHECK(t("true && true"));
    CHECK_FALSE(t("true && false"));
    CHECK_FALSE(t("1 && true"));
    CHECK_FALSE(t(R"("yes" && true)"));
    CHECK_FALSE(t("x && true", R"({"x":1})"));
    CHECK(t("x && true", R"({"x":true})"));
    CHECK(t("false || true"));
    CHECK_FALSE(t("1 || null"));
    CHECK(t("x || y", R"({"x":0,"y":true})"));
    CHECK(t("a and b", R"({"a":true,"b":true})"));
    CHECK(t("a or b", R"({"a":false,"b":true})"));
    CHECK_FALSE(t("a or b", R"({"a":false,"b":"true"})"));
    CHECK(ev("1 && 1") == "false");
    CHECK(ev("x || y", R"({"y":true})") == "true");
    CHECK(ev("x && y", R"({"x":true,"y":true})") == "true");
    // A boolean field alone is a filter.
    CHECK(t("useSkill", R"({"useSkill":true})"));
    CHECK_FALSE(t("useSkill", R"({"useSkill":1})"));
    // Literal operands fold away without changing the answer.
    CHECK(t("true && x == 1", R"({"x":1})"));
    CHECK_FALSE(t("false && x == 1", R"({"x":1})"));
    CHECK(t("false || x == 1", R"({"x":1})"));
    CHECK(t("true || x == 1", R"({"x":2})"));
    CHECK(ev("true && x", R"({"x":5})") == "false");
}

TEST_CASE("expr: ! is 'not true'") {
    CHECK(t("!x", "{}"));
    CHECK(t("!x", R"({"x":null})"));
    CHECK(t("!x", R"({"x":false})"));
    CHECK(t("!x", R"({"x":5})"));
    CHECK(t("!x", R"({"x":"true"})"));
    CHECK_FALSE(t("!x", R"({"x":true})"));
    CHECK(t("not x", R"({"x":false})"));
    CHECK(t("!!x", R"({"x":true})"));
    CHECK_FALSE(t("!!x", R"({"x":1})"));
    CHECK(t("!(x == 1)", R"({"x":2})"));
    CHECK(t("not (x == 1)", R"({"x":2})"));
    CHECK(ev("!x", R"({"x":1})") == "true");
}

TEST_CASE("expr: arithmetic") {
    CHECK(ev("1 + 2") == "int 3");
    CHECK(ev("5 - 7") == "int -2");
    CHECK(ev("6 * 7") == "int 42");
    CHECK(ev("1 + 2.5") == "float 3.5");
    CHECK(ev("2.5 * 2") == "float 5");
    CHECK(ev("x + y", R"({"x":1,"y":2})") == "int 3");
    CHECK(ev("x * 2", R"({"x":1.25})") == "float 2.5");
    // `/`: exact integer quotients stay integers, the rest are floats; by zero is null.
    CHECK(ev("6 / 3") == "int 2");
    CHECK(ev("7 / 2") == "float 3.5");
    CHECK(ev("-7 / 2") == "float -3.5");
    CHECK(ev("1 / 3") == "float 0.3333333333333333");
    CHECK(ev("7.5 / 2.5") == "float 3");
    CHECK(ev("x / 0", R"({"x":5})") == "null");
    CHECK(ev("x / 0.0", R"({"x":5})") == "null");
    CHECK(ev("x / y", R"({"x":5.5,"y":0})") == "null");
    // `%`: integer modulo, sign of the dividend, floats truncated; by zero is null.
    CHECK(ev("7 % 3") == "int 1");
    CHECK(ev("-7 % 3") == "int -1");
    CHECK(ev("7 % -3") == "int 1");
    CHECK(ev("7.9 % 3") == "int 1");
    CHECK(ev("7 % 0") == "null");
    CHECK(ev("7 % 0.5") == "null");
    CHECK(ev("x % 2 == 1", R"({"x":11})") == "true");
    // Unary minus binds tightest.
    CHECK(ev("-x", R"({"x":3})") == "int -3");
    CHECK(ev("-x", R"({"x":-2.5})") == "float 2.5");
    CHECK(ev("- 3") == "int -3");
    CHECK(ev("--3") == "int 3");
    CHECK(ev("x - -3", R"({"x":1})") == "int 4");
    // Overflow falls back to double.
    CHECK(ev("9223372036854775807 + 1") == "float 9223372036854775808");
    CHECK(ev("-9223372036854775807 - 2") == "float -9223372036854775808");
    CHECK(ev("x * x", R"({"x":4294967296})") == "float 18446744073709551616");
    CHECK(ev("-x", R"({"x":-9223372036854775808})") == "float 9223372036854775808");
    CHECK(ev("x / -1", R"({"x":-9223372036854775808})") == "float 9223372036854775808");
    CHECK(ev("x % -1", R"({"x":-9223372036854775808})") == "int 0");
    CHECK(ev("x / -1", R"({"x":5})") == "int -5");
    // Strings: `+` joins two strings; everything else on non-numbers is null.
    CHECK(ev(R"("ab" + "cd")") == R"("abcd")");
    CHECK(ev(R"(a + "-" + b)", R"({"a":"x","b":"y"})") == R"("x-y")");
    CHECK(t(R"(a + b == "xy")", R"({"a":"x","b":"y"})"));
    CHECK(ev(R"("a" + 1)") == "null");
    CHECK(ev(R"("a" * 2)") == "null");
    CHECK(ev("x + 1", "{}") == "null");
    CHECK(ev("x + 1", R"({"x":null})") == "null");
    CHECK(ev("x + 1", R"({"x":true})") == "null");
    CHECK(ev(R"(-"a")") == "null");
    CHECK(ev("-x", "{}") == "null");
    CHECK(ev("x - 1", R"({"x":[1]})") == "null");
    CHECK(t("x + 1 == null", R"({"x":"s"})"));
}

TEST_CASE("expr: precedence") {
    CHECK(ev("1 + 2 * 3") == "int 7");
    CHECK(ev("(1 + 2) * 3") == "int 9");
    CHECK(ev("10 - 2 - 3") == "int 5");
    CHECK(ev("12 / 2 / 3") == "int 2");
    CHECK(ev("-2 * 3") == "int -6");
    CHECK(ev("2 * -3") == "int -6");
    CHECK(ev("7 % 4 * 2") == "int 6");
    CHECK(ev("1 + 7 % 4") == "int 4");
    CHECK(t("1 + 2 * 3 == 7"));
    CHECK(t("x + 1 in [2, 3]", R"({"x":1})"));
    CHECK(t("x * 2 < y + 1", R"({"x":1,"y":2})"));
    // && binds tighter than ||.
    CHECK(t("true || false && false"));
    CHECK_FALSE(t("(true || false) && false"));
    CHECK(t("a == 1 && b == 2 || c == 3", R"({"c":3})"));
    CHECK_FALSE(t("a == 1 && (b == 2 || c == 3)", R"({"c":3})"));
    // ! binds looser than comparisons and tighter than && and ||.
    CHECK_FALSE(t("!a == b", R"({"a":1,"b":1})"));
    CHECK(t("!a == b", R"({"a":1,"b":2})"));
    CHECK(t("!true || true"));
    CHECK_FALSE(t("!(true || true)"));
    CHECK(t("not a and b", R"({"a":false,"b":true})"));
    CHECK_FALSE(t("not a and b", R"({"a":true,"b":true})"));
    CHECK(t("!x in [1]", R"({"x":2})"));
    // Whitespace, including newlines, is free.
    CHECK(t("  a\n==\t1  ", R"({"a":1})"));
    CHECK(t("a==1&&b!=2", R"({"a":1,"b":3})"));
}

TEST_CASE("expr: in") {
    CHECK(t("x in [1, 2, 3]", R"({"x":2})"));
    CHECK(t("x in [1, 2, 3]", R"({"x":2.0})"));
    CHECK_FALSE(t("x in [1, 2, 3]", R"({"x":"2"})"));
    CHECK_FALSE(t("x in [1, 2, 3]", "{}"));
    CHECK(t(R"(x in ["KR", "JP"])", R"({"x":"JP"})"));
    CHECK_FALSE(t(R"(x in ["KR", "JP"])", R"({"x":"US"})"));
    CHECK(t(R"(x in ["a", 1, true, null])", R"({"x":true})"));
    CHECK(t(R"(x in ["a", 1, true, null])", "{}"));
    CHECK(t(R"(x in ["a", 1, true, null])", R"({"x":1.0})"));
    CHECK_FALSE(t(R"(x in ["a", 1, true, null])", R"({"x":false})"));
    CHECK_FALSE(t("x in []", R"({"x":1})"));
    // Long string lists take a binary search; duplicates are fine.
    const std::string_view many = R"(x in ["k", "b", "a", "j", "c", "i", "d", "h", "e", "g", "f", "a"])";
    for (const char* hit : {"a", "b", "c", "f", "k"})
        CHECK(t(many, std::string(R"({"x":")") + hit + "\"}"));
    for (const char* miss : {"", "aa", "l", "A"})
        CHECK_FALSE(t(many, std::string(R"({"x":")") + miss + "\"}"));
    // Items may be expressions.
    CHECK(t("x in [y, z + 1]", R"({"x":3,"y":1,"z":2})"));
    CHECK_FALSE(t("x in [y, z + 1]", R"({"x":4,"y":1,"z":2})"));
    CHECK(t(R"(lower(x) in ["abc"])", R"({"x":"ABC"})"));
    // not in
    CHECK(t("x not in [1, 2]", R"({"x":3})"));
    CHECK_FALSE(t("x not in [1, 2]", R"({"x":2})"));
    CHECK(t("x not in [1, 2]", "{}"));
    // An array-valued expression on the right: element membership.
    CHECK(t(R"(x in tags)", R"({"x":"b","tags":["a","b"]})"));
    CHECK_FALSE(t(R"(x in tags)", R"({"x":"c","tags":["a","b"]})"));
    CHECK(t(R"(x in tags)", R"({"x":2,"tags":[1,2.0]})"));
    CHECK(t(R"(x in tags)", R"({"x":{"a":[1]},"tags":[1,{"a":[1.0]}]})"));
    CHECK_FALSE(t(R"(x in s)", R"({"x":"b","s":"abc"})"));
    CHECK_FALSE(t(R"(x in tags)", R"({"x":"b"})"));
    CHECK(t(R"(x not in tags)", R"({"x":"b"})"));
    CHECK(t("1 in [1]"));
}

TEST_CASE("expr: contains, startswith, endswith") {
    CHECK(t(R"(contains(s, "ell"))", R"({"s":"hello"})"));
    CHECK(t(R"(contains(s, ""))", R"({"s":"hello"})"));
    CHECK_FALSE(t(R"(contains(s, "xyz"))", R"({"s":"hello"})"));
    CHECK_FALSE(t(R"(contains(s, "l"))", R"({"s":5})"));
    CHECK_FALSE(t(R"(contains(s, 5))", R"({"s":"5"})"));
    CHECK_FALSE(t(R"(contains(s, "a"))", "{}"));
    CHECK(t(R"(contains(tags, "b"))", R"({"tags":["a","b"]})"));
    CHECK_FALSE(t(R"(contains(tags, "c"))", R"({"tags":["a","b"]})"));
    CHECK_FALSE(t(R"(contains(tags, "a"))", R"({"tags":["ab"]})"));
    CHECK(t("contains(tags, 2)", R"({"tags":[1,2.0]})"));
    CHECK(t("contains(tags, null)", R"({"tags":[1,null]})"));
    CHECK(t("contains(tags, x)", R"({"tags":[1,null]})"));
    CHECK(t("contains(tags, o)", R"({"tags":[1,{"b":2,"a":1}],"o":{"a":1,"b":2}})"));
    CHECK(t("contains(tags, o)", R"({"tags":[[1,[2]]],"o":[1,[2]]})"));
    CHECK_FALSE(t("contains(tags, o)", R"({"tags":[[1,[2]]],"o":[1,2]})"));
    CHECK(t(R"(contains(tags, "é"))", R"({"tags":["\u00e9"]})"));
    CHECK_FALSE(t(R"(contains(tags, "b"))", R"({"tags":{"b":1}})"));
    CHECK(t(R"(startswith(s, "he"))", R"({"s":"hello"})"));
    CHECK(t(R"(startswith(s, ""))", R"({"s":"hello"})"));
    CHECK_FALSE(t(R"(startswith(s, "lo"))", R"({"s":"hello"})"));
    CHECK(t(R"(endswith(s, "lo"))", R"({"s":"hello"})"));
    CHECK_FALSE(t(R"(endswith(s, "he"))", R"({"s":"hello"})"));
    CHECK_FALSE(t(R"(endswith(s, "1"))", R"({"s":1})"));
    CHECK_FALSE(t(R"(startswith(s, p))", R"({"s":"hello"})"));
    CHECK(t(R"(startswith(s, p))", R"({"s":"hello","p":"hell"})"));
    CHECK(ev(R"(startswith(s, 1))", R"({"s":"1"})") == "false");
    // Predicates answer false, never null, so their negation holds for the wrong types.
    CHECK(t(R"(!startswith(s, "a"))", R"({"s":1})"));
}

TEST_CASE("expr: matches") {
    CHECK(t(R"(matches(s, "^a.c$"))", R"({"s":"abc"})"));
    CHECK_FALSE(t(R"(matches(s, "^a.c$"))", R"({"s":"abcd"})"));
    CHECK(t(R"(matches(s, "b"))", R"({"s":"abc"})")); // a search, not a full match
    CHECK(t(R"(matches(s, "(?i)ABC"))", R"({"s":"xabcx"})"));
    CHECK(t(R"(matches(s, "^\\d{3}-\\d{4}$"))", R"({"s":"555-1234"})"));
    CHECK(t(R"(matches(s, '^é.$'))", R"({"s":"éa"})"));
    CHECK_FALSE(t(R"(matches(s, "5"))", R"({"s":5})"));
    CHECK_FALSE(t(R"(matches(s, "a"))", "{}"));
    // A computed pattern: compiled when it changes; an invalid one matches nothing.
    Eval computed("matches(s, p)");
    CHECK(computed.test(R"({"s":"abc","p":"^a"})"));
    CHECK(computed.test(R"({"s":"abc","p":"^a"})"));
    CHECK_FALSE(computed.test(R"({"s":"abc","p":"^b"})"));
    CHECK_FALSE(computed.test(R"({"s":"abc","p":"("})"));
    CHECK_FALSE(computed.test(R"({"s":"abc","p":1})"));
    CHECK(computed.test(R"({"s":"abc","p":"c$"})"));
    CHECK(t(R"(matches(s, "^" + p))", R"({"s":"abc","p":"ab"})"));
}

TEST_CASE("expr: lower, upper, len") {
    CHECK(ev(R"(lower(s))", R"({"s":"HeLLo World"})") == R"("hello world")");
    CHECK(ev(R"(upper(s))", R"({"s":"HeLLo World"})") == R"("HELLO WORLD")");
    CHECK(ev(R"(lower(s))", R"({"s":"already"})") == R"("already")");
    CHECK(ev(R"(lower("ÀB@[`{Z"))") == "\"\xC3\x80"
                                       "b@[`{z\""); // ASCII only
    CHECK(ev(R"(upper("àb"))") == "\"\xC3\xA0"
                                  "B\"");
    CHECK(ev("lower(s)", R"({"s":5})") == "null");
    CHECK(ev("upper(s)", "{}") == "null");
    CHECK(t(R"(lower(a) == lower(b))", R"({"a":"ABC","b":"abC"})"));
    CHECK_FALSE(t(R"(lower(a) == lower(b))", R"({"a":"ABC","b":"abd"})"));
    CHECK(t(R"(upper(lower(a)) == "ABC")", R"({"a":"aBc"})"));
    CHECK(t(R"(lower(member.country) == "kr")", R"({"member":{"country":"KR"}})"));
    // The scratch buffer is reused: each record gets its own answer.
    Eval e("lower(s)");
    CHECK(e.value(R"({"s":"ONE"})") == R"("one")");
    CHECK(e.value(R"({"s":"TWO"})") == R"("two")");
    // len: code points for strings, elements for arrays, keys for objects, null otherwise.
    CHECK(ev("len(s)", R"({"s":"h\u00e9llo"})") == "int 5");
    CHECK(ev("len(s)", R"({"s":"😀"})") == "int 1");
    CHECK(ev("len(s)", R"({"s":""})") == "int 0");
    CHECK(ev("len(a)", R"({"a":[1,[2,3],{"x":4}]})") == "int 3");
    CHECK(ev("len(a)", R"({"a":[]})") == "int 0");
    CHECK(ev("len(o)", R"({"o":{"x":1,"y":{"z":2}}})") == "int 2");
    CHECK(ev("len(o)", R"({"o":{}})") == "int 0");
    CHECK(ev("len(n)", R"({"n":12345})") == "null");
    CHECK(ev("len(n)", R"({"n":null})") == "null");
    CHECK(ev("len(n)", "{}") == "null");
    CHECK(ev(R"(len("abc"))") == "int 3");
    CHECK(t("len(a) == 3 && len(s) > 1", R"({"a":[1,2,3],"s":"ab"})"));
}

TEST_CASE("expr: literal-only subtrees fold at compile time") {
    Eval e(R"(lower("ABC") + "d" == "abcd" && 2 * 3 == 6 && 1 in [1, 2] && len("xy") == 2)");
    CHECK(e.schema.slot_count() == 0);
    CHECK(e.value("{}") == "true");
    CHECK(ev(R"(contains("abc", "b") && startswith("abc", "a") && !endswith("abc", "b"))") == "true");
    CHECK(ev(R"(matches("abc", "^a"))") == "true");
}

TEST_CASE("expr: Expression object") {
    cep::expr::Expression empty;
    cep::Schema schema;
    std::vector<cep::Value> none;
    CHECK_FALSE(empty.test(cep::Record{"{}", none, {}}));
    CHECK(empty.evaluate(cep::Record{"{}", none, {}}).is_missing());
    cep::expr::Expression moved = compile("x == 1", schema);
    cep::expr::Expression target;
    target = std::move(moved);
    CHECK(target.source() == "x == 1");
    std::vector<cep::Value> slots{cep::Value::of_int(1)};
    CHECK(target.test(cep::Record{R"({"x":1})", slots, {}}));
}

TEST_CASE("expr: syntax errors point at the offending token") {
    CHECK(error(R"(event == "kill" &&)") == E{19, "expected an operand after '&&'"});
    CHECK(error("") == E{1, "expected an expression"});
    CHECK(error("   ") == E{4, "expected an expression"});
    CHECK(error("a ==") == E{5, "expected an operand after '=='"});
    CHECK(error("a == )") == E{6, "expected an operand after '==', found ')'"});
    CHECK(error("a == and") == E{6, "expected an operand after '==', found 'and'"});
    CHECK(error("!") == E{2, "expected an operand after '!'"});
    CHECK(error("not") == E{4, "expected an operand after 'not'"});
    CHECK(error("-") == E{2, "expected an operand after '-'"});
    CHECK(error("a in") == E{5, "expected an operand after 'in'"});
    CHECK(error("()") == E{2, "expected an operand after '(', found ')'"});
    CHECK(error(") a") == E{1, "expected an expression, found ')'"});
    CHECK(error("a = 1") == E{3, "unexpected '='; did you mean '=='?"});
    CHECK(error("a & b") == E{3, "unexpected '&'; did you mean '&&'?"});
    CHECK(error("a | b") == E{3, "unexpected '|'; did you mean '||'?"});
    CHECK(error("a == #") == E{6, "unexpected character '#'"});
    CHECK(error("a == é") == E{6, "unexpected non-ASCII character; quote strings"});
    CHECK(error("a == 1 b") == E{8, "expected an operator, found 'b'"});
    CHECK(error(R"(a == "a very long string literal" "x")") == E{35, "expected an operator, found '\"x\"'"});
    CHECK(error(R"(a "a very long string literal")") ==
          E{3, "expected an operator, found '\"a very long stri...'"});
    CHECK(error("(a == 1") == E{8, "expected ')' to close the '(' at column 1, found the end"});
    CHECK(error("a == 1)") == E{7, "unmatched ')'"});
    CHECK(error("a == 1 == 2") == E{8, "comparison operators do not chain; add parentheses"});
    CHECK(error("a < b in [1]") == E{7, "comparison operators do not chain; add parentheses"});
    CHECK(error("a in [1] not in [2]") == E{10, "comparison operators do not chain; add parentheses"});
    CHECK(error("a in [1, 2") == E{11, "expected ',' or ']' in the list opened at column 6, found the end"});
    CHECK(error("a in [1 2]") == E{9, "expected ',' or ']' in the list opened at column 6, found '2'"});
    CHECK(error("a in [1,]") == E{9, "expected an operand after ',', found ']'"});
    CHECK(error("[1] == a") == E{1, "a list [...] is only allowed after 'in'"});
    CHECK(error("a == [1]") == E{6, "a list [...] is only allowed after 'in'"});
    // Literals.
    CHECK(error(R"(a == "abc)") == E{6, "unterminated string"});
    CHECK(error(R"(a == 'abc\')") == E{6, "unterminated string"});
    CHECK(error(R"(a == "a\qb")") == E{8, "unknown escape '\\q' in string"});
    CHECK(error(R"(a == "\u12")") == E{7, "\\u needs four hex digits"});
    CHECK(error(R"(a == "\u12zz")") == E{7, "\\u needs four hex digits"});
    CHECK(error(R"(a == "\ud800")") == E{7, "unpaired surrogate in \\u escape"});
    CHECK(error(R"(a == "\ud800\u0041")") == E{13, "unpaired surrogate in \\u escape"});
    CHECK(error(R"(a == "\udc00")") == E{7, "unpaired surrogate in \\u escape"});
    CHECK(error("a == 1.") == E{8, "expected a digit after '.' in a number"});
    CHECK(error("a == 1e") == E{8, "expected a digit in the exponent"});
    CHECK(error("a == 1e+") == E{9, "expected a digit in the exponent"});
    CHECK(error("a == 3abc") == E{7, "unexpected character after a number"});
    CHECK(error("a == 1.5.2") == E{9, "unexpected character after a number"});
    // Paths (reported by the path parser, at the column within the whole expression).
    CHECK(error("x == 1 && a.") == E{13, "expected a field name"});
    CHECK(error("x == 1 && a..b") == E{13, "expected a field name"});
    CHECK(error("a[x] == 1") == E{3, "expected an array index or a quoted key"});
    CHECK(error("a[0 == 1") == E{2, "unclosed '['"});
    CHECK(error(R"(a["x] == 1)") == E{3, "unterminated string"});
    CHECK(error(". == 1") == E{2, "expected a field name"});
    // Functions.
    CHECK(error("a && foo(x)") == E{6, "unknown function 'foo' (known: contains, endswith, exists, len, "
                                       "lower, matches, startswith, upper)"});
    CHECK(error("lower(a, b)") == E{1, "lower() takes 1 argument, got 2"});
    CHECK(error("x == len()") == E{6, "len() takes 1 argument, got 0"});
    CHECK(error("contains(a)") == E{1, "contains() takes 2 arguments, got 1"});
    CHECK(error("exists(1)") == E{8, "exists() takes a field path, e.g. exists(member.id)"});
    CHECK(error("exists(a + 1)") == E{8, "exists() takes a field path, e.g. exists(member.id)"});
    CHECK(error(R"(matches(s,  "a(b"))") == E{13, "invalid regular expression: missing ): a(b"});
    CHECK(error(R"(matches(s, "a**"))") == E{12, "invalid regular expression: bad repetition operator: **"});
    CHECK(error("matches(s, 5)") == E{12, "the pattern of matches() must be a string"});
    CHECK(error("lower(a") == E{8, "expected ',' or ')' in the call opened at column 6, found the end"});
    CHECK(error("lower(a b)") == E{9, "expected ',' or ')' in the call opened at column 6, found 'b'"});
    CHECK(error("lower(a,)") == E{9, "expected an operand after ',', found ')'"});
}

TEST_CASE("expr: format_syntax_error draws a caret under the column") {
    using cep::expr::format_syntax_error;
    CHECK(format_syntax_error(R"(event == "kill" &&)", 19, "expected an operand after '&&'") ==
          "expression:1:19: expected an operand after '&&'\n"
          "  event == \"kill\" &&\n"
          "                    ^");
    CHECK(format_syntax_error("a = 1", 3, "m") == "expression:1:3: m\n  a = 1\n    ^");
    CHECK(format_syntax_error("", 1, "m") == "expression:1:1: m\n  \n  ^");
    // Multi-line sources name the line; the column restarts on each line.
    CHECK(format_syntax_error("a == 1 &&\n  b ==", 17, "m") == "expression:2:7: m\n    b ==\n        ^");
    CHECK(format_syntax_error("a == 1 &&\r\nb ==\r\n", 12, "m") == "expression:2:1: m\n  b ==\n  ^");
    // Tabs stay tabs and a multi-byte character takes one caret column.
    CHECK(format_syntax_error("s == \"\xC3\xA9\" &&", 13, "m") ==
          "expression:1:13: m\n  s == \"\xC3\xA9\" &&\n             ^");
    CHECK(format_syntax_error("\ta ==", 6, "m") == "expression:1:6: m\n  \ta ==\n  \t    ^");
    // What cep-filter prints, end to end.
    const std::string source = R"(event == "kill" && (level > 3)))";
    const auto [column, message] = error(source);
    CHECK(format_syntax_error(source, column, message) == "expression:1:31: unmatched ')'\n"
                                                          "  event == \"kill\" && (level > 3))\n"
                                                          "                                ^");
}

TEST_CASE("expr: pathological nesting is a compile error, not a stack overflow") {
    const std::string parens = std::string(100, '(') + "x == 1" + std::string(100, ')');
    CHECK(t(parens, R"({"x":1})"));
    CHECK(error(std::string(300, '(') + "x" + std::string(300, ')')) ==
          E{201, "expression nested too deeply (more than 200 levels)"});
    CHECK(error(std::string(100000, '!') + "x").second ==
          "expression nested too deeply (more than 200 levels)");
    CHECK(error(std::string(100000, '-') + "x").second ==
          "expression nested too deeply (more than 200 levels)");
    CHECK(error("lower(" + std::string(300, '(') + "x").first == 206);
    // A long chain of binary operators is deep too, though the parser loops over it.
    std::string sum = "x";
    for (int i = 0; i < 999; ++i)
        sum += " + x";
    CHECK(ev(sum, R"({"x":1})") == "int 1000");
    sum += " + x + x";
    CHECK(error(sum) == E{sum.size() - 2, "expression too deep (more than 1000 nested operators)"});
    // && and || chains are flat, so they have no such limit.
    std::string any = "x == 0";
    for (int i = 1; i < 5000; ++i)
        any += " || x == " + std::to_string(i);
    CHECK(t(any, R"({"x":4999})"));
    CHECK_FALSE(t(any, R"({"x":5000})"));
}

TEST_CASE("expr: required bytes, for filtering records before parsing them") {
    using Needles = std::vector<std::string>;
    const auto needles = [](std::string_view source) { return Eval(source).expression.required_bytes(); };
    CHECK(needles(R"(event == "level_up" && level == 3)") == Needles{R"("level_up")"});
    CHECK(needles(R"(game_id == "kingdom" && event == "level_up")") ==
          Needles{R"("kingdom")", R"("level_up")"});
    CHECK(needles(R"("level_up" == event)") == Needles{R"("level_up")"});
    // Nothing is required where a match need not contain the literal.
    CHECK(needles(R"(event != "level_up")").empty());
    CHECK(needles(R"(event == "a" || level == 3)").empty());
    CHECK(needles(R"(!(event == "a"))").empty());
    CHECK(needles(R"(level == 3)").empty());
    // A literal JSON must escape could be written in several ways.
    CHECK(needles(R"(event == "say \"hi\"")").empty());
    CHECK(needles(R"(event == "a\tb")").empty());
}

TEST_CASE("raw prefilter: a record without the needle can match only through an escape") {
    const cep::RawPrefilter prefilter({R"("level_up")"});
    CHECK(prefilter.may_match(R"({"event":"level_up","level":3})"));
    CHECK_FALSE(prefilter.may_match(R"({"event":"kill","level":3})"));
    CHECK_FALSE(prefilter.may_match(R"({"event":"level_up_2"})"));
    CHECK(prefilter.may_match(R"({"event":"level\u005fup"})"));
}

TEST_CASE("raw prefilter: the outline a line needs to be dropped unparsed") {
    CHECK(cep::RawPrefilter::outlined(R"({"event":"kill"})"));
    CHECK(cep::RawPrefilter::outlined(" \t{}  "));
    CHECK_FALSE(cep::RawPrefilter::outlined(R"({"event":"kill")")); // truncated
    CHECK_FALSE(cep::RawPrefilter::outlined(R"(["event"])"));       // not an object
    CHECK_FALSE(cep::RawPrefilter::outlined("hello"));
    CHECK_FALSE(cep::RawPrefilter::outlined(std::string_view("{\"a\":\"\0\"}", 9))); // NUL
    CHECK_FALSE(cep::RawPrefilter::outlined("{\"a\":\"\xff\"}"));                    // not UTF-8
}

TEST_CASE("raw prefilter: the needle search agrees with a plain search at every offset") {
    // Lines of every length around the 16-byte steps, the needle at every position, and
    // near-misses that share the tested bytes.
    const std::string needle = R"("level_up")";
    const cep::Needle search(needle);
    for (std::size_t size = 0; size < 70; ++size) {
        for (std::size_t at = 0; at + needle.size() <= size; ++at) {
            std::string line(size, 'x');
            line.replace(at, needle.size(), needle);
            CAPTURE(size);
            CAPTURE(at);
            CHECK(search.found_in(line));
            line[at + needle.size() / 2] = 'Z'; // same second and second-to-last bytes
            CHECK_FALSE(search.found_in(line));
        }
    }
    CHECK(cep::Needle("ab").found_in("xxab"));
    CHECK_FALSE(cep::Needle("ab").found_in("xxaxb"));
    CHECK(cep::Needle("a").found_in("xxxxxxxxxxxxxxxxxxxxxxxxxa"));
    CHECK(cep::Needle("").found_in(""));
}

TEST_CASE("raw prefilter: any of several conditions' needles") {
    const auto prefilter = cep::RawPrefilter::any_of({{R"("level_up")"}, {R"("kill")", R"("pc")"}});
    CHECK(prefilter.may_match(R"({"event":"level_up"})"));
    CHECK(prefilter.may_match(R"({"event":"kill","platform":"pc"})"));
    CHECK_FALSE(prefilter.may_match(R"({"event":"kill","platform":"ios"})")); // one needle of two
    CHECK_FALSE(prefilter.may_match(R"({"event":"move"})"));
    CHECK(prefilter.may_match(R"({"event":"mov\u0065"})")); // an escape may spell anything
}

TEST_CASE("raw prefilter: rules_out is !may_match && outlined, in one pass") {
    const cep::RawPrefilter prefilter({R"("level_up")"});
    const std::string long_tail(40, 'x'); // past one 16-byte step
    for (const std::string line :
         {std::string(R"({"event":"kill"})"), std::string(R"({"event":"level_up"})"),
          std::string(R"({"event":"ki\u006cl"})"), R"({"event":"kill","pad":")" + long_tail + R"(\n"})",
          std::string("{\"a\":\"\0\"}", 9), "{\"pad\":\"" + long_tail + std::string("\0\"}", 3),
          std::string(R"({"event":"kill")"), std::string("{\"a\":\"\xff\"}"), std::string(" {} ")}) {
        CAPTURE(line);
        CHECK(prefilter.rules_out(line) == (!prefilter.may_match(line) && cep::RawPrefilter::outlined(line)));
    }
    CHECK(prefilter.rules_out(R"({"event":"kill"})"));
}
