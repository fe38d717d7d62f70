// The golden runner's own pieces: shell-word splitting and JSON-aware line comparison. A bug
// here would make golden tests pass that should fail, so they are pinned down exactly.

#include "cep/testing/golden.hpp"

#include <doctest/doctest.h>
#include <stdexcept>

using cep::testing::first_difference;
using cep::testing::json_line_equal;
using cep::testing::quote_shell_word;
using cep::testing::side_by_side;
using cep::testing::split_lines;
using cep::testing::split_shell_words;
using Words = std::vector<std::string>;

TEST_CASE("shell words: whitespace separates, runs of it count once") {
    CHECK(split_shell_words("") == Words{});
    CHECK(split_shell_words("   \t\n") == Words{});
    CHECK(split_shell_words("a b\tc\n d") == Words{"a", "b", "c", "d"});
    CHECK(split_shell_words("  --invert   in.ndjson  ") == Words{"--invert", "in.ndjson"});
}

TEST_CASE("shell words: single quotes are literal") {
    CHECK(split_shell_words(R"('game_id == "kingdom" && level == 3')") ==
          Words{R"(game_id == "kingdom" && level == 3)"});
    CHECK(split_shell_words(R"('a\b' 'x"y')") == Words{R"(a\b)", R"(x"y)"});
    CHECK(split_shell_words("''") == Words{""});
    CHECK(split_shell_words("a '' b") == Words{"a", "", "b"});
}

TEST_CASE("shell words: double quotes keep a backslash unless it escapes \" \\ $ `") {
    CHECK(split_shell_words(R"("a b" "c\"d" "e\\f" "g\$h" "i\`j")") ==
          Words{"a b", "c\"d", "e\\f", "g$h", "i`j"});
    CHECK(split_shell_words(R"("a\nb")") == Words{R"(a\nb)"});
    CHECK(split_shell_words(R"("it's")") == Words{"it's"});
    CHECK(split_shell_words("\"\"") == Words{""});
    CHECK(split_shell_words("\"a\\\nb\"") == Words{"ab"});
}

TEST_CASE("shell words: backslash outside quotes escapes any character") {
    CHECK(split_shell_words(R"(a\ b c\'d \"e\")") == Words{"a b", "c'd", "\"e\""});
    CHECK(split_shell_words(R"(\\)") == Words{"\\"});
    CHECK(split_shell_words("a\\\nb") == Words{"ab"});
}

TEST_CASE("shell words: quoted parts join adjacent text into one word") {
    CHECK(split_shell_words(R"(--on-error='fail')") == Words{"--on-error=fail"});
    CHECK(split_shell_words(R"(a'b c'"d e"f)") == Words{"ab cd ef"});
}

TEST_CASE("shell words: unterminated quotes and a trailing backslash are errors") {
    CHECK_THROWS_AS(split_shell_words("'abc"), std::invalid_argument);
    CHECK_THROWS_AS(split_shell_words("x \"abc"), std::invalid_argument);
    CHECK_THROWS_AS(split_shell_words("\"abc\\\""), std::invalid_argument);
    CHECK_THROWS_AS(split_shell_words("abc\\"), std::invalid_argument);
}

TEST_CASE("shell words: quote_shell_word round-trips") {
    CHECK(quote_shell_word("in.ndjson") == "in.ndjson");
    CHECK(quote_shell_word("--on-error=fail") == "--on-error=fail");
    CHECK(quote_shell_word("") == "''");
    CHECK(quote_shell_word("a b") == "'a b'");
    CHECK(quote_shell_word("it's") == R"('it'\''s')");
    for (const std::string word :
         {"", "a b", "it's", R"(x == "y" && z)", "tab\there", "back\\slash", "$HOME"})
        CHECK(split_shell_words(quote_shell_word(word)) == Words{word});
}

TEST_CASE("lines: a trailing newline does not add an empty line") {
    CHECK(split_lines("").empty());
    CHECK(split_lines("a") == std::vector<std::string_view>{"a"});
    CHECK(split_lines("a\n") == std::vector<std::string_view>{"a"});
    CHECK(split_lines("a\n\nb") == std::vector<std::string_view>{"a", "", "b"});
    CHECK(split_lines("a\r\nb\n") == std::vector<std::string_view>{"a\r", "b"});
}

TEST_CASE("JSON lines: equal as values whatever the key order, spacing and number spelling") {
    CHECK(json_line_equal(R"({"a":1,"b":[1,2]})", R"({ "b" : [1, 2], "a" : 1 })"));
    CHECK(json_line_equal(R"({"x":1})", R"({"x":1.0})"));
    CHECK(json_line_equal(R"({"x":100})", R"({"x":1e2})"));
    CHECK(json_line_equal(R"({"s":"é"})", R"({"s":"\u00e9"})"));
    CHECK(json_line_equal(R"({"a":{"b":null}})", R"({"a":{"b":null}})"));
    CHECK(json_line_equal("  42 ", "42"));
}

TEST_CASE("JSON lines: different values, types and structure differ") {
    CHECK_FALSE(json_line_equal(R"({"a":1})", R"({"a":2})"));
    CHECK_FALSE(json_line_equal(R"({"a":1})", R"({"a":"1"})"));
    CHECK_FALSE(json_line_equal(R"({"a":1})", R"({"a":1,"b":2})"));
    CHECK_FALSE(json_line_equal(R"([1,2])", R"([2,1])"));
    CHECK_FALSE(json_line_equal(R"({"a":true})", R"({"a":1})"));
    CHECK_FALSE(json_line_equal(R"({"a":null})", R"({})"));
}

TEST_CASE("JSON lines: lines that are not JSON compare as text") {
    CHECK(json_line_equal("not json", "not json"));
    CHECK_FALSE(json_line_equal("not json", "not  json"));
    CHECK_FALSE(json_line_equal("{\"a\":1", "{\"a\": 1"));
    // One side JSON, the other not: never equal, even if the text looks alike.
    CHECK_FALSE(json_line_equal(R"({"a":1})", R"({"a":1} trailing)"));
    CHECK(json_line_equal("", ""));
    CHECK_FALSE(json_line_equal("", "{}"));
}

TEST_CASE("first_difference: JSON mode") {
    CHECK_FALSE(first_difference("", "", false));
    CHECK_FALSE(first_difference("{\"a\":1}\n{\"b\":2}\n", "{\"a\": 1}\n{\"b\":2.0}", false));
    CHECK(first_difference("{\"a\":1}\n{\"b\":2}\n", "{\"a\":1}\n{\"b\":3}\n", false) == 2u);
    CHECK(first_difference("{\"a\":1}\n", "{\"a\":1}\n{\"b\":2}\n", false) == 2u); // extra line
    CHECK(first_difference("{\"a\":1}\n{\"b\":2}\n", "{\"a\":1}\n", false) == 2u); // missing line
    CHECK(first_difference("x\n", "", false) == 1u);
    CHECK(first_difference("a\nb\nc\n", "a\nX\nY\n", false) == 2u);
}

TEST_CASE("first_difference: exact mode compares bytes, including the final newline") {
    CHECK_FALSE(first_difference("{ \"a\" : 1 }\n", "{ \"a\" : 1 }\n", true));
    CHECK(first_difference("{ \"a\" : 1 }\n", "{\"a\":1}\n", true) == 1u);
    CHECK(first_difference("a\nb\n", "a\nb", true) == 2u);
    CHECK(first_difference("a\r\n", "a\n", true) == 1u);
    CHECK(first_difference("\n", "", true) == 1u);
}

TEST_CASE("side_by_side: numbers lines and marks the first difference") {
    const std::string report = side_by_side("{\"a\":1}\n{\"b\":2}\n", "{\"a\":1}\n{\"b\":3}\n", 2);
    CHECK(report == "     expected | got\n"
                    "  1  {\"a\":1}  | {\"a\":1}\n"
                    "> 2  {\"b\":2}  | {\"b\":3}\n");
    // A missing line shows as <end>; control bytes are escaped so they are visible.
    const std::string missing = side_by_side("a\r\nb\n", "a\r\n", 2);
    CHECK(missing == "     expected | got\n"
                     "  1  a\\r      | a\\r\n"
                     "> 2  b        | <end>\n");
}

TEST_CASE("side_by_side: long outputs are cut around the difference") {
    std::string expected, got;
    for (int i = 1; i <= 100; ++i) {
        expected += std::to_string(i) + "\n";
        got += std::to_string(i == 50 ? -1 : i) + "\n";
    }
    const std::string report = side_by_side(expected, got, 50);
    CHECK(report.find(">  50  50") != std::string::npos);
    CHECK(report.find(" 45  45") != std::string::npos);
    CHECK(report.find(" 44  44") == std::string::npos);
    CHECK(report.find(" 65  65") != std::string::npos);
    CHECK(report.find(" 66  66") == std::string::npos);
    CHECK(report.find("... (35 more lines)") != std::string::npos);
}
