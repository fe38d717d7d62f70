// Manifests: the args forms, graph order and positions of errors; and the fan-in merge that
// both run modes share, whose order decides whether they agree.

#include "cep/manifest/manifest.hpp"
#include "cep/manifest/merge.hpp"

#include <doctest/doctest.h>
#include <filesystem>
#include <fstream>

namespace {

std::string write_manifest(const std::string& text) {
    const auto path = std::filesystem::temp_directory_path() / "cep-unit-manifest.yaml";
    std::ofstream(path) << text;
    return path.string();
}

} // namespace

TEST_CASE("manifest: args as a string, a list and a map of flags") {
    const auto path = write_manifest(R"(nodes:
  a:
    tool: window
    args: {-k: member.country, --tumbling: 1m, --agg: [count(), max(level)], --strict: true, --stats: false}
    input: "-"
  b:
    tool: cep-filter
    args: "'level > 3' --invert"
    from: a
  c:
    tool: agg
    args: [count()]
    from: [b, a]
)");
    const auto manifest = cep::manifest::load(path);
    REQUIRE(manifest.nodes.size() == 3);
    CHECK(manifest.nodes[0].args == std::vector<std::string>{"-k", "member.country", "--tumbling", "1m",
                                                             "--agg", "count()", "--agg", "max(level)",
                                                             "--strict"});
    CHECK(manifest.nodes[1].tool == "filter");
    CHECK(manifest.nodes[1].args == std::vector<std::string>{"level > 3", "--invert"});
    CHECK(manifest.order == std::vector<std::size_t>{0, 1, 2});
    CHECK(manifest.input_count(2) == 2);
    CHECK(manifest.writes_stdout(2));
    CHECK_FALSE(manifest.writes_stdout(0));
}

TEST_CASE("manifest: errors carry the line and column of what is wrong") {
    const auto path =
        write_manifest("nodes:\n  a:\n    tool: filter\n    args: ['true']\n    from: nowhere\n");
    try {
        (void)cep::manifest::load(path);
        FAIL("no error");
    } catch (const cep::manifest::ManifestError& e) {
        REQUIRE(e.diagnostics.size() == 1);
        CHECK(e.diagnostics[0].mark.line == 5);
        CHECK(e.diagnostics[0].mark.column == 11);
    }
}

TEST_CASE("merge: earliest first, ties to the lower input, waits for every open input") {
    std::vector<std::string> out;
    cep::TimeOptions time;
    cep::manifest::EventTimeMerge merge(2, time, [&](std::string_view line) { out.emplace_back(line); });
    merge.push(0, R"({"ts":3,"n":"a3"})");
    merge.push(0, R"({"ts":5,"n":"a5"})");
    CHECK(out.empty()); // input 1 could still send something earlier
    merge.push(1, R"({"ts":3,"n":"b3"})");
    CHECK(out == std::vector<std::string>{R"({"ts":3,"n":"a3"})", R"({"ts":3,"n":"b3"})"});
    merge.close(1);
    CHECK(out.size() == 3);
    CHECK(out[1] == R"({"ts":3,"n":"b3"})");
    CHECK(out[2] == R"({"ts":5,"n":"a5"})");
}
