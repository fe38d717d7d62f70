#pragma once
// Percentiles with a merging t-digest (Dunning & Ertl, "Computing extremely accurate quantiles
// using t-digests", 2019), scale function k1 = d/(2 pi) asin(2q - 1): centroids are small
// near the tails, so p99.9 is much more precise than p50 in absolute rank terms.
//
// Values are buffered and merged into the centroids when the buffer is full (5 x compression
// values). Until the first merge every value is kept, and percentiles are exact: linear
// interpolation between the closest ranks (numpy's default, PostgreSQL's percentile_cont).
// After it, the same interpolation runs over the centroids, each placed at the middle of the
// ranks it covers; min and max are always exact.

#include "cep/agg/binary.hpp"

#include <cstdint>
#include <limits>
#include <vector>

namespace cep::agg {

class TDigest {
  public:
    static constexpr double default_compression = 200;

    explicit TDigest(double compression = default_compression);

    void add(double value) {
        buffer_.push_back(value);
        ++count_;
        if (value < min_) min_ = value;
        if (value > max_) max_ = value;
        if (buffer_.size() >= buffer_limit_) flush();
    }
    void merge(const TDigest& other);
    /// The q-quantile, q in [0, 1]; NaN when empty.
    double quantile(double q) const;

    std::uint64_t count() const { return count_; }
    double compression() const { return compression_; }
    /// True while every value is held individually (percentiles are exact).
    bool exact() const { return centroids_.empty(); }
    std::size_t centroid_count() const {
        flush();
        return centroids_.size();
    }
    std::size_t memory() const {
        return (centroids_.capacity() + scratch_.capacity()) * sizeof(Centroid) +
               buffer_.capacity() * sizeof(double);
    }

    void write(ByteWriter& out) const;
    static TDigest read(ByteReader& in);

  private:
    struct Centroid {
        double mean;
        std::uint64_t count;
    };
    /// Merges the buffer into the centroids. Logically const: the digest's content is unchanged.
    void flush() const;
    /// Greedy merge of sorted centroids: neighbours combine while the result spans at most one
    /// unit of k1.
    void compress(std::vector<Centroid>& sorted, double total) const;
    double q_limit(double q0) const;

    double compression_;
    std::size_t buffer_limit_;
    std::uint64_t count_ = 0;
    double min_ = std::numeric_limits<double>::infinity();
    double max_ = -std::numeric_limits<double>::infinity();
    mutable std::vector<Centroid> centroids_; // sorted by mean
    mutable std::vector<double> buffer_;      // unsorted values not merged yet
    mutable std::vector<Centroid> scratch_;
};

} // namespace cep::agg
