// RecordParser: one pass over a record fills the schema's slots; anything malformed is
// rejected with a reason and the 1-based byte column where it is, for the error message.

#include "cep/leading_field.hpp"
#include "cep/record_parser.hpp"

#include <doctest/doctest.h>
#include <string>

using cep::Kind;
using cep::ParseFailure;
using cep::RecordParser;
using cep::Schema;
using cep::Slot;

namespace {

/// A line with the padding simdjson reads past its end, as LineReader provides.
class PaddedLine {
  public:
    explicit PaddedLine(std::string_view text) : storage_(text) {
        storage_.append(simdjson::SIMDJSON_PADDING, '\0');
        size_ = text.size();
    }
    std::string_view view() const { return {storage_.data(), size_}; }

  private:
    std::string storage_;
    std::size_t size_;
};

struct Parsed {
    bool ok;
    ParseFailure failure;
};

Parsed parse(RecordParser& parser, std::string_view text) {
    // Kept alive across the call and the checks that read slots: values point into it.
    static thread_local std::unique_ptr<PaddedLine> line;
    line = std::make_unique<PaddedLine>(text);
    Parsed out{};
    out.ok = parser.parse(line->view(), out.failure);
    return out;
}

} // namespace

TEST_CASE("top-level fields of every type") {
    Schema schema;
    const Slot s = schema.add("s"), i = schema.add("i"), f = schema.add("f"), b = schema.add("b"),
               n = schema.add("n"), o = schema.add("o"), a = schema.add("a"), gone = schema.add("gone");
    RecordParser parser(schema);
    REQUIRE(parse(parser, R"({"s":"text","i":-42,"f":2.5,"b":true,"n":null,"o":{"x":1},"a":[1, "two"]})").ok);
    const auto slots = parser.slots();
    REQUIRE(slots.size() == 8);
    CHECK(slots[s].kind == Kind::string);
    CHECK(slots[s].text == "text");
    CHECK(slots[i].kind == Kind::integer);
    CHECK(slots[i].integer == -42);
    CHECK(slots[f].kind == Kind::floating);
    CHECK(slots[f].floating == 2.5);
    CHECK(slots[b].kind == Kind::boolean);
    CHECK(slots[b].boolean);
    CHECK(slots[n].kind == Kind::null);
    CHECK(slots[o].kind == Kind::object);
    CHECK(slots[o].text == R"({"x":1})");
    CHECK(slots[a].kind == Kind::array);
    CHECK(slots[a].text == R"([1, "two"])");
    CHECK(slots[gone].kind == Kind::missing);
}

TEST_CASE("nested paths, array indexes, and paths through the wrong type") {
    Schema schema;
    const Slot id = schema.add("member.playerId"), country = schema.add("member.geo.country"),
               second = schema.add("items[1].id"), first = schema.add("items[0]"),
               deep = schema.add("m[0][1]"), through_scalar = schema.add("level.x"),
               index_of_object = schema.add("member[0]");
    RecordParser parser(schema);
    REQUIRE(parse(parser, R"({"level":3,"member":{"playerId":"p-1","geo":{"country":"KR"}},)"
                          R"("items":[{"id":10},{"id":20},{"id":30}],"m":[[1,2],[3,4]]})")
                .ok);
    const auto slots = parser.slots();
    CHECK(slots[id].text == "p-1");
    CHECK(slots[country].text == "KR");
    CHECK(slots[second].kind == Kind::integer);
    CHECK(slots[second].integer == 20);
    CHECK(slots[first].kind == Kind::object);
    CHECK(slots[first].text == R"({"id":10})");
    CHECK(slots[deep].integer == 2);
    CHECK(slots[through_scalar].kind == Kind::missing);
    CHECK(slots[index_of_object].kind == Kind::missing);
}

TEST_CASE("slots are reset between records") {
    Schema schema;
    const Slot a = schema.add("a");
    RecordParser parser(schema);
    REQUIRE(parse(parser, R"({"a":1})").ok);
    CHECK(parser.slots()[a].kind == Kind::integer);
    REQUIRE(parse(parser, R"({"b":1})").ok);
    CHECK(parser.slots()[a].kind == Kind::missing);
}

TEST_CASE("escaped keys match their unescaped path; escaped strings are decoded") {
    Schema schema;
    const Slot ab = schema.add("ab"), quoted = schema.add(R"(["we\"ird"])"),
               spaced = schema.add(R"(["odd key"])"), unicode = schema.add("u");
    RecordParser parser(schema);
    REQUIRE(parse(parser, R"({"a\u0062":1,"we\"ird":2,"odd key":3,"u":"caf\u00e9 \"q\"\n\\"})").ok);
    const auto slots = parser.slots();
    CHECK(slots[ab].integer == 1);
    CHECK(slots[quoted].integer == 2);
    CHECK(slots[spaced].integer == 3);
    CHECK(slots[unicode].text == "café \"q\"\n\\");
}

TEST_CASE("a path read whole and descended into (member and member.id)") {
    Schema schema;
    const Slot member = schema.add("member"), member_id = schema.add("member.id"), tags = schema.add("tags"),
               tag = schema.add("tags[1]"), after = schema.add("z");
    RecordParser parser(schema);
    REQUIRE(parse(parser, R"({"member":{"name":"a","id":7},"tags":["x","y"],"z":true})").ok);
    const auto slots = parser.slots();
    CHECK(slots[member].kind == Kind::object);
    CHECK(slots[member].text == R"({"name":"a","id":7})");
    CHECK(slots[member_id].integer == 7);
    CHECK(slots[tags].text == R"(["x","y"])");
    CHECK(slots[tag].text == "y");
    CHECK(slots[after].kind == Kind::boolean); // the walk goes on after the re-parse
    // Different shapes in the next record: the whole is still taken, the child is missing.
    REQUIRE(parse(parser, R"({"member":"just text","tags":[]})").ok);
    CHECK(parser.slots()[member].text == "just text");
    CHECK(parser.slots()[member_id].kind == Kind::missing);
    CHECK(parser.slots()[tag].kind == Kind::missing);
}

TEST_CASE("the whole record as a slot (empty path)") {
    Schema schema;
    const Slot whole = schema.add(cep::Path{});
    RecordParser parser(schema);
    REQUIRE(parse(parser, R"({"a":1})").ok);
    CHECK(parser.slots()[whole].kind == Kind::object);
    CHECK(parser.slots()[whole].text == R"({"a":1})");
}

TEST_CASE("numbers: int64 range, uint64 beyond it as double, floats") {
    Schema schema;
    const Slot max = schema.add("max"), min = schema.add("min"), big = schema.add("big"), f = schema.add("f"),
               e = schema.add("e"), neg0 = schema.add("neg0"), tiny = schema.add("tiny");
    RecordParser parser(schema);
    REQUIRE(parse(parser, R"({"max":9223372036854775807,"min":-9223372036854775808,)"
                          R"("big":18446744073709551615,"f":0.1,"e":1e3,"neg0":-0.0,"tiny":5e-324})")
                .ok);
    const auto slots = parser.slots();
    CHECK(slots[max].kind == Kind::integer);
    CHECK(slots[max].integer == INT64_MAX);
    CHECK(slots[min].kind == Kind::integer);
    CHECK(slots[min].integer == INT64_MIN);
    CHECK(slots[big].kind == Kind::floating);
    CHECK(slots[big].floating == 18446744073709551615.0);
    CHECK(slots[f].kind == Kind::floating);
    CHECK(slots[f].floating == 0.1);
    CHECK(slots[e].kind == Kind::floating);
    CHECK(slots[e].floating == 1000.0);
    CHECK(slots[neg0].kind == Kind::floating);
    CHECK(slots[neg0].floating == 0.0);
    CHECK(slots[tiny].floating == 5e-324);
}

namespace {

struct Bad {
    std::string name;
    std::string text;
    const char* reason;
    std::size_t column;
};

void check_rejected(RecordParser& parser, const Bad& bad) {
    CAPTURE(bad.name);
    const Parsed got = parse(parser, bad.text);
    CHECK_FALSE(got.ok);
    CHECK(got.failure.reason == bad.reason);
    CHECK(got.failure.column == bad.column);
}

} // namespace

TEST_CASE("malformed records: reason and column, also for fields no operator reads") {
    Schema schema;
    schema.add("a");
    RecordParser parser(schema);
    const char* structure = "The JSON document has an improper structure: missing or superfluous commas, "
                            "braces, missing keys, etc.";
    const Bad cases[] = {
        {"array", "[1,2]", "not a JSON object", 1},
        {"string", R"("text")", "not a JSON object", 1},
        {"number", "42", "not a JSON object", 1},
        {"invalid UTF-8", "{\"zz\":\"ok \xff\"}", "The input is not valid UTF-8", 11},
        {"overlong UTF-8", "{\"a\":\"\xc0\xaf\"}", "The input is not valid UTF-8", 7},
        {"UTF-16 surrogate as UTF-8", "{\"a\":\"\xed\xa0\x80\"}", "The input is not valid UTF-8", 7},
        {"NUL byte", std::string("{\"zz\":\"x\0y\"}", 12), "NUL byte in record", 9},
        {"raw tab in a string", "{\"zz\":\"x\ty\"}",
         "Within strings, some characters must be escaped, we found unescaped characters", 9},
        {"truncated after a comma", R"({"a":1,)",
         "JSON document ended early in the middle of an object or array.", 8},
        {"truncated value", R"({"a":1)", "JSON document ended early in the middle of an object or array.", 7},
        {"truncated nested", R"({"zz":{"y":[1,2)",
         "JSON document ended early in the middle of an object or array.", 16},
        {"unclosed string", R"({"a":"abc)", "A string is opened, but never closed.", 6},
        {"trailing garbage", R"({"a":1} x)", "unexpected content after the JSON object", 9},
        {"trailing brace", R"({"a":1}})", "unexpected content after the JSON object", 8},
        {"two objects", R"({"a":1}{"a":2})", "unexpected content after the JSON object", 8},
        {"missing colon", R"({"a" 1})", structure, 6},
        {"unquoted key", R"({a:1})", structure, 2},
        {"bad literal in a read field", R"({"a":tru})", "invalid JSON value", 6},
        {"lone minus", R"({"a":-})", "invalid JSON value", 6},
        {"leading zero", R"({"a":01})", "Problem while parsing a number", 6},
        {"number out of range", R"({"a":1e999})", "Problem while parsing a number", 6},
        {"bad escape", R"({"a":"\x"})", "Problem while parsing a string", 6},
        {"lone surrogate escape", R"({"a":"\ud800"})", "Problem while parsing a string", 6},
    };
    for (const auto& bad : cases)
        check_rejected(parser, bad);
}

TEST_CASE("default validation skips unread values; --strict checks them, with a column") {
    Schema schema;
    schema.add("a");
    RecordParser lenient(schema), strict(schema, true);
    const char* structure = "The JSON document has an improper structure: missing or superfluous commas, "
                            "braces, missing keys, etc.";
    const Bad cases[] = {
        {"bad literal", R"({"a":1,"zz":tru})", "Problem while parsing an atom starting with the letter 't'",
         13},
        {"superfluous comma", R"({"zz":[1,],"a":1})", structure, 10},
        {"bad null", R"({"zz":[nul],"a":1})", "Problem while parsing an atom starting with the letter 'n'",
         8},
        {"leading zero", R"({"zz":{"k":01}})", "Problem while parsing a number", 12},
        {"bad escape", R"({"zz":"\q"})", "Problem while parsing a string", 7},
    };
    for (const auto& bad : cases) {
        CAPTURE(bad.name);
        CHECK(parse(lenient, bad.text).ok);
        check_rejected(strict, bad);
    }
    CHECK(parse(strict, R"({"a":1,"zz":[true,null,{"k":"\u00e9"}]})").ok);
}


TEST_CASE("leading_field: the first field's value from the bytes, or nothing") {
    using cep::leading_field;
    const auto text = [](std::string_view line) {
        const auto v = leading_field(line, "ts");
        return v && v->kind == Kind::string ? std::string(v->text) : std::string("-");
    };
    const auto integer = [](std::string_view line) {
        const auto v = leading_field(line, "ts");
        return v && v->kind == Kind::integer ? v->integer : std::int64_t{-1};
    };
    CHECK(text(R"({"ts":"2026-11-01T12:00:00Z","a":1})") == "2026-11-01T12:00:00Z");
    CHECK(text(R"({"ts":"x"})") == "x");
    CHECK(integer(R"({"ts":1700000000000,"a":1})") == 1700000000000);
    CHECK(integer(R"({"ts":-5})") == -5);
    // Anything else is left to the parser.
    CHECK_FALSE(leading_field(R"({ "ts":"x"})", "ts"));      // a blank
    CHECK_FALSE(leading_field(R"({"a":1,"ts":"x"})", "ts")); // not first
    CHECK_FALSE(leading_field(R"({"ts":"x\"y"})", "ts"));    // an escape
    CHECK_FALSE(leading_field(R"({"ts":"x" })", "ts"));      // not followed by , or }
    CHECK_FALSE(leading_field(R"({"ts":1.5})", "ts"));       // not an integer
    CHECK_FALSE(leading_field(R"({"ts":012})", "ts"));       // a leading zero
    CHECK_FALSE(leading_field(R"({"tsx":1})", "ts"));
    CHECK_FALSE(leading_field(R"({"ts":"x)", "ts"));         // truncated
}
