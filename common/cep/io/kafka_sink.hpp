#pragma once
// Records to a Kafka topic: one record per message, the record's key (cep-keyby's) as the message
// key, idempotent, and no exit 0 unless every record was delivered.

#include "cep/io/kafka_config.hpp"
#include "cep/io/sink.hpp"

#include <memory>

namespace cep::io {

/// Checks what only an output can get wrong (several topics, a group). Throws UsageError.
void check_kafka_output(const KafkaEndpoint& endpoint);

/// Opens a producer for `endpoint` (one topic). Throws UsageError or RuntimeError.
std::unique_ptr<RecordSink> open_kafka_sink(const KafkaEndpoint& endpoint);

} // namespace cep::io
