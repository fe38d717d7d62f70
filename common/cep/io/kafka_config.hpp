#pragma once
// What every Kafka input and output shares: the kcat-style flags (-b, -G, -X, --offset,
// --exit-at-end, --kafka-outage-limit), the librdkafka handles (each owned by a unique_ptr with
// its destroy function), configuration, and the broker-outage clock.

#include "cep/io/kafka_url.hpp"
#include "cep/time.hpp"

#include <chrono>
#include <librdkafka/rdkafka.h>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace CLI {
class App;
}

namespace cep::io {

/// The flags, as given on the command line; a kafka: name's own query parameters win over them.
struct KafkaOptions {
    std::string brokers;                 ///< -b
    std::string group;                   ///< -G
    std::vector<std::string> properties; ///< -X key=value
    std::vector<std::string> offsets;    ///< --offset
    bool exit_at_end = false;            ///< --exit-at-end
    std::string outage_limit = "60s";    ///< --kafka-outage-limit
};

/// Registers the Kafka flags on a tool's command line (group "Kafka").
void add_kafka_options(CLI::App& app, KafkaOptions& options);
/// Checks the flags after parsing (offset words, -X syntax, the outage limit). Throws UsageError.
void check_kafka_options(const KafkaOptions& options);

/// One Kafka input or output with the flags folded in.
struct KafkaEndpoint {
    std::string spec; ///< as written, for messages
    std::string brokers;
    std::vector<std::string> topics;
    std::string group; ///< empty: no consumer group
    KafkaOffsets offsets;
    bool exit_at_end = false;
    Duration outage_limit = 60 * nanos_per_second;
    std::vector<std::pair<std::string, std::string>> properties; ///< -X first, then the name's own
};

/// Resolves `spec` (a kafka: name) against the flags. Throws UsageError.
KafkaEndpoint resolve_kafka_endpoint(const std::string& spec, const KafkaOptions& options);

struct KafkaDeleter {
    // Consumers are closed explicitly (commit, leave the group) on the normal path; on an error
    // path the close must not call back into a driver that is being unwound.
    void operator()(rd_kafka_t* rk) const {
        rd_kafka_destroy_flags(rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    }
};
struct KafkaConfDeleter {
    void operator()(rd_kafka_conf_t* conf) const { rd_kafka_conf_destroy(conf); }
};
struct KafkaPartitionListDeleter {
    void operator()(rd_kafka_topic_partition_list_t* list) const {
        rd_kafka_topic_partition_list_destroy(list);
    }
};
struct KafkaMessageDeleter {
    void operator()(rd_kafka_message_t* message) const { rd_kafka_message_destroy(message); }
};
struct KafkaMetadataDeleter {
    void operator()(const rd_kafka_metadata_t* metadata) const { rd_kafka_metadata_destroy(metadata); }
};
struct KafkaTopicDeleter {
    void operator()(rd_kafka_topic_t* topic) const { rd_kafka_topic_destroy(topic); }
};
struct KafkaErrorDeleter {
    void operator()(rd_kafka_error_t* error) const { rd_kafka_error_destroy(error); }
};
struct KafkaQueueDeleter {
    void operator()(rd_kafka_queue_t* queue) const { rd_kafka_queue_destroy(queue); }
};
using KafkaHandle = std::unique_ptr<rd_kafka_t, KafkaDeleter>;
using KafkaConf = std::unique_ptr<rd_kafka_conf_t, KafkaConfDeleter>;
using KafkaPartitionList = std::unique_ptr<rd_kafka_topic_partition_list_t, KafkaPartitionListDeleter>;
using KafkaMessage = std::unique_ptr<rd_kafka_message_t, KafkaMessageDeleter>;
using KafkaMetadata = std::unique_ptr<const rd_kafka_metadata_t, KafkaMetadataDeleter>;
using KafkaTopic = std::unique_ptr<rd_kafka_topic_t, KafkaTopicDeleter>;
using KafkaError = std::unique_ptr<rd_kafka_error_t, KafkaErrorDeleter>;
using KafkaQueue = std::unique_ptr<rd_kafka_queue_t, KafkaQueueDeleter>;

/// Sets one property; throws UsageError with librdkafka's explanation when it is refused.
void set_kafka_property(rd_kafka_conf_t* conf, const std::string& key, const std::string& value,
                        const std::string& spec);

/// A configuration with bootstrap.servers, our defaults (`defaults`, applied first so that -X
/// and the name's own properties override them) and the endpoint's properties.
KafkaConf make_kafka_conf(const KafkaEndpoint& endpoint,
                          const std::vector<std::pair<std::string, std::string>>& defaults);

/// Creates the client; takes the configuration. Throws RuntimeError.
KafkaHandle make_kafka_handle(rd_kafka_type_t type, KafkaConf conf, const std::string& spec);

/// The value of a property as configured (e.g. auto.commit.interval.ms); empty if unset.
std::string kafka_property(const KafkaEndpoint& endpoint, std::string_view key);

/// Tracks how long every broker has been unreachable. librdkafka retries on its own; the tool
/// gives up (exit 1) only after --kafka-outage-limit of continuous outage, unlike kcat, which
/// exits as soon as all brokers are down.
class OutageClock {
  public:
    using Clock = std::chrono::steady_clock;
    explicit OutageClock(Duration limit) : limit_(limit) {}

    /// librdkafka reported that all brokers are down.
    void all_brokers_down() {
        if (!down_since_) down_since_ = Clock::now();
    }
    /// A broker answered (a message, a delivery report, metadata).
    void contact() { down_since_.reset(); }
    bool down() const { return down_since_.has_value(); }
    /// True once the outage has lasted longer than the limit.
    bool exceeded() const {
        return down_since_ && std::chrono::nanoseconds(Clock::now() - *down_since_).count() > limit_;
    }
    Duration limit() const { return limit_; }

  private:
    Duration limit_;
    std::optional<Clock::time_point> down_since_;
};

/// Asks the cluster for metadata, so a tool that is waiting out an outage notices its end even
/// when no record flows. Returns true when a broker answered.
bool probe_brokers(rd_kafka_t* rk, int timeout_ms);

/// Set by SIGINT / SIGTERM once a Kafka input or output is open: the tool stops reading, writes
/// what it holds, commits and exits 0 (kcat's behaviour; a second signal kills as usual).
bool stop_requested();
/// Installs the handlers (no SA_RESTART, so blocking reads return). Idempotent.
void install_stop_handlers();

} // namespace cep::io
