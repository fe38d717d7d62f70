#pragma once
// Records from Kafka topics: each message is one NDJSON line, copied into a padded block so the
// driver parses it like file input. With a consumer group, offsets are committed only for
// records the caller has written downstream (see RecordSource::commit).

#include "cep/io/kafka_config.hpp"
#include "cep/io/record_source.hpp"

#include <memory>

namespace cep::io {

/// Checks what only an input can get wrong (offsets that contradict a group). Throws UsageError.
void check_kafka_input(const KafkaEndpoint& endpoint);

/// How a consumer group's offsets may be committed.
enum class KafkaCommits {
    /// When the caller calls commit() or close(), and for partitions a rebalance revokes, once
    /// the revoke handler has written out what they produced.
    on_commit_and_revoke,
    /// Only when the caller calls commit() or close(): for a caller that cannot write out on
    /// demand what revoked partitions produced (cep-keyby -j: records may still be in the
    /// copies' pipes). The new owner reads them again from the last commit.
    on_commit_only,
};

/// Opens a consumer for `endpoint`: subscribes with a group, else assigns every partition of
/// its topics at the requested offsets. Throws UsageError or RuntimeError.
std::unique_ptr<RecordSource> open_kafka_source(const KafkaEndpoint& endpoint, std::size_t max_line_bytes,
                                                KafkaCommits commits = KafkaCommits::on_commit_and_revoke);

} // namespace cep::io
