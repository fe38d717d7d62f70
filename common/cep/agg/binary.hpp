#pragma once
// Compact binary encoding for aggregate states: operator snapshots and the sketches cep-agg
// writes with --sketches. Little-endian fixed-width fields and LEB128 varints; the reader checks
// every length, because sketches come back from files that may be truncated or edited.

#include "cep/errors.hpp"

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace cep::agg {

class ByteWriter {
  public:
    explicit ByteWriter(std::string& out) : out_(out) {}

    void u8(std::uint8_t v) { out_ += static_cast<char>(v); }
    void varint(std::uint64_t v) {
        while (v >= 0x80) {
            out_ += static_cast<char>((v & 0x7f) | 0x80);
            v >>= 7;
        }
        out_ += static_cast<char>(v);
    }
    /// Zig-zag, so small negative numbers stay short.
    void svarint(std::int64_t v) {
        varint((static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63));
    }
    void u64(std::uint64_t v) {
        for (int i = 0; i < 8; ++i)
            out_ += static_cast<char>((v >> (8 * i)) & 0xff);
    }
    void f64(double v) { u64(std::bit_cast<std::uint64_t>(v)); }
    void bytes(std::string_view v) {
        varint(v.size());
        out_.append(v);
    }
    void raw(std::string_view v) { out_.append(v); }

  private:
    std::string& out_;
};

class ByteReader {
  public:
    explicit ByteReader(std::string_view in) : in_(in) {}

    std::uint8_t u8() {
        need(1);
        return static_cast<std::uint8_t>(in_[pos_++]);
    }
    std::uint64_t varint() {
        std::uint64_t v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            const std::uint8_t b = u8();
            v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
            if ((b & 0x80) == 0) return v;
        }
        throw RuntimeError("corrupt state: varint too long");
    }
    std::int64_t svarint() {
        const std::uint64_t v = varint();
        return static_cast<std::int64_t>((v >> 1) ^ (~(v & 1) + 1));
    }
    std::uint64_t u64() {
        need(8);
        std::uint64_t v = 0;
        for (int i = 0; i < 8; ++i)
            v |= static_cast<std::uint64_t>(static_cast<std::uint8_t>(in_[pos_ + i])) << (8 * i);
        pos_ += 8;
        return v;
    }
    double f64() { return std::bit_cast<double>(u64()); }
    std::string_view bytes() {
        const std::uint64_t n = varint();
        return raw(n);
    }
    std::string_view raw(std::uint64_t n) {
        need(n);
        std::string_view v = in_.substr(pos_, static_cast<std::size_t>(n));
        pos_ += static_cast<std::size_t>(n);
        return v;
    }
    /// A count that is about to size an allocation: at most the bytes left (each item takes
    /// at least `min_item_bytes`), so a corrupt sketch cannot ask for terabytes.
    std::uint64_t count(std::size_t min_item_bytes = 1) {
        const std::uint64_t n = varint();
        if (min_item_bytes > 0 && n > remaining() / min_item_bytes)
            throw RuntimeError("corrupt state: bad count");
        return n;
    }

    std::size_t remaining() const { return in_.size() - pos_; }
    bool done() const { return pos_ == in_.size(); }
    std::size_t position() const { return pos_; }

  private:
    void need(std::uint64_t n) const {
        if (n > in_.size() - pos_) throw RuntimeError("corrupt state: truncated");
    }

    std::string_view in_;
    std::size_t pos_ = 0;
};

/// Standard base64 (RFC 4648, with padding), the inverse of cep::base64_encode.
/// Returns false on characters outside the alphabet or a bad length.
bool base64_decode(std::string_view text, std::string& out);

} // namespace cep::agg
