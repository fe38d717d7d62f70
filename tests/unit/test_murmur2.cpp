// Kafka's murmur2 and default partitioner: checked against the values in Kafka's own test
// suites and, for many random keys, against librdkafka's partitioner itself.

#include "cep/murmur2.hpp"

#include <cstdint>
#include <doctest/doctest.h>
#include <librdkafka/rdkafka.h>
#include <random>
#include <string>
#include <utility>

namespace {

std::int32_t java_murmur2(std::string_view bytes) {
    return static_cast<std::int32_t>(cep::murmur2(bytes));
}

std::int32_t librdkafka_partition(std::string_view key, std::int32_t partitions) {
    // The murmur2 partitioner never looks at the topic or the opaques.
    return rd_kafka_msg_partitioner_murmur2(nullptr, key.data(), key.size(), partitions, nullptr, nullptr);
}

} // namespace

TEST_CASE("murmur2 matches Kafka's Java client (UtilsTest.testMurmur2)") {
    CHECK(java_murmur2("21") == -973932308);
    CHECK(java_murmur2("foobar") == -790332482);
    CHECK(java_murmur2("a-little-bit-long-string") == -985981536);
    CHECK(java_murmur2("a-little-bit-longer-string") == -1486304829);
    CHECK(java_murmur2("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8") == -58897971);
    CHECK(java_murmur2("abc") == 479470107);
}

TEST_CASE("murmur2 matches librdkafka's rd_murmur2 unit test, every tail length") {
    const std::pair<std::string_view, std::uint32_t> cases[] = {
        {"kafka", 0xd067cf64U},
        {"giberish123456789", 0x8f552b0cU},
        {"1234", 0x9fc97b14U},
        {"234", 0xe7c009caU},
        {"34", 0x873930daU},
        {"4", 0x5a4b5ca1U},
        {"PreAmbleWillBeRemoved,ThePrePartThatIs", 0x78424f1cU},
        {"reAmbleWillBeRemoved,ThePrePartThatIs", 0x4a62b377U},
        {"eAmbleWillBeRemoved,ThePrePartThatIs", 0xe0e4e09eU},
        {"AmbleWillBeRemoved,ThePrePartThatIs", 0x62b8b43fU},
        {"", 0x106e08d9U},
    };
    for (const auto& [key, expected] : cases) {
        CAPTURE(key);
        CHECK(cep::murmur2(key) == expected);
    }
}

TEST_CASE("kafka_partition makes the hash positive with a mask, not abs") {
    // "21" hashes to -973932308: abs() would give 973932308, the mask gives 1173551340.
    CHECK((cep::murmur2("21") & 0x7fffffffU) == 1173551340U);
    CHECK(cep::kafka_partition("21", 1) == 0);
    CHECK(cep::kafka_partition("21", 7) == 1173551340U % 7);
    CHECK(cep::kafka_partition("21", 7) == static_cast<std::uint32_t>(librdkafka_partition("21", 7)));
}

TEST_CASE("kafka_partition agrees with librdkafka's murmur2 partitioner on random keys") {
    std::mt19937_64 rng(20240517);
    std::uniform_int_distribution<int> length(0, 80);
    std::uniform_int_distribution<int> byte(0, 255);
    const std::int32_t counts[] = {1, 2, 3, 4, 6, 7, 12, 16, 31, 100, 1024, 0x7fffffff};
    std::string key;
    for (int i = 0; i < 20000; ++i) {
        key.clear();
        const int n = length(rng);
        for (int j = 0; j < n; ++j)
            key += static_cast<char>(byte(rng)); // any bytes, incl. >= 0x80
        for (const std::int32_t count : counts) {
            const auto ours = cep::kafka_partition(key, static_cast<std::uint32_t>(count));
            const auto theirs = librdkafka_partition(key, count);
            if (ours != static_cast<std::uint32_t>(theirs)) {
                CAPTURE(i);
                CAPTURE(count);
                FAIL("kafka_partition disagrees with librdkafka");
            }
        }
    }
}

TEST_CASE("kafka_partition agrees with librdkafka on JSON-shaped keys") {
    // The keys cep-keyby actually produces: strings, numbers, composite arrays.
    for (int i = 0; i < 5000; ++i) {
        const std::string n = std::to_string(i);
        std::string name = "p";
        name += n;
        std::string composite = "[\"";
        composite += name;
        composite += "\",";
        composite += std::to_string(i % 97);
        composite += ']';
        const std::string keys[] = {name, std::to_string(i * 7919 - 100000), composite};
        for (const auto& key : keys)
            for (std::int32_t count : {3, 4, 8, 12})
                REQUIRE(cep::kafka_partition(key, static_cast<std::uint32_t>(count)) ==
                        static_cast<std::uint32_t>(librdkafka_partition(key, count)));
    }
}
