// Space-Saving: exact while the distinct values fit, the classic guarantees beyond, merges.

#include "cep/agg/space_saving.hpp"

#include <algorithm>
#include <doctest/doctest.h>
#include <map>
#include <random>
#include <string>

using namespace cep::agg;

namespace {

auto by_key = [](std::string_view a, std::string_view b) { return a < b; };

std::map<std::string, std::uint64_t> counts_of(const SpaceSaving& s) {
    std::map<std::string, std::uint64_t> out;
    for (const auto& item : s.top(s.size(), by_key))
        out[std::string(item.key)] = item.count;
    return out;
}

} // namespace

TEST_CASE("Space-Saving: exact counts while distinct values fit the capacity") {
    std::mt19937_64 random(1);
    SpaceSaving summary(100);
    std::map<std::string, std::uint64_t> truth;
    for (int i = 0; i < 200'000; ++i) {
        // 100 distinct values, skewed.
        const auto v = std::to_string(std::min(random() % 150, random() % 100));
        summary.add(v);
        ++truth[v];
    }
    CHECK(truth.size() == 100);
    CHECK(summary.exact());
    CHECK(counts_of(summary) == truth);
    const auto top = summary.top(3, by_key);
    REQUIRE(top.size() == 3);
    CHECK(top[0].count >= top[1].count);
    CHECK(top[0].error == 0);
}

TEST_CASE("Space-Saving: ties are ordered by value") {
    SpaceSaving summary(10);
    for (const char* v : {"b", "a", "c", "a", "c"})
        summary.add(v);
    const auto top = summary.top(3, by_key);
    CHECK(top[0].key == "a");
    CHECK(top[1].key == "c");
    CHECK(top[2].key == "b");
}

TEST_CASE("Space-Saving: heavy hitters are found with bounded overestimates") {
    std::mt19937_64 random(2);
    const std::uint32_t capacity = 100;
    SpaceSaving summary(capacity);
    std::map<std::string, std::uint64_t> truth;
    const std::uint64_t n = 500'000;
    // Zipf-like: value k with weight ~1/k over 100 000 values.
    std::vector<double> weights(100'000);
    for (std::size_t k = 0; k < weights.size(); ++k)
        weights[k] = 1.0 / static_cast<double>(k + 1);
    std::discrete_distribution<std::size_t> zipf(weights.begin(), weights.end());
    for (std::uint64_t i = 0; i < n; ++i) {
        const auto v = "v" + std::to_string(zipf(random));
        summary.add(v);
        ++truth[v];
    }
    CHECK_FALSE(summary.exact());
    for (const auto& item : summary.top(capacity, by_key)) {
        const std::uint64_t true_count = truth[std::string(item.key)];
        CHECK(item.count >= true_count);              // never underestimates
        CHECK(item.count - item.error <= true_count); // error bounds the overestimate
        CHECK(item.error <= n / capacity);
    }
    // Every value more frequent than n / capacity is held, and the top 10 are the true top 10.
    std::vector<std::pair<std::uint64_t, std::string>> ranked;
    for (const auto& [v, c] : truth)
        ranked.emplace_back(c, v);
    std::sort(ranked.rbegin(), ranked.rend());
    const auto held = counts_of(summary);
    for (const auto& [c, v] : ranked)
        if (c > n / capacity) CHECK(held.count(v) == 1);
    const auto top = summary.top(10, by_key);
    for (std::size_t i = 0; i < 10; ++i)
        CHECK(top[i].key == ranked[i].second);
}

TEST_CASE("Space-Saving: merges") {
    // Without evictions, a merge is exact.
    SpaceSaving a(50), b(50), whole(50);
    for (int i = 0; i < 1000; ++i) {
        const auto v = std::to_string(i % 40);
        (i < 600 ? a : b).add(v);
        whole.add(v);
    }
    a.merge(b);
    CHECK(a.exact());
    CHECK(counts_of(a) == counts_of(whole));

    // With evictions the merged summary keeps the guarantees.
    std::mt19937_64 random(5);
    std::map<std::string, std::uint64_t> truth;
    std::vector<SpaceSaving> parts(4, SpaceSaving(100));
    std::geometric_distribution<int> geometric(0.2);
    for (int i = 0; i < 100'000; ++i) {
        const auto v = std::to_string(geometric(random));
        parts[static_cast<std::size_t>(i % 4)].add(v);
        ++truth[v];
    }
    SpaceSaving merged(100);
    for (const auto& p : parts)
        merged.merge(p);
    for (const auto& item : merged.top(100, by_key)) {
        CHECK(item.count >= truth[std::string(item.key)]);
        CHECK(item.count - item.error <= truth[std::string(item.key)]);
    }
    const auto top = merged.top(5, by_key);
    for (std::size_t i = 0; i < 5; ++i)
        CHECK(top[i].key == std::to_string(i));
}

TEST_CASE("Space-Saving: serialization round trip") {
    SpaceSaving summary(20);
    for (int i = 0; i < 1000; ++i)
        summary.add(std::to_string(i % 30 * (i % 7)));
    std::string bytes;
    ByteWriter out(bytes);
    summary.write(out);
    ByteReader in(bytes);
    const SpaceSaving copy = SpaceSaving::read(in);
    CHECK(in.done());
    CHECK(counts_of(copy) == counts_of(summary));
    CHECK(copy.exact() == summary.exact());
}
