// The data form of conditions ({field, value, type, operator} lists): every operator, type
// coercion, and the error messages that name the offending condition.

#include "cep/errors.hpp"
#include "cep/expr/expression.hpp"
#include "cep/record_parser.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <simdjson.h>
#include <string>

namespace {

using nlohmann::json;

struct Conditions {
    cep::Schema schema;
    cep::expr::Expression expression;
    explicit Conditions(const json& conditions)
        : expression(cep::expr::compile_conditions(conditions, schema)) {}
    explicit Conditions(const char* conditions) : Conditions(json::parse(conditions)) {}

    bool test(std::string_view record) {
        cep::RecordParser parser(schema);
        const simdjson::padded_string line(record);
        cep::ParseFailure failure;
        const std::string_view text(line.data(), line.size());
        REQUIRE_MESSAGE(parser.parse(text, failure), failure.reason);
        return expression.test(cep::Record{text, parser.slots(), {}});
    }
};

/// One condition on field `x`, tested against `{"x": <value>}` (or `{}` when value is empty).
bool one(std::string_view op, std::string_view value, std::string_view type, std::string_view x) {
    json condition{{"field", "x"}, {"operator", op}, {"value", json::parse(value)}};
    if (!type.empty()) condition["type"] = type;
    Conditions c(json::array({condition}));
    return c.test(x.empty() ? std::string("{}") : "{\"x\":" + std::string(x) + "}");
}

/// The UsageError message compiling `conditions` throws.
std::string error(std::string_view conditions) {
    cep::Schema schema;
    try {
        cep::expr::compile_conditions(json::parse(conditions), schema);
    } catch (const cep::UsageError& e) {
        return e.what();
    }
    FAIL("no error for: " << conditions);
    return {};
}

} // namespace

TEST_CASE("conditions: the example") {
    Conditions c(R"([{"field":"event","value":"kill","type":"string","operator":"equals"},
                     {"field":"gameCode","value":1302,"type":"integer","operator":"equals"},
                     {"field":"useSkill","value":true,"type":"bool","operator":"equals"}])");
    CHECK(c.test(R"({"event":"kill","gameCode":1302,"useSkill":true})"));
    CHECK(c.test(R"({"useSkill":true,"gameCode":1302.0,"event":"kill","x":1})"));
    CHECK_FALSE(c.test(R"({"event":"kill","gameCode":"1302","useSkill":true})"));
    CHECK_FALSE(c.test(R"({"event":"kill","gameCode":1302,"useSkill":false})"));
    CHECK_FALSE(c.test(R"({"event":"die","gameCode":1302,"useSkill":true})"));
    CHECK_FALSE(c.test(R"({"gameCode":1302,"useSkill":true})"));
    CHECK(c.expression.source() == R"(event == "kill" && gameCode == 1302 && useSkill == true)");
    CHECK(c.schema.slot_count() == 3);
    // Fields named like keywords stay fields when read back.
    Conditions keywords(R"([{"field":"in","value":1},{"field":"true.x","value":2}])");
    CHECK(keywords.expression.source() == ".in == 1 && .true.x == 2");
    CHECK(keywords.test(R"({"in":1,"true":{"x":2}})"));
}

TEST_CASE("conditions: the list may sit in an object, or be a single condition") {
    Conditions wrapped(
        R"({"name":"kills","conditions":[{"field":"event","value":"kill","operator":"equals"}]})");
    CHECK(wrapped.test(R"({"event":"kill"})"));
    CHECK_FALSE(wrapped.test(R"({"event":"die"})"));
    Conditions single(R"({"field":"event","value":"kill","operator":"equals"})");
    CHECK(single.test(R"({"event":"kill"})"));
    // No conditions: nothing can fail.
    Conditions none("[]");
    CHECK(none.test("{}"));
    CHECK(none.expression.source() == "true");
    // Without an operator a condition is an equality.
    Conditions bare(R"([{"field":"member.id","value":7}])");
    CHECK(bare.test(R"({"member":{"id":7}})"));
    CHECK(bare.expression.source() == "member.id == 7");
}

TEST_CASE("conditions: comparison operators, by name and by symbol") {
    CHECK(one("equals", "3", "", "3"));
    CHECK_FALSE(one("equals", "3", "", "4"));
    CHECK(one("==", "3", "", "3"));
    CHECK(one("EQUALS", "3", "", "3"));
    CHECK(one("not_equals", "3", "", "4"));
    CHECK(one("not_equals", "3", "", "")); // missing != 3
    CHECK_FALSE(one("not_equals", "3", "", "3"));
    CHECK(one("!=", "\"a\"", "", "\"b\""));
    CHECK(one("greater", "3", "", "4"));
    CHECK_FALSE(one("greater", "3", "", "3"));
    CHECK(one(">", "3", "", "3.5"));
    CHECK(one("greater_or_equal", "3", "", "3"));
    CHECK_FALSE(one(">=", "3", "", "2"));
    CHECK(one("less", "3", "", "2"));
    CHECK_FALSE(one("<", "3", "", "3"));
    CHECK(one("less_or_equal", "3", "", "3"));
    CHECK(one("<=", "\"b\"", "", "\"a\""));
    CHECK_FALSE(one("less", "3", "", "\"2\"")); // across types
    CHECK(one("equals", "null", "", ""));
    CHECK(one("equals", "null", "null", "null"));
    CHECK(one("equals", R"({"a":[1,2]})", "", R"({"a":[1,2.0]})"));
    CHECK(one("equals", "[1,2]", "", "[1,2]"));
    CHECK(one("equals", "[1,2]", "list", "[1,2]"));
    CHECK_FALSE(one("equals", "[1,2]", "", "[2,1]"));
}

TEST_CASE("conditions: membership and string operators") {
    CHECK(one("in", R"(["KR","JP"])", "", R"("JP")"));
    CHECK_FALSE(one("in", R"(["KR","JP"])", "", R"("US")"));
    CHECK(one("in", "[1,2]", "list", "2.0"));
    CHECK(one("not_in", R"(["KR","JP"])", "", R"("US")"));
    CHECK(one("not_in", R"(["KR","JP"])", "", ""));
    CHECK_FALSE(one("not_in", R"(["KR","JP"])", "", R"("KR")"));
    CHECK(one("contains", R"("ell")", "", R"("hello")"));
    CHECK(one("contains", "2", "", "[1,2]"));
    CHECK(one("contains", R"("b")", "", R"(["a","b"])"));
    CHECK_FALSE(one("contains", R"("c")", "", R"(["a","b"])"));
    CHECK(one("not_contains", R"("c")", "", R"(["a","b"])"));
    CHECK(one("startswith", R"("he")", "", R"("hello")"));
    CHECK(one("starts_with", R"("he")", "", R"("hello")"));
    CHECK_FALSE(one("startswith", R"("lo")", "", R"("hello")"));
    CHECK(one("endswith", R"("lo")", "", R"("hello")"));
    CHECK(one("ends_with", R"("lo")", "", R"("hello")"));
    CHECK(one("matches", R"("^h.*o$")", "", R"("hello")"));
    CHECK_FALSE(one("matches", R"("^x")", "", R"("hello")"));
    CHECK(one("exists", "null", "", "null"));
    CHECK_FALSE(one("exists", "null", "", ""));
    CHECK(one("not_exists", "null", "", ""));
    CHECK_FALSE(one("not_exists", "null", "", "1"));
    // exists needs no value.
    Conditions c(R"([{"field":"a.b","operator":"exists"},{"field":"c","operator":"not_exists"}])");
    CHECK(c.test(R"({"a":{"b":null}})"));
    CHECK_FALSE(c.test(R"({"a":{"b":null},"c":1})"));
    CHECK(c.expression.source() == "exists(a.b) && !exists(c)");
}

TEST_CASE("conditions: type coerces the value") {
    CHECK(one("equals", R"("1302")", "integer", "1302"));
    CHECK_FALSE(one("equals", R"("1302")", "integer", R"("1302")"));
    CHECK(one("equals", R"("-5")", "int", "-5"));
    CHECK(one("equals", "2.0", "integer", "2"));
    CHECK(one("equals", "1302", "string", R"("1302")"));
    CHECK_FALSE(one("equals", "1302", "string", "1302"));
    CHECK(one("equals", "1.5", "string", R"("1.5")"));
    CHECK(one("equals", "true", "string", R"("true")"));
    CHECK(one("equals", R"("1.5")", "float", "1.5"));
    CHECK(one("equals", R"("1e3")", "double", "1000"));
    CHECK(one("equals", "1", "number", "1.0"));
    CHECK(one("greater", R"("2.5")", "float", "3"));
    CHECK(one("equals", R"("true")", "bool", "true"));
    CHECK(one("equals", R"("False")", "boolean", "false"));
    CHECK(one("equals", "false", "bool", "false"));
    CHECK(one("equals", "null", "null", ""));
    CHECK(one("equals", R"("null")", "null", "null"));
    CHECK(one("equals", "7", "INTEGER", "7"));
    // Without a type the JSON value speaks for itself.
    CHECK(one("equals", R"("7")", "", R"("7")"));
    CHECK_FALSE(one("equals", R"("7")", "", "7"));
    CHECK(one("equals", "7.5", "", "7.5"));
    CHECK(one("equals", "true", "", "true"));
    // For in/not_in, a scalar type applies to every item.
    CHECK(one("in", R"(["1","2"])", "integer", "2"));
    CHECK_FALSE(one("in", R"(["1","2"])", "integer", R"("2")"));
    CHECK(one("in", R"([1,2])", "string", R"("2")"));
    Conditions typed(R"([{"field":"x","value":["1","2"],"type":"integer","operator":"not_in"}])");
    CHECK(typed.expression.source() == "x not in [1, 2]");
}

TEST_CASE("conditions: source() is the same condition in the text language") {
    Conditions c(R"([{"field":"a","value":"x\"y","operator":"startswith"},
                     {"field":"b","value":2,"type":"float","operator":">="},
                     {"field":"c","value":"^k","operator":"matches"},
                     {"field":"d[0]","value":[1,"z"],"operator":"in"},
                     {"field":"[\"odd key\"]","value":"q","operator":"not_contains"}])");
    CHECK(
        c.expression.source() ==
        R"(startswith(a, "x\"y") && b >= 2.0 && matches(c, "^k") && d[0] in [1, "z"] && !contains(.["odd key"], "q"))");
    const std::string record = R"({"a":"x\"yz","b":2,"c":"kr","d":["z"],"odd key":"p"})";
    CHECK(c.test(record));
    // compile() of source() gives the same answers.
    cep::Schema schema;
    const auto same = cep::expr::compile(c.expression.source(), schema);
    cep::RecordParser parser(schema);
    const simdjson::padded_string line(record);
    cep::ParseFailure failure;
    REQUIRE(parser.parse(std::string_view(line.data(), line.size()), failure));
    CHECK(same.test(cep::Record{std::string_view(line.data(), line.size()), parser.slots(), {}}));
}

TEST_CASE("conditions: errors name the condition and the problem") {
    CHECK(
        error(
            R"([{"field":"a","value":1,"operator":"equals"},{"field":"b","value":1,"operator":"equal"}])") ==
        "condition 2: unknown operator 'equal' (expected one of: equals, not_equals, greater, "
        "greater_or_equal, "
        "less, less_or_equal, in, not_in, contains, not_contains, startswith, endswith, matches, exists, "
        "not_exists, ==, !=, >, >=, <, <=)");
    CHECK(error(R"([{"field":"a","value":1,"type":"int32"}])") ==
          "condition 1: unknown type 'int32' (expected one of: string, integer, float, double, number, bool, "
          "boolean, null, list)");
    CHECK(error(R"([{"value":1,"operator":"equals"}])") == "condition 1: missing 'field'");
    CHECK(error(R"([{"field":"a","operator":"equals"}])") == "condition 1: missing 'value'");
    CHECK(error(R"([{"field":1,"value":1}])") == "condition 1: 'field' must be a string, got 1");
    CHECK(error(R"([{"field":"a..b","value":1}])") ==
          "condition 1: bad field 'a..b': expected a field name at column 3");
    CHECK(error(R"([{"field":"a","value":1,"operator":3}])") ==
          "condition 1: 'operator' must be a string, got 3");
    CHECK(error(R"([{"field":"a","value":1,"type":true}])") ==
          "condition 1: 'type' must be a string, got true");
    CHECK(error(R"([{"field":"a","value":1}, "a == 1"])") ==
          "condition 2: expected an object with field, value, type and operator, got \"a == 1\"");
    CHECK(error(R"("a == 1")") ==
          "conditions: expected a list of {field, value, type, operator} objects, got \"a == 1\"");
    CHECK(error(R"({"name":"x"})") ==
          "conditions: expected a list of {field, value, type, operator} objects, or "
          "an object with a 'conditions' list");
    CHECK(error(R"({"conditions":5})") ==
          "conditions: expected a list of {field, value, type, operator} objects, got 5");
    // Coercion failures.
    CHECK(error(R"([{"field":"a","value":"abc","type":"integer"}])") ==
          "condition 1: value \"abc\" is not an integer");
    CHECK(error(R"([{"field":"a","value":"12x","type":"integer"}])") ==
          "condition 1: value \"12x\" is not an integer");
    CHECK(error(R"([{"field":"a","value":"","type":"integer"}])") ==
          "condition 1: value \"\" is not an integer");
    CHECK(error(R"([{"field":"a","value":1.5,"type":"integer"}])") ==
          "condition 1: value 1.5 is not an integer");
    CHECK(error(R"([{"field":"a","value":true,"type":"integer"}])") ==
          "condition 1: value true is not an integer");
    CHECK(error(R"([{"field":"a","value":18446744073709551615,"type":"integer"}])") ==
          "condition 1: value 18446744073709551615 does not fit a 64-bit integer");
    CHECK(error(R"([{"field":"a","value":"1.5x","type":"float"}])") ==
          "condition 1: value \"1.5x\" is not a number");
    CHECK(error(R"([{"field":"a","value":"yes","type":"bool"}])") ==
          "condition 1: value \"yes\" is not a boolean (true or false)");
    CHECK(error(R"([{"field":"a","value":0,"type":"bool"}])") ==
          "condition 1: value 0 is not a boolean (true or false)");
    CHECK(error(R"([{"field":"a","value":null,"type":"string"}])") ==
          "condition 1: value null cannot be a string");
    CHECK(error(R"([{"field":"a","value":[1],"type":"string"}])") ==
          "condition 1: value [1] cannot be a string");
    CHECK(error(R"([{"field":"a","value":1,"type":"null"}])") == "condition 1: value 1 is not null");
    CHECK(error(R"([{"field":"a","value":1,"type":"list"}])") == "condition 1: value 1 is not a list");
    CHECK(error(R"([{"field":"a","value":["1","x"],"type":"integer","operator":"in"}])") ==
          "condition 1: value \"x\" is not an integer");
    // Operator-specific values.
    CHECK(error(R"([{"field":"a","value":"KR","operator":"in"}])") ==
          "condition 1: operator 'in' needs a list value, got \"KR\"");
    CHECK(error(R"([{"field":"a","value":3,"operator":"not_in"}])") ==
          "condition 1: operator 'not_in' needs a list value, got 3");
    CHECK(error(R"([{"field":"a","value":1,"operator":"startswith"}])") ==
          "condition 1: operator 'startswith' needs a string value, got 1");
    CHECK(error(R"([{"field":"a","value":"(","operator":"matches"}])") ==
          "condition 1: invalid regular expression: missing ): (");
}
