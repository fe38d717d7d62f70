// Key extraction and encoding: the bytes every tool uses for partitioning, per-key state and
// Kafka message keys.

#include "cep/key.hpp"
#include "cep/murmur2.hpp"
#include "cep/record_parser.hpp"

#include <doctest/doctest.h>
#include <optional>
#include <simdjson.h>
#include <string>

namespace {

/// Parses one record with the schema's paths filled, the way the driver does.
class Parsed {
  public:
    Parsed(const cep::Schema& schema, std::string_view json) : parser_(schema) {
        // RecordParser reads up to SIMDJSON_PADDING bytes past the line, as LineReader allows.
        text_.assign(json);
        text_.append(simdjson::SIMDJSON_PADDING, ' ');
        line_ = std::string_view(text_.data(), json.size());
        cep::ParseFailure failure;
        REQUIRE_MESSAGE(parser_.parse(line_, failure), failure.reason);
    }
    cep::Record record() const { return cep::Record{line_, parser_.slots(), {"test", 1}}; }

  private:
    cep::RecordParser parser_;
    std::string text_;
    std::string_view line_;
};

std::string key_of(std::string_view paths, std::string_view json) {
    cep::Schema schema;
    const cep::KeyExtractor keys(paths, schema);
    const Parsed parsed(schema, json);
    std::string buffer;
    return std::string(keys.key(parsed.record(), buffer));
}

} // namespace

TEST_CASE("single-field keys: strings are their raw bytes, other values their JSON text") {
    CHECK(key_of("id", R"({"id":"p1"})") == "p1");
    CHECK(key_of("id", R"({"id":"caf\u00e9 \"q\""})") == "caf\xc3\xa9 \"q\""); // decoded, unquoted
    CHECK(key_of("id", R"({"id":""})").empty());
    CHECK(key_of("id", R"({"id":42})") == "42");
    CHECK(key_of("id", R"({"id":-7})") == "-7");
    CHECK(key_of("id", R"({"id":true})") == "true");
    CHECK(key_of("id", R"({"id":false})") == "false");
    CHECK(key_of("id", R"({"id":null})") == "null");
    CHECK(key_of("member.playerId", R"({"member":{"playerId":"p9"},"id":1})") == "p9");
    CHECK(key_of("items[1]", R"({"items":["a","b"]})") == "b");
}

TEST_CASE("numbers are canonical: one key per JSON value") {
    CHECK(key_of("n", R"({"n":42.0})") == "42");
    CHECK(key_of("n", R"({"n":4.2e1})") == "42");
    CHECK(key_of("n", R"({"n":-0.0})") == "0");
    CHECK(key_of("n", R"({"n":0.5})") == "0.5");
    CHECK(key_of("n", R"({"n":0.1})") == "0.1");
    CHECK(key_of("n", R"({"n":1.5e300})") == "1.5e+300");
    CHECK(key_of("n", R"({"n":9007199254740992.0})") == "9007199254740992");
    CHECK(key_of("n", R"({"n":9223372036854775807})") == "9223372036854775807");
    CHECK(key_of("n", R"({"n":-9223372036854775808})") == "-9223372036854775808");
    CHECK(key_of("n", R"({"n":1e16})") == "10000000000000000");
    CHECK(key_of("n", R"({"n":10000000000000000})") == "10000000000000000");
    CHECK(key_of("n", R"({"n":-9.2233720368547758e18})") == "-9223372036854775808");
    // Beyond the int64 range integers are doubles, written in the shortest form.
    CHECK(key_of("n", R"({"n":1e19})") == "1e+19");
    CHECK(key_of("n", R"({"n":10000000000000000000})") == "1e+19");
    CHECK(key_of("n", R"({"n":1.25e-7})") == "1.25e-07");
}

TEST_CASE("objects and arrays key as their JSON text without insignificant whitespace") {
    CHECK(key_of("o", R"({"o":{"a": [1, 2], "b" : "x y"}})") == R"({"a":[1,2],"b":"x y"})");
    CHECK(key_of("o", R"({"o":{"a":[1,2],"b":"x y"}})") == R"({"a":[1,2],"b":"x y"})");
    CHECK(key_of("o", R"({"o":[ ]})") == "[]");
    CHECK(key_of("o", R"({"o":{}})") == "{}");
}

TEST_CASE("composite keys are the JSON array of the values") {
    CHECK(key_of("team,id", R"({"id":42,"team":"red"})") == R"(["red",42])");
    CHECK(key_of("a,b", R"({"a":"x","b":"y"})") == R"(["x","y"])");
    // A separator in a value cannot make two different keys collide.
    CHECK(key_of("a,b", R"({"a":"x\",\"y","b":"z"})") == R"(["x\",\"y","z"])");
    CHECK(key_of("a,b", R"({"a":"x","b":"y\",\"z"})") == R"(["x","y\",\"z"])");
    // Types stay apart: the string "42" and the number 42.
    CHECK(key_of("a,b", R"({"a":"42","b":42})") == R"(["42",42])");
    CHECK(key_of("a,b,c,d", R"({"a":null,"b":true,"c":{"x": 1},"d":1.0})") == R"([null,true,{"x":1},1])");
    CHECK(key_of("a,b", R"({"a":"line\nbreak","b":"tab\t"})") == R"(["line\nbreak","tab\t"])");
    CHECK(key_of("a, m.id", R"({"a":1,"m":{"id":"p"}})") == R"([1,"p"])");
}

TEST_CASE("missing fields: reported by missing(), keyed as null by key()") {
    cep::Schema schema;
    const cep::KeyExtractor keys("team,member.playerId", schema);
    std::string buffer;

    const Parsed complete(schema, R"({"team":"red","member":{"playerId":"p1"}})");
    CHECK_FALSE(keys.missing(complete.record()).has_value());

    const Parsed no_member(schema, R"({"team":"red","member":"not an object"})");
    REQUIRE(keys.missing(no_member.record()) == std::optional<std::size_t>(1));
    CHECK(keys.missing_reason(1) == "missing key field 'member.playerId'");
    CHECK(keys.key(no_member.record(), buffer) == R"(["red",null])");

    const Parsed explicit_null(schema, R"({"team":null,"member":{"playerId":"p1"}})");
    CHECK_FALSE(keys.missing(explicit_null.record()).has_value()); // null is a value
    CHECK(keys.key(explicit_null.record(), buffer) == R"([null,"p1"])");

    CHECK(keys.describe() == "team,member.playerId");
    CHECK(keys.size() == 2);
}

TEST_CASE("a single string key points into the record; others reuse the buffer") {
    cep::Schema schema;
    const cep::KeyExtractor keys("id", schema);
    std::string buffer;
    const Parsed text(schema, R"({"id":"p1"})");
    const auto key = keys.key(text.record(), buffer);
    CHECK(key == "p1");
    CHECK(buffer.empty());

    const Parsed number(schema, R"({"id":12345})");
    const auto number_key = keys.key(number.record(), buffer);
    CHECK(number_key == "12345");
    CHECK(number_key.data() == buffer.data());
    const auto* storage = buffer.data();
    const Parsed other(schema, R"({"id":54321})");
    CHECK(keys.key(other.record(), buffer) == "54321");
    CHECK(buffer.data() == storage); // steady state: no reallocation
}

TEST_CASE("key paths share slots with other readers of the schema") {
    cep::Schema schema;
    const auto existing = schema.add("id");
    const cep::KeyExtractor keys("id", schema);
    CHECK(schema.slot_count() == 1);
    CHECK(existing == 0);
}

TEST_CASE("bad key paths are syntax errors") {
    cep::Schema schema;
    CHECK_THROWS_AS(cep::KeyExtractor("a,,b", schema), cep::SyntaxError);
    CHECK_THROWS_AS(cep::KeyExtractor("a[", schema), cep::SyntaxError);
    CHECK_THROWS_AS(cep::KeyExtractor("", schema), cep::SyntaxError);
}

TEST_CASE("the partitions used by the golden cases are Kafka's") {
    // tests/golden/keyby/*partitions* expect these; librdkafka agrees (test_murmur2.cpp).
    CHECK(cep::kafka_partition("p1", 3) == (cep::murmur2("p1") & 0x7fffffffU) % 3);
}
