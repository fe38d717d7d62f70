#pragma once
// The one 64-bit hash behind group lookup, HyperLogLog and the exact sets: XXH3 (xxhash,
// Debian's libxxhash-dev), inlined so hashing a short key costs a few nanoseconds and its bits
// are well mixed, which HyperLogLog's accuracy depends on.

#include <cstdint>
#include <string_view>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace cep::agg {

inline std::uint64_t hash_bytes(std::string_view bytes) {
    return XXH3_64bits(bytes.data(), bytes.size());
}

} // namespace cep::agg
