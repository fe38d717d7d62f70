// HyperLogLog: exact while sparse, within its error bound beyond, lossless merges.
//
// Bound tested: at the default precision (m = 2^14, standard error 1.04/sqrt(m) = 0.81%) the
// relative error is at most 2.5% (3 standard errors) for every single estimate, and the RMS
// error over repeated trials is at most 1.2% (1.5 standard errors, allowing for trial noise).

#include "cep/agg/hash.hpp"
#include "cep/agg/hll.hpp"
#include "cep/agg/value_key.hpp"

#include <cmath>
#include <doctest/doctest.h>
#include <string>

using namespace cep;
using namespace cep::agg;

namespace {

std::uint64_t hash_of(std::int64_t i) {
    std::string key;
    append_value_key(key, Value::of_int(i));
    return hash_bytes(key);
}

double relative_error(const HyperLogLog& hll, double n) {
    return std::fabs(hll.estimate() - n) / n;
}

} // namespace

TEST_CASE("HLL: empty, exact while sparse, duplicates ignored") {
    HyperLogLog hll;
    CHECK(hll.estimate() == 0);
    for (int round = 0; round < 3; ++round)
        for (int i = 0; i < 1000; ++i)
            hll.add_hash(hash_of(i));
    CHECK(hll.sparse());
    CHECK(hll.estimate() == 1000);
    // Small sketches are small.
    HyperLogLog few;
    for (int i = 0; i < 3; ++i)
        few.add_hash(hash_of(i));
    CHECK(few.memory() <= 64 + 8 * 8);
}

TEST_CASE("HLL: error within bound at 1e3, 1e5 and 1e6 distinct values") {
    for (const std::int64_t n : {1'000, 2'000, 5'000, 20'000, 100'000, 1'000'000}) {
        HyperLogLog hll;
        for (std::int64_t i = 0; i < n; ++i)
            hll.add_hash(hash_of(i + 7 * n));
        CAPTURE(n);
        CAPTURE(hll.estimate());
        CHECK(relative_error(hll, static_cast<double>(n)) <= 0.025);
    }
}

TEST_CASE("HLL: RMS error over independent trials matches 1.04/sqrt(m)") {
    for (const int precision : {10, 14}) {
        const double m = std::pow(2.0, precision);
        const double standard_error = 1.04 / std::sqrt(m);
        const std::int64_t n = 50'000;
        double squares = 0;
        const int trials = 20;
        for (int t = 0; t < trials; ++t) {
            HyperLogLog hll(precision);
            for (std::int64_t i = 0; i < n; ++i)
                hll.add_hash(hash_of(static_cast<std::int64_t>(t) * 1'000'000'000 + i));
            const double e = relative_error(hll, static_cast<double>(n));
            squares += e * e;
            CHECK(e <= 3.5 * standard_error);
        }
        const double rms = std::sqrt(squares / trials);
        CAPTURE(precision);
        CAPTURE(rms);
        CHECK(rms <= 1.5 * standard_error);
    }
}

TEST_CASE("HLL: merge equals the sketch of the union") {
    HyperLogLog a, b, whole;
    for (std::int64_t i = 0; i < 300'000; ++i) {
        const std::uint64_t h = hash_of(i);
        whole.add_hash(h);
        if (i < 200'000) a.add_hash(h);
        if (i >= 100'000) b.add_hash(h);
    }
    HyperLogLog merged = a;
    merged.merge(b);
    CHECK(merged.estimate() == whole.estimate());
    // Sparse into dense and dense into sparse.
    HyperLogLog small;
    for (std::int64_t i = 0; i < 10; ++i)
        small.add_hash(hash_of(i));
    HyperLogLog big = whole;
    big.merge(small);
    CHECK(big.estimate() == whole.estimate());
    small.merge(whole);
    CHECK(small.estimate() == whole.estimate());
    // Two sparse sketches stay exact.
    HyperLogLog x, y;
    for (std::int64_t i = 0; i < 300; ++i)
        x.add_hash(hash_of(i));
    for (std::int64_t i = 200; i < 600; ++i)
        y.add_hash(hash_of(i));
    x.merge(y);
    CHECK(x.estimate() == 600);
    HyperLogLog other_precision(12);
    CHECK_THROWS(x.merge(other_precision));
}

TEST_CASE("HLL: serialization round trip, sparse and dense") {
    for (const std::int64_t n : {0, 5, 100'000}) {
        HyperLogLog hll;
        for (std::int64_t i = 0; i < n; ++i)
            hll.add_hash(hash_of(i));
        std::string bytes;
        ByteWriter out(bytes);
        hll.write(out);
        ByteReader in(bytes);
        const HyperLogLog copy = HyperLogLog::read(in);
        CHECK(in.done());
        CHECK(copy.estimate() == hll.estimate());
        CHECK(copy.sparse() == hll.sparse());
    }
}
