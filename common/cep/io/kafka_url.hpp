#pragma once
// Kafka inputs and outputs as names: `kafka://BROKERS/TOPIC[,TOPIC]?group=G&offset=...`, or
// `kafka:TOPIC` / `kafka://TOPIC` with the brokers given by -b, plus kcat's offset vocabulary.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cep::io {

/// Where a consumer starts in each partition (kcat's -o).
struct KafkaStart {
    enum class Kind {
        stored,    ///< the group's committed offset (needs a group)
        beginning, ///< the oldest retained record
        end,       ///< only records produced from now on
        absolute,  ///< `value` is an offset
        from_end,  ///< `value` records before the end (kcat's -N)
        time,      ///< the first record with a timestamp >= `value` ms (s@TS)
    };
    Kind kind = Kind::beginning;
    std::int64_t value = 0;
    bool operator==(const KafkaStart&) const = default;
};

/// The offsets a consumer was given: a start and, optionally, a stop time (e@TS, exclusive).
struct KafkaOffsets {
    std::optional<KafkaStart> start; ///< nullopt: the default (stored with a group, else beginning)
    std::optional<std::int64_t> stop_time_ms;
};

/// Adds one offset word to `offsets`: beginning, end, stored, N, -N, s@TS or e@TS, where TS is
/// epoch milliseconds or an RFC 3339 time. Throws UsageError naming `what` on a bad word or a
/// second start.
void parse_kafka_offset(std::string_view word, KafkaOffsets& offsets, std::string_view what = "--offset");

/// True when `spec` names Kafka (`kafka:` or `kafka://`), as opposed to a file.
bool is_kafka_spec(std::string_view spec);

/// A parsed Kafka name. Empty `brokers` means "from -b".
struct KafkaUrl {
    std::string brokers;
    std::vector<std::string> topics;
    std::optional<std::string> group;
    std::vector<std::string> offsets; ///< offset= words, in order
    bool exit_at_end = false;
    /// Any other query parameter is a librdkafka property (`?compression.type=zstd`).
    std::vector<std::pair<std::string, std::string>> properties;
};

/// Parses `kafka://BROKERS/TOPICS?QUERY`, `kafka://TOPICS?QUERY` or `kafka:TOPICS?QUERY`.
/// Query values are percent-decoded (`%2B` for a `+` in an RFC 3339 offset). Throws UsageError.
KafkaUrl parse_kafka_url(std::string_view spec);

} // namespace cep::io
