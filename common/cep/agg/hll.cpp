#include "cep/agg/hll.hpp"

#include <bit>
#include <cmath>
#include <limits>
#include <string>

namespace cep::agg {
namespace {

// Ertl 2017, eq. (sigma): x + sum_{k>=1} x^(2^k) 2^(k-1), the correction for empty registers.
double sigma(double x) {
    if (x == 1.0) return std::numeric_limits<double>::infinity();
    double y = 1.0, z = x, previous = 0.0;
    do {
        x *= x;
        previous = z;
        z += x * y;
        y += y;
    } while (z != previous);
    return z;
}

// Ertl 2017, eq. (tau): the correction for registers that hit the maximum value q + 1.
double tau(double x) {
    if (x == 0.0 || x == 1.0) return 0.0;
    double y = 1.0, z = 1.0 - x, previous = 0.0;
    do {
        x = std::sqrt(x);
        previous = z;
        y *= 0.5;
        z -= (1.0 - x) * (1.0 - x) * y;
    } while (z != previous);
    return z / 3.0;
}

// Hash 0 marks an empty sparse slot; a real hash of 0 (probability 2^-64) is counted as 1.
std::uint64_t nonzero(std::uint64_t hash) {
    return hash == 0 ? 1 : hash;
}

} // namespace

HyperLogLog::HyperLogLog(int precision) : p_(precision) {
    if (precision < min_precision || precision > max_precision)
        throw RuntimeError("HyperLogLog precision must be between 4 and 18");
}

void HyperLogLog::add_hash(std::uint64_t hash) {
    if (!registers_.empty()) {
        set_register(hash);
        return;
    }
    insert_sparse(nonzero(hash));
}

void HyperLogLog::insert_sparse(std::uint64_t hash) {
    // Sparse while its table (kept at most half full) is no bigger than the dense registers:
    // m/16 hashes of 8 bytes in 2x the slots is m bytes.
    const std::size_t limit = (std::size_t{1} << p_) / 16;
    if ((sparse_count_ + 1) * 2 > sparse_.size()) {
        if (sparse_count_ + 1 > limit) {
            to_dense();
            set_register(hash);
            return;
        }
        std::vector<std::uint64_t> old = std::move(sparse_);
        sparse_.assign(old.empty() ? 8 : old.size() * 2, 0);
        sparse_count_ = 0;
        for (std::uint64_t h : old)
            if (h != 0) insert_sparse(h);
    }
    const std::size_t mask = sparse_.size() - 1;
    // The top bits are the register index; the low bits are as well mixed and spread the table.
    for (std::size_t i = static_cast<std::size_t>(hash) & mask;; i = (i + 1) & mask) {
        if (sparse_[i] == hash) return;
        if (sparse_[i] == 0) {
            sparse_[i] = hash;
            ++sparse_count_;
            return;
        }
    }
}

void HyperLogLog::to_dense() {
    registers_.assign(std::size_t{1} << p_, 0);
    for (std::uint64_t h : sparse_)
        if (h != 0) set_register(h);
    std::vector<std::uint64_t>().swap(sparse_);
    sparse_count_ = 0;
}

void HyperLogLog::merge(const HyperLogLog& other) {
    if (other.p_ != p_)
        throw RuntimeError("cannot merge HyperLogLog sketches of precision " + std::to_string(p_) + " and " +
                           std::to_string(other.p_));
    if (other.registers_.empty()) {
        for (std::uint64_t h : other.sparse_)
            if (h != 0) add_hash(h);
        return;
    }
    if (registers_.empty()) to_dense();
    for (std::size_t i = 0; i < registers_.size(); ++i)
        if (other.registers_[i] > registers_[i]) registers_[i] = other.registers_[i];
}

double HyperLogLog::estimate() const {
    if (registers_.empty()) return static_cast<double>(sparse_count_);
    const int q = 64 - p_;
    std::vector<std::uint32_t> histogram(static_cast<std::size_t>(q) + 2, 0);
    for (std::uint8_t r : registers_)
        ++histogram[r];
    const double m = static_cast<double>(registers_.size());
    double z = m * tau(1.0 - histogram[static_cast<std::size_t>(q) + 1] / m);
    for (int k = q; k >= 1; --k)
        z = 0.5 * (z + histogram[static_cast<std::size_t>(k)]);
    z += m * sigma(histogram[0] / m);
    // alpha_inf = 1 / (2 ln 2)
    return m * m / (2.0 * std::log(2.0)) / z;
}

void HyperLogLog::write(ByteWriter& out) const {
    out.u8(static_cast<std::uint8_t>(p_));
    if (registers_.empty()) {
        out.u8(0);
        out.varint(sparse_count_);
        for (std::uint64_t h : sparse_)
            if (h != 0) out.u64(h);
        return;
    }
    out.u8(1);
    // Registers hold 0..q+1 < 64: one byte each, runs of equal bytes are rare enough.
    out.raw(std::string_view(reinterpret_cast<const char*>(registers_.data()), registers_.size()));
}

HyperLogLog HyperLogLog::read(ByteReader& in) {
    const int p = in.u8();
    if (p < min_precision || p > max_precision) throw RuntimeError("corrupt HyperLogLog: bad precision");
    HyperLogLog hll(p);
    const std::uint8_t mode = in.u8();
    if (mode == 0) {
        const std::uint64_t n = in.count(8);
        for (std::uint64_t i = 0; i < n; ++i)
            hll.add_hash(in.u64());
        return hll;
    }
    if (mode != 1) throw RuntimeError("corrupt HyperLogLog: bad mode");
    const std::string_view bytes = in.raw(std::uint64_t{1} << p);
    hll.registers_.assign(bytes.begin(), bytes.end());
    for (std::uint8_t r : hll.registers_)
        if (r > 64 - p + 1) throw RuntimeError("corrupt HyperLogLog: register out of range");
    return hll;
}

} // namespace cep::agg
