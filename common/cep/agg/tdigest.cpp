#include "cep/agg/tdigest.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace cep::agg {

TDigest::TDigest(double compression)
    : compression_(compression), buffer_limit_(static_cast<std::size_t>(5 * compression)) {
    if (!(compression >= 10 && compression <= 10000))
        throw RuntimeError("t-digest compression must be 10..10000");
}

double TDigest::q_limit(double q0) const {
    // k1(q) = d/(2 pi) asin(2q - 1); the next centroid may reach k1^-1(k1(q0) + 1).
    const double k = compression_ / (2 * std::numbers::pi) * std::asin(std::clamp(2 * q0 - 1, -1.0, 1.0)) + 1;
    if (k >= compression_ / 4) return 1.0; // less than one unit of k is left before q = 1
    return (std::sin(k * 2 * std::numbers::pi / compression_) + 1) / 2;
}

void TDigest::compress(std::vector<Centroid>& c, double total) const {
    if (c.empty()) return;
    std::size_t out = 0;
    Centroid current = c[0];
    double q0 = 0;
    double limit = q_limit(q0);
    for (std::size_t i = 1; i < c.size(); ++i) {
        const double q = q0 + static_cast<double>(current.count + c[i].count) / total;
        if (q <= limit) {
            current.count += c[i].count;
            current.mean += (c[i].mean - current.mean) * static_cast<double>(c[i].count) /
                            static_cast<double>(current.count);
        } else {
            c[out++] = current;
            q0 += static_cast<double>(current.count) / total;
            limit = q_limit(q0);
            current = c[i];
        }
    }
    c[out++] = current;
    c.resize(out);
}

void TDigest::flush() const {
    if (buffer_.empty()) return;
    std::sort(buffer_.begin(), buffer_.end());
    scratch_.clear();
    scratch_.reserve(buffer_.size() + centroids_.size());
    // Merge the sorted buffer with the sorted centroids, then compress in one pass.
    std::size_t i = 0, j = 0;
    while (i < buffer_.size() || j < centroids_.size()) {
        if (j == centroids_.size() || (i < buffer_.size() && buffer_[i] < centroids_[j].mean))
            scratch_.push_back({buffer_[i++], 1});
        else
            scratch_.push_back(centroids_[j++]);
    }
    buffer_.clear();
    compress(scratch_, static_cast<double>(count_));
    centroids_.swap(scratch_);
}

void TDigest::merge(const TDigest& other) {
    if (other.count_ == 0) return;
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
    if (exact() && other.exact() && count_ + other.count_ < buffer_limit_) {
        // Both still hold every value: stay exact.
        buffer_.insert(buffer_.end(), other.buffer_.begin(), other.buffer_.end());
        count_ += other.count_;
        return;
    }
    flush();
    other.flush();
    count_ += other.count_;
    scratch_.clear();
    scratch_.reserve(centroids_.size() + other.centroids_.size());
    std::merge(centroids_.begin(), centroids_.end(), other.centroids_.begin(), other.centroids_.end(),
               std::back_inserter(scratch_),
               [](const Centroid& a, const Centroid& b) { return a.mean < b.mean; });
    compress(scratch_, static_cast<double>(count_));
    centroids_.swap(scratch_);
}

double TDigest::quantile(double q) const {
    if (count_ == 0) return std::numeric_limits<double>::quiet_NaN();
    q = std::clamp(q, 0.0, 1.0);
    const double n = static_cast<double>(count_);
    // Target position in 0-based rank space: 0 is the minimum, n - 1 the maximum.
    const double rank = q * (n - 1);
    if (centroids_.empty()) {
        std::sort(buffer_.begin(), buffer_.end());
        const auto below = static_cast<std::size_t>(std::floor(rank));
        if (below + 1 >= buffer_.size()) return buffer_.back();
        const double t = rank - static_cast<double>(below);
        return buffer_[below] + t * (buffer_[below + 1] - buffer_[below]);
    }
    flush();
    // Each centroid sits at the middle of the ranks it covers; interpolate linearly between
    // neighbours, and between the exact min/max and the outermost centroids.
    double previous_center = 0;
    double previous_value = min_;
    double before = 0;
    for (const Centroid& c : centroids_) {
        const double center = before + (static_cast<double>(c.count) - 1) / 2;
        if (rank <= center) {
            if (center <= previous_center) return std::clamp(c.mean, min_, max_);
            const double t = (rank - previous_center) / (center - previous_center);
            return std::clamp(previous_value + t * (c.mean - previous_value), min_, max_);
        }
        previous_center = center;
        previous_value = c.mean;
        before += static_cast<double>(c.count);
    }
    const double last = n - 1;
    if (last <= previous_center) return std::clamp(previous_value, min_, max_);
    const double t = (rank - previous_center) / (last - previous_center);
    return std::clamp(previous_value + t * (max_ - previous_value), min_, max_);
}

void TDigest::write(ByteWriter& out) const {
    out.f64(compression_);
    out.varint(count_);
    if (count_ == 0) return;
    out.f64(min_);
    out.f64(max_);
    out.varint(centroids_.size());
    for (const Centroid& c : centroids_) {
        out.f64(c.mean);
        out.varint(c.count);
    }
    out.varint(buffer_.size());
    for (double v : buffer_)
        out.f64(v);
}

TDigest TDigest::read(ByteReader& in) {
    const double compression = in.f64();
    if (!(compression >= 10 && compression <= 10000)) throw RuntimeError("corrupt t-digest: bad compression");
    TDigest digest(compression);
    digest.count_ = in.varint();
    if (digest.count_ == 0) return digest;
    digest.min_ = in.f64();
    digest.max_ = in.f64();
    const std::uint64_t centroids = in.count(9);
    std::uint64_t total = 0;
    digest.centroids_.reserve(centroids);
    for (std::uint64_t i = 0; i < centroids; ++i) {
        const double mean = in.f64();
        const std::uint64_t count = in.varint();
        if (count == 0 || (!digest.centroids_.empty() && mean < digest.centroids_.back().mean))
            throw RuntimeError("corrupt t-digest: bad centroid");
        digest.centroids_.push_back({mean, count});
        total += count;
    }
    const std::uint64_t buffered = in.count(8);
    digest.buffer_.reserve(buffered);
    for (std::uint64_t i = 0; i < buffered; ++i)
        digest.buffer_.push_back(in.f64());
    if (total + buffered != digest.count_ || !(digest.min_ <= digest.max_))
        throw RuntimeError("corrupt t-digest: counts do not add up");
    return digest;
}

} // namespace cep::agg
