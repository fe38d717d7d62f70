#pragma once
// A record in flight: its original bytes plus the decoded values of the schema's paths.

#include "cep/schema.hpp"
#include "cep/time.hpp"
#include "cep/value.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace cep {

/// Where a record came from, for error messages and dead letters.
struct Origin {
    std::string_view source; // file name, `<stdin>`, or a Kafka topic/partition
    std::uint64_t line = 0;  // 1-based line number (or Kafka offset)
};

struct Record {
    std::string_view raw;          // original bytes, without the line terminator
    std::span<const Value> slots;  // one value per Schema slot
    Origin origin;
    /// The time the source gave the record, when it has one (a Kafka message's timestamp), for
    /// `--time @kafka`. Set by the driver; nullopt for files.
    std::optional<Timestamp> source_time = std::nullopt;

    const Value& operator[](Slot slot) const { return slots[slot]; }
};

} // namespace cep
