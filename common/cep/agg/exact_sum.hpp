#pragma once
// Double-double arithmetic (about 106 bits of significand) for sums of floating-point values.
// Summing in this precision and rounding once at the end gives the correctly rounded sum in all
// but pathological cases, whatever the order of the additions, so a sum merged from partial
// runs prints the same digits as one pass over the whole input.

#include <cmath>
#include <cstdint>

namespace cep::agg {

struct DoubleDouble {
    double hi = 0;
    double lo = 0;

    /// Knuth's TwoSum: s + err == a + b exactly.
    static DoubleDouble two_sum(double a, double b) {
        const double s = a + b;
        const double bb = s - a;
        return {s, (a - (s - bb)) + (b - bb)};
    }
    /// Requires |a| >= |b| (or a == 0).
    static DoubleDouble fast_two_sum(double a, double b) {
        const double s = a + b;
        return {s, b - (s - a)};
    }
    static DoubleDouble of(double x) { return {x, 0}; }
    static DoubleDouble of(std::int64_t i) {
        const double hi = static_cast<double>(i);
        // The rounding error of the conversion, computed in 128 bits so that i near 2^63 works.
        const auto rest = static_cast<__int128>(i) - static_cast<__int128>(hi);
        return {hi, static_cast<double>(rest)};
    }
    /// x * x exactly, with a fused multiply-add for the low part.
    static DoubleDouble square(double x) {
        const double p = x * x;
        return {p, std::fma(x, x, -p)};
    }

    void add(double x) {
        DoubleDouble s = two_sum(hi, x);
        s.lo += lo;
        *this = fast_two_sum(s.hi, s.lo);
    }
    void add(const DoubleDouble& x) {
        DoubleDouble s = two_sum(hi, x.hi);
        s.lo += lo + x.lo;
        *this = fast_two_sum(s.hi, s.lo);
    }
    DoubleDouble operator-() const { return {-hi, -lo}; }
    DoubleDouble times(const DoubleDouble& x) const {
        const double p = hi * x.hi;
        const double e = std::fma(hi, x.hi, -p) + (hi * x.lo + lo * x.hi);
        return fast_two_sum(p, e);
    }
    DoubleDouble divided_by(double d) const {
        const double q1 = hi / d;
        // Remainder (this - q1 * d) in double-double, then one correction term.
        const double p = q1 * d;
        const double pe = std::fma(q1, d, -p);
        DoubleDouble r = two_sum(hi, -p);
        r.lo += lo - pe;
        const double q2 = (r.hi + r.lo) / d;
        return fast_two_sum(q1, q2);
    }
    double value() const { return hi + lo; }
};

} // namespace cep::agg
