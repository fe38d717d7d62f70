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

/// Opens a consumer for `endpoint`: subscribes with a group, else assigns every partition of
/// its topics at the requested offsets. Throws UsageError or RuntimeError.
std::unique_ptr<RecordSource> open_kafka_source(const KafkaEndpoint& endpoint, std::size_t max_line_bytes);

} // namespace cep::io
