#pragma once
// Kafka's key hash and default partitioner, so that a file split by cep-keyby and a Kafka topic
// with the same number of partitions put every key in the same partition.

#include <cstdint>
#include <string_view>

namespace cep {

/// MurmurHash2 exactly as Kafka's Java client computes it (`Utils.murmur2`, seed 0x9747b28c,
/// little-endian blocks); librdkafka's `rd_murmur2` is the same function. Java returns it as a
/// signed int: cast the result to std::int32_t to compare with Java's values.
std::uint32_t murmur2(std::string_view bytes) noexcept;

/// The partition Kafka's default partitioner picks for a non-null key: the hash made positive
/// with `& 0x7fffffff` (Java's `Utils.toPositive`, not `abs`), modulo the partition count.
/// `partitions` must be at least 1.
inline std::uint32_t kafka_partition(std::string_view key, std::uint32_t partitions) noexcept {
    return (murmur2(key) & 0x7fffffffU) % partitions;
}

} // namespace cep
