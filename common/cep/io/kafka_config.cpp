#include "cep/io/kafka_config.hpp"

#include "cep/errors.hpp"

#include <CLI/CLI.hpp>
#include <csignal>

namespace cep::io {
namespace {

volatile std::sig_atomic_t stop_flag = 0;
void on_stop_signal(int) {
    stop_flag = 1;
}

std::pair<std::string, std::string> split_property(const std::string& text) {
    const auto eq = text.find('=');
    if (eq == std::string::npos || eq == 0)
        throw UsageError("-X: expected key=value (a librdkafka property), got '" + text + "'");
    return {text.substr(0, eq), text.substr(eq + 1)};
}

} // namespace

void add_kafka_options(CLI::App& app, KafkaOptions& options) {
    const std::string group = "Kafka";
    app.add_option("-b,--brokers", options.brokers,
                   "Kafka bootstrap brokers (host:port,...) for inputs and outputs named kafka:TOPIC")
        ->type_name("BROKERS")
        ->group(group);
    app.add_option(
           "-G,--group", options.group,
           "Consume Kafka inputs in consumer group GROUP and commit offsets after the output is written")
        ->type_name("GROUP")
        ->group(group);
    app.add_option("-X,--kafka-property", options.properties,
                   "Set a librdkafka property for Kafka inputs and outputs (repeatable)")
        ->type_name("KEY=VALUE")
        ->group(group);
    app.add_option("--offset", options.offsets,
                   "Where Kafka inputs start: beginning, end, stored, N, -N (N before the end), s@TS; "
                   "e@TS stops (TS: epoch ms or RFC 3339)")
        ->type_name("OFFSET")
        ->group(group);
    app.add_flag("--exit-at-end", options.exit_at_end,
                 "Stop Kafka inputs at the end offsets seen when they start (as kcat -e)")
        ->group(group);
    app.add_option("--kafka-outage-limit", options.outage_limit,
                   "Exit 1 when no Kafka broker has been reachable for DURATION (default 60s)")
        ->type_name("DURATION")
        ->group(group);
}

void check_kafka_options(const KafkaOptions& options) {
    KafkaOffsets offsets;
    for (const auto& word : options.offsets)
        parse_kafka_offset(word, offsets);
    for (const auto& property : options.properties)
        (void)split_property(property);
    const auto limit = parse_duration(options.outage_limit);
    if (!limit || *limit <= 0)
        throw UsageError("--kafka-outage-limit: not a positive duration: '" + options.outage_limit + "'");
}

KafkaEndpoint resolve_kafka_endpoint(const std::string& spec, const KafkaOptions& options) {
    const KafkaUrl url = parse_kafka_url(spec);
    KafkaEndpoint endpoint;
    endpoint.spec = spec;
    endpoint.brokers = url.brokers.empty() ? options.brokers : url.brokers;
    if (endpoint.brokers.empty())
        throw UsageError("'" + spec + "': no brokers (write kafka://HOST:PORT/TOPIC, or give -b HOST:PORT)");
    endpoint.topics = url.topics;
    endpoint.group = url.group ? *url.group : options.group;
    // The name's own offsets replace the flags' rather than mixing with them.
    for (const auto& word : url.offsets.empty() ? options.offsets : url.offsets)
        parse_kafka_offset(word, endpoint.offsets, url.offsets.empty() ? "--offset" : "offset=");
    endpoint.exit_at_end = url.exit_at_end || options.exit_at_end;
    endpoint.outage_limit = parse_duration(options.outage_limit).value_or(60 * nanos_per_second);
    for (const auto& property : options.properties)
        endpoint.properties.push_back(split_property(property));
    for (const auto& property : url.properties)
        endpoint.properties.push_back(property);
    return endpoint;
}

void set_kafka_property(rd_kafka_conf_t* conf, const std::string& key, const std::string& value,
                        const std::string& spec) {
    char errstr[512];
    if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), errstr, sizeof errstr) != RD_KAFKA_CONF_OK)
        throw UsageError("'" + spec + "': " + key + "=" + value + ": " + errstr);
}

KafkaConf make_kafka_conf(const KafkaEndpoint& endpoint,
                          const std::vector<std::pair<std::string, std::string>>& defaults) {
    KafkaConf conf(rd_kafka_conf_new());
    set_kafka_property(conf.get(), "bootstrap.servers", endpoint.brokers, endpoint.spec);
    set_kafka_property(conf.get(), "client.id", "cep", endpoint.spec);
    for (const auto& [key, value] : defaults)
        set_kafka_property(conf.get(), key, value, endpoint.spec);
    for (const auto& [key, value] : endpoint.properties)
        set_kafka_property(conf.get(), key, value, endpoint.spec);
    return conf;
}

KafkaHandle make_kafka_handle(rd_kafka_type_t type, KafkaConf conf, const std::string& spec) {
    char errstr[512];
    KafkaHandle rk(rd_kafka_new(type, conf.get(), errstr, sizeof errstr));
    if (!rk) throw RuntimeError(spec + ": cannot create the Kafka client: " + errstr);
    (void)conf.release(); // rd_kafka_new took ownership on success
    return rk;
}

std::string kafka_property(const KafkaEndpoint& endpoint, std::string_view key) {
    std::string value;
    for (const auto& [name, text] : endpoint.properties)
        if (name == key) value = text;
    return value;
}

bool probe_brokers(rd_kafka_t* rk, int timeout_ms) {
    const rd_kafka_metadata_t* metadata = nullptr;
    // Metadata for no topic at all: the cheapest request that proves a broker answers.
    const auto err = rd_kafka_metadata(rk, 0, nullptr, &metadata, timeout_ms);
    KafkaMetadata owned(metadata);
    return err == RD_KAFKA_RESP_ERR_NO_ERROR;
}

bool stop_requested() {
    return stop_flag != 0;
}

void install_stop_handlers() {
    static bool installed = false;
    if (installed) return;
    installed = true;
    struct sigaction action {};
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    // Once: a second Ctrl-C kills a tool that is stuck draining. No SA_RESTART: a blocking
    // read or poll returns EINTR and the loop sees the flag.
    action.sa_flags = SA_RESETHAND;
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);
}

} // namespace cep::io
