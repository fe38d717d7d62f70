// Key extraction and encoding (the bytes every tool uses for partitioning, per-key state and
// Kafka message keys) and the KeyBy operator built on them.

#include "cep/json_writer.hpp"
#include "cep/key.hpp"
#include "cep/murmur2.hpp"
#include "cep/ops/keyby.hpp"
#include "cep/record_parser.hpp"

#include <doctest/doctest.h>
#include <librdkafka/rdkafka.h>
#include <optional>
#include <simdjson.h>
#include <string>
#include <vector>

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

// ---- the KeyBy operator ----

namespace {

struct Emitted {
    std::string json;
    std::string key;
    std::optional<std::uint32_t> partition;
    bool is_new = false;
};

/// Records what the operator emits; keys are copied since Route::key is only valid in the call.
class CollectingEmitter final : public cep::Emitter {
  public:
    void emit(const cep::Record& record, const cep::Route& route) override {
        emitted.push_back({std::string(record.raw), std::string(route.key), route.partition, false});
    }
    void emit_new(std::string_view json, const cep::Origin&, const cep::Route& route) override {
        emitted.push_back({std::string(json), std::string(route.key), route.partition, true});
    }
    void reject(const cep::Record&, std::string_view reason) override { rejected.emplace_back(reason); }

    std::vector<Emitted> emitted;
    std::vector<std::string> rejected;
};

cep::ops::KeyByOptions keyby_options(std::string_view paths) {
    cep::ops::KeyByOptions options;
    options.paths = cep::parse_path_list(paths);
    return options;
}

} // namespace

TEST_CASE("KeyBy passes the record's bytes on with its key in the route") {
    cep::Schema schema;
    cep::ops::KeyBy op(keyby_options("member.playerId"), schema);
    CollectingEmitter out;
    const Parsed parsed(schema, R"({ "member" : {"playerId":"p1"}, "n":1.50 })");
    op.push(parsed.record(), out);
    REQUIRE(out.emitted.size() == 1);
    CHECK(out.emitted[0].json == R"({ "member" : {"playerId":"p1"}, "n":1.50 })");
    CHECK_FALSE(out.emitted[0].is_new); // the original bytes, and its slots in a fused chain
    CHECK(out.emitted[0].key == "p1");
    CHECK_FALSE(out.emitted[0].partition.has_value());
}

TEST_CASE("KeyBy with partitions routes to Kafka's partition of the key") {
    cep::Schema schema;
    auto options = keyby_options("team,id");
    options.partitions = 4;
    cep::ops::KeyBy op(std::move(options), schema);
    CollectingEmitter out;
    for (const char* json :
         {R"({"team":"red","id":1})", R"({"team":"blue","id":2})", R"({"team":"red","id":3})"}) {
        const Parsed parsed(schema, json);
        op.push(parsed.record(), out);
    }
    REQUIRE(out.emitted.size() == 3);
    for (const auto& e : out.emitted) {
        CAPTURE(e.key);
        CHECK(e.partition == cep::kafka_partition(e.key, 4));
    }
    CHECK(out.emitted[0].key == R"(["red",1])");
}

TEST_CASE("KeyBy rejects records without the key, or keys them as null") {
    const char* records[] = {R"({"id":"p1"})", R"({"other":1})", R"({"id":null})"};
    SUBCASE("default: rejected with the field's name") {
        cep::Schema schema;
        cep::ops::KeyBy op(keyby_options("id"), schema);
        CollectingEmitter out;
        for (const char* json : records) {
            const Parsed parsed(schema, json);
            op.push(parsed.record(), out);
        }
        CHECK(out.emitted.size() == 2);
        REQUIRE(out.rejected.size() == 1);
        CHECK(out.rejected[0] == "missing key field 'id'");
    }
    SUBCASE("--missing-key=null") {
        cep::Schema schema;
        auto options = keyby_options("id");
        options.missing = cep::ops::MissingKey::null;
        cep::ops::KeyBy op(std::move(options), schema);
        CollectingEmitter out;
        for (const char* json : records) {
            const Parsed parsed(schema, json);
            op.push(parsed.record(), out);
        }
        CHECK(out.rejected.empty());
        REQUIRE(out.emitted.size() == 3);
        CHECK(out.emitted[1].key == "null");
        CHECK(out.emitted[2].key == "null"); // a missing field and an explicit null agree
    }
}

TEST_CASE("KeyBy --emit-key writes the key into the record") {
    cep::Schema schema;
    auto options = keyby_options("team,id");
    options.emit_key = "key";
    cep::ops::KeyBy op(std::move(options), schema);
    CollectingEmitter out;
    const Parsed parsed(schema, R"({"team":"red","id":7})");
    op.push(parsed.record(), out);
    REQUIRE(out.emitted.size() == 1);
    CHECK(out.emitted[0].is_new);
    CHECK(out.emitted[0].json == R"({"key":"[\"red\",7]","team":"red","id":7})");
    CHECK(out.emitted[0].key == R"(["red",7])");
}

TEST_CASE("prepend_key_field splices the key in and keeps the record's bytes") {
    std::string out;
    cep::ops::prepend_key_field(out, R"({"a":1})", "key", "p1");
    CHECK(out == R"({"key":"p1","a":1})");
    cep::ops::prepend_key_field(out, "{}", "key", "p1");
    CHECK(out == R"({"key":"p1"})");
    cep::ops::prepend_key_field(out, "  { \n }", "key", "p1");
    CHECK(out == "{\"key\":\"p1\" \n }");
    cep::ops::prepend_key_field(out, R"({ "a" : [1, 2] })", "k\"ey", "x\\y\n");
    CHECK(out == R"({"k\"ey":"x\\y\n", "a" : [1, 2] })");
}

TEST_CASE("replace_key_field drops every existing member of that name") {
    simdjson::ondemand::parser parser;
    std::string out, scratch;
    cep::ops::replace_key_field(out, R"({"key":"old","a":1})", "key", "new", parser, scratch);
    CHECK(out == R"({"key":"new","a":1})");
    cep::ops::replace_key_field(out, R"({"a":{"key":1, "b":"}"},"key":[1,{"x":2}] , "c" : "q\"}" })", "key",
                                "k", parser, scratch);
    CHECK(out == R"({"key":"k","a":{"key":1, "b":"}"},"c" : "q\"}"})"); // nested "key" stays
    cep::ops::replace_key_field(out, R"({"k\u0065y":true,"key":null,"z":false})", "key", "k", parser,
                                scratch);
    CHECK(out == R"({"key":"k","z":false})"); // an escaped spelling is the same name
    cep::ops::replace_key_field(out, R"({"key":1})", "key", "k", parser, scratch);
    CHECK(out == R"({"key":"k"})");
    cep::ops::replace_key_field(out, R"({"a":-1.5e3,"key":"x","b":"caf\u00e9"})", "key", "k", parser,
                                scratch);
    CHECK(out == R"({"key":"k","a":-1.5e3,"b":"caf\u00e9"})");
}

TEST_CASE("the partitions the golden cases expect are librdkafka's") {
    // tests/golden/keyby/0004, 0005, 0006, 0010: keys and the partition files they are in.
    const std::pair<std::string_view, std::int32_t> three[] = {{"p1", 2}, {"p2", 2}, {"p3", 0},
                                                               {"p4", 2}, {"p5", 1}, {"p6", 1}};
    for (const auto& [key, partition] : three) {
        CAPTURE(key);
        CHECK(rd_kafka_msg_partitioner_murmur2(nullptr, key.data(), key.size(), 3, nullptr, nullptr) ==
              partition);
        CHECK(cep::kafka_partition(key, 3) == static_cast<std::uint32_t>(partition));
    }
    const std::pair<std::string_view, std::int32_t> four[] = {
        {R"(["red","p3"])", 0},   {R"(["green","p6"])", 1}, {R"(["blue","p2"])", 2},
        {R"(["green","p5"])", 2}, {R"(["red","p1"])", 2},   {R"(["blue","p4"])", 3}};
    for (const auto& [key, partition] : four) {
        CAPTURE(key);
        CHECK(rd_kafka_msg_partitioner_murmur2(nullptr, key.data(), key.size(), 4, nullptr, nullptr) ==
              partition);
    }
    const std::pair<std::string_view, std::int32_t> two[] = {
        {"p1", 0}, {"p2", 0}, {"p6", 1}, {"null", 1}, {"red", 0}, {"blue", 0}, {"green", 1}};
    for (const auto& [key, partition] : two) {
        CAPTURE(key);
        CHECK(rd_kafka_msg_partitioner_murmur2(nullptr, key.data(), key.size(), 2, nullptr, nullptr) ==
              partition);
    }
}

TEST_CASE("append_json_string: plain text copied whole, the rest escaped") {
    const auto json = [](std::string_view text) {
        std::string out = "x";
        cep::append_json_string(out, text);
        return out;
    };
    CHECK(json("playerId") == R"(x"playerId")");
    CHECK(json("") == R"(x"")");
    CHECK(json("a\"b\\c") == R"(x"a\"b\\c")");
    CHECK(json("tab\there\n\x01") == R"(x"tab\there\n\u0001")");
    CHECK(json("caf\xc3\xa9") == "x\"caf\xc3\xa9\"");
    CHECK(json("bad \xff byte") == "x\"bad \xEF\xBF\xBD byte\"");
}
