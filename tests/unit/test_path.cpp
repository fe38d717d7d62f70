// Field paths, as written in expressions, -k lists and conditions files. The canonical text
// form is what messages and manifests show, so it must read back to the same path.

#include "cep/path.hpp"
#include "cep/time.hpp"

#include <doctest/doctest.h>

using cep::Path;
using cep::PathStep;
using cep::SyntaxError;
using Type = PathStep::Type;

namespace {

PathStep key(std::string k) {
    return {Type::key, std::move(k), 0};
}
PathStep index(std::size_t i) {
    return {Type::index, {}, i};
}

std::size_t error_column(std::string_view text) {
    try {
        cep::parse_path(text);
    } catch (const SyntaxError& e) {
        return e.column;
    }
    FAIL("no SyntaxError for: " << text);
    return 0;
}

} // namespace

TEST_CASE("paths: keys, dots, indexes and quoted keys") {
    CHECK(cep::parse_path("event").steps == std::vector{key("event")});
    CHECK(cep::parse_path(".event").steps == std::vector{key("event")});
    CHECK(cep::parse_path("member.playerId").steps == std::vector{key("member"), key("playerId")});
    CHECK(cep::parse_path("items[0].id").steps == std::vector{key("items"), index(0), key("id")});
    CHECK(cep::parse_path("m[1][22]").steps == std::vector{key("m"), index(1), index(22)});
    CHECK(cep::parse_path(R"(a["odd key"])").steps == std::vector{key("a"), key("odd key")});
    CHECK(cep::parse_path(R"(a['single'])").steps == std::vector{key("a"), key("single")});
    CHECK(cep::parse_path(R"(a[ "x" ])").steps == std::vector{key("a"), key("x")});
    CHECK(cep::parse_path(R"(a["q\"uote"])").steps == std::vector{key("a"), key("q\"uote")});
    CHECK(cep::parse_path(R"("top level".x)").steps == std::vector{key("top level"), key("x")});
    CHECK(cep::parse_path("_a.$b.@c.d-e.f9").steps ==
          std::vector{key("_a"), key("$b"), key("@c"), key("d-e"), key("f9")});
}

TEST_CASE("paths: canonical text form reads back to the same path") {
    CHECK(cep::parse_path(".member.playerId").to_string() == "member.playerId");
    CHECK(cep::parse_path("items[0].id").to_string() == "items[0].id");
    CHECK(cep::parse_path(R"(a['odd key'])").to_string() == R"(a["odd key"])");
    CHECK(cep::parse_path(R"(a["q\"uote"])").to_string() == R"(a["q\"uote"])");
    CHECK(cep::parse_path(R"(a["9lives"])").to_string() == R"(a["9lives"])");
    CHECK(cep::parse_path(R"(a["plain"])").to_string() == "a.plain");
    CHECK(Path{}.to_string().empty());
    for (const char* text :
         {"a", "a.b.c", "a[0]", "a[3][4].b", R"(a["x y"].z)", R"(["1st"])", R"(a["back\\slash"])"}) {
        CAPTURE(text);
        const Path path = cep::parse_path(text);
        CHECK(cep::parse_path(path.to_string()) == path);
    }
}

TEST_CASE("paths: errors carry a 1-based column") {
    CHECK_THROWS_AS(cep::parse_path(""), SyntaxError);
    CHECK(error_column("") == 1);
    CHECK(error_column("a.") == 3);
    CHECK(error_column("a..b") == 3);
    CHECK(error_column("9a") == 1);
    CHECK(error_column("a[") == 3);
    CHECK(error_column("a[x]") == 3);
    CHECK(error_column("a[0") == 2);
    CHECK(error_column(R"(a["open)") == 3);
    CHECK(error_column("a b") == 2);
    CHECK(error_column("a+b") == 2);
}

TEST_CASE("path prefixes stop where a path cannot continue (for the expression lexer)") {
    std::size_t pos = 0;
    const Path path = cep::parse_path_prefix("member.id == 3", pos);
    CHECK(path.steps == std::vector{key("member"), key("id")});
    CHECK(pos == 9);
    pos = 4;
    CHECK(cep::parse_path_prefix("x + items[2]) ", pos).steps == std::vector{key("items"), index(2)});
    CHECK(pos == 12);
}

TEST_CASE("path lists: commas separate, but not inside brackets or quotes") {
    const auto paths = cep::parse_path_list(R"(a, b.c ,d["x,y"],e[1])");
    REQUIRE(paths.size() == 4);
    CHECK(paths[0].steps == std::vector{key("a")});
    CHECK(paths[1].steps == std::vector{key("b"), key("c")});
    CHECK(paths[2].steps == std::vector{key("d"), key("x,y")});
    CHECK(paths[3].steps == std::vector{key("e"), index(1)});
    CHECK_THROWS_AS(cep::parse_path_list(""), SyntaxError);
    CHECK_THROWS_AS(cep::parse_path_list("a b"), SyntaxError);
    CHECK_THROWS_AS(cep::parse_path_list("a,,b"), SyntaxError);
}

TEST_CASE("parse_rfc3339: times of the minute parsed last read only their seconds, with the same result") {
    // Expected values from a first parse of each text, each after a time of another minute.
    const char* texts[] = {"2026-11-01T12:00:07.250Z", "2026-11-01T12:00:08+02:00", "2026-11-01T12:00:60Z",
                           "2026-11-01T12:00:09.123456789-05:30", "2026-11-01T12:00:09,5z"};
    for (const char* text : texts) {
        CAPTURE(text);
        (void)cep::parse_rfc3339("1999-01-01T00:00:00Z");
        cep::TimeStyle fresh_style, cached_style;
        const auto fresh = cep::parse_rfc3339(text, &fresh_style);
        REQUIRE(fresh);
        (void)cep::parse_rfc3339("2026-11-01T12:00:00Z"); // the same minute as `text`
        const auto cached = cep::parse_rfc3339(text, &cached_style);
        CHECK(cached == fresh);
        CHECK(cached_style.fraction_digits == fresh_style.fraction_digits);
        CHECK(cached_style.offset_minutes == fresh_style.offset_minutes);
        CHECK(cached_style.zulu == fresh_style.zulu);
    }
    CHECK(*cep::parse_rfc3339("2026-11-01T12:00:07.250Z") ==
          (std::int64_t{1793534407} * 1'000'000'000 + 250'000'000));
    // Still checked in full after the minute's prefix: bad seconds and tails are rejected.
    (void)cep::parse_rfc3339("2026-11-01T12:00:00Z");
    CHECK_FALSE(cep::parse_rfc3339("2026-11-01T12:00:61Z"));
    CHECK_FALSE(cep::parse_rfc3339("2026-11-01T12:00:0xZ"));
    CHECK_FALSE(cep::parse_rfc3339("2026-11-01T12:00-07Z"));
    CHECK_FALSE(cep::parse_rfc3339("2026-11-01T12:00:07.Z"));
    CHECK_FALSE(cep::parse_rfc3339("2026-11-01T12:00:07Zjunk"));
}
