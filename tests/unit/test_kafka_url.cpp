// kafka: names and kcat's offset words, and how the flags fold into an endpoint.

#include "cep/errors.hpp"
#include "cep/io/kafka_config.hpp"
#include "cep/io/kafka_url.hpp"

#include <doctest/doctest.h>

using cep::io::KafkaOffsets;
using cep::io::KafkaStart;
using Kind = cep::io::KafkaStart::Kind;

namespace {

KafkaOffsets offsets(std::initializer_list<std::string_view> words) {
    KafkaOffsets result;
    for (auto word : words)
        cep::io::parse_kafka_offset(word, result);
    return result;
}

} // namespace

TEST_CASE("kafka names: brokers, topics and query") {
    auto url =
        cep::io::parse_kafka_url("kafka://127.0.0.1:9092,127.0.0.1:9093/events,clicks?group=g1&offset=end");
    CHECK(url.brokers == "127.0.0.1:9092,127.0.0.1:9093");
    CHECK(url.topics == std::vector<std::string>{"events", "clicks"});
    REQUIRE(url.group);
    CHECK(*url.group == "g1");
    CHECK(url.offsets == std::vector<std::string>{"end"});
    CHECK(url.properties.empty());

    url = cep::io::parse_kafka_url("kafka:events");
    CHECK(url.brokers.empty());
    CHECK(url.topics == std::vector<std::string>{"events"});

    // Without a slash after kafka:// the name is only topics; brokers come from -b.
    url = cep::io::parse_kafka_url("kafka://events?exit-at-end");
    CHECK(url.brokers.empty());
    CHECK(url.topics == std::vector<std::string>{"events"});
    CHECK(url.exit_at_end);

    url = cep::io::parse_kafka_url("kafka:///events");
    CHECK(url.brokers.empty());
    CHECK(url.topics == std::vector<std::string>{"events"});
}

TEST_CASE("kafka names: other query parameters are librdkafka properties, percent-decoded") {
    auto url =
        cep::io::parse_kafka_url("kafka://b:1/t?compression.type=zstd&offset=s@2026-01-01T00:00:00%2B01:00");
    REQUIRE(url.properties.size() == 1);
    CHECK(url.properties[0].first == "compression.type");
    CHECK(url.properties[0].second == "zstd");
    CHECK(url.offsets == std::vector<std::string>{"s@2026-01-01T00:00:00+01:00"});
}

TEST_CASE("kafka names: mistakes are usage errors") {
    CHECK_THROWS_AS(cep::io::parse_kafka_url("kafka:"), cep::UsageError);
    CHECK_THROWS_AS(cep::io::parse_kafka_url("kafka://b:1/"), cep::UsageError);
    CHECK_THROWS_AS(cep::io::parse_kafka_url("kafka://b:1/a,"), cep::UsageError);
    CHECK_THROWS_AS(cep::io::parse_kafka_url("kafka://b:1/bad topic"), cep::UsageError);
    CHECK_THROWS_AS(cep::io::parse_kafka_url("kafka://b:1/t?offset=sometime"), cep::UsageError);
    CHECK_THROWS_AS(cep::io::parse_kafka_url("kafka://b:1/t?group="), cep::UsageError);
    CHECK_THROWS_AS(cep::io::parse_kafka_url("kafka://b:1/t?acks"), cep::UsageError);
    CHECK_THROWS_AS(cep::io::parse_kafka_url("kafka://b:1/t?x=%zz"), cep::UsageError);
    CHECK_THROWS_AS(cep::io::parse_kafka_url("file.ndjson"), cep::UsageError);
    CHECK(cep::io::is_kafka_spec("kafka:t"));
    CHECK_FALSE(cep::io::is_kafka_spec("kafka.ndjson"));
}

TEST_CASE("offsets: kcat's vocabulary") {
    CHECK(offsets({"beginning"}).start == KafkaStart{Kind::beginning, 0});
    CHECK(offsets({"end"}).start == KafkaStart{Kind::end, 0});
    CHECK(offsets({"stored"}).start == KafkaStart{Kind::stored, 0});
    CHECK(offsets({"42"}).start == KafkaStart{Kind::absolute, 42});
    CHECK(offsets({"-10"}).start == KafkaStart{Kind::from_end, 10});
    CHECK(offsets({"s@1700000000000"}).start == KafkaStart{Kind::time, 1700000000000});
    auto both = offsets({"s@1000", "e@2000"});
    CHECK(both.start == KafkaStart{Kind::time, 1000});
    REQUIRE(both.stop_time_ms);
    CHECK(*both.stop_time_ms == 2000);
    CHECK_FALSE(offsets({"e@5"}).start);
}

TEST_CASE("offsets: RFC 3339 times are milliseconds since the epoch") {
    CHECK(offsets({"s@2023-11-14T22:13:20Z"}).start == KafkaStart{Kind::time, 1700000000000});
    CHECK(offsets({"s@2023-11-14T23:13:20.5+01:00"}).start == KafkaStart{Kind::time, 1700000000500});
    CHECK(*offsets({"e@1969-12-31T23:59:59.9995Z"}).stop_time_ms == -1); // floor, not toward zero
}

TEST_CASE("offsets: mistakes are usage errors") {
    CHECK_THROWS_AS(offsets({"-0"}), cep::UsageError);
    CHECK_THROWS_AS(offsets({"begin"}), cep::UsageError);
    CHECK_THROWS_AS(offsets({"s@yesterday"}), cep::UsageError);
    CHECK_THROWS_AS(offsets({"end", "beginning"}), cep::UsageError);
    CHECK_THROWS_AS(offsets({"e@1", "e@2"}), cep::UsageError);
    CHECK_NOTHROW(offsets({"end", "end"}));
}

TEST_CASE("endpoints: the name's own settings win over the flags") {
    cep::io::KafkaOptions flags;
    flags.brokers = "flag:1";
    flags.group = "flag-group";
    flags.offsets = {"end"};
    flags.properties = {"acks=all", "linger.ms=5"};
    auto endpoint = cep::io::resolve_kafka_endpoint("kafka:t", flags);
    CHECK(endpoint.brokers == "flag:1");
    CHECK(endpoint.group == "flag-group");
    CHECK(endpoint.offsets.start == KafkaStart{Kind::end, 0});
    CHECK(endpoint.properties.size() == 2);
    CHECK(cep::io::kafka_property(endpoint, "linger.ms") == "5");

    endpoint =
        cep::io::resolve_kafka_endpoint("kafka://url:2/t?group=g&offset=beginning&linger.ms=50", flags);
    CHECK(endpoint.brokers == "url:2");
    CHECK(endpoint.group == "g");
    CHECK(endpoint.offsets.start == KafkaStart{Kind::beginning, 0});
    CHECK(cep::io::kafka_property(endpoint, "linger.ms") == "50");

    flags.brokers.clear();
    CHECK_THROWS_AS(cep::io::resolve_kafka_endpoint("kafka:t", flags), cep::UsageError);
    flags.properties = {"novalue"};
    CHECK_THROWS_AS(cep::io::check_kafka_options(flags), cep::UsageError);
    flags.properties.clear();
    flags.outage_limit = "soon";
    CHECK_THROWS_AS(cep::io::check_kafka_options(flags), cep::UsageError);
}
