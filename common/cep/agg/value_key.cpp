#include "cep/agg/value_key.hpp"

#include "cep/agg/binary.hpp"
#include "cep/json_writer.hpp"

#include <bit>
#include <cmath>

namespace cep::agg {
namespace {

constexpr double two_pow_63 = 9223372036854775808.0;

void put_u64(std::string& out, std::uint64_t v) {
    char buf[8];
    for (int i = 0; i < 8; ++i)
        buf[i] = static_cast<char>((v >> (8 * i)) & 0xff);
    out.append(buf, 8);
}

void put_varint(std::string& out, std::uint64_t v) {
    while (v >= 0x80) {
        out += static_cast<char>((v & 0x7f) | 0x80);
        v >>= 7;
    }
    out += static_cast<char>(v);
}

void put_bytes(std::string& out, KeyTag tag, std::string_view bytes) {
    out += static_cast<char>(tag);
    put_varint(out, bytes.size());
    out.append(bytes);
}

int compare_numbers(const Value& a, const Value& b) {
    if (a.kind == Kind::integer && b.kind == Kind::integer)
        return (a.integer > b.integer) - (a.integer < b.integer);
    // long double holds every int64 exactly on x86-64, so mixed comparisons are exact there.
    const long double x = a.kind == Kind::integer ? static_cast<long double>(a.integer) : a.floating;
    const long double y = b.kind == Kind::integer ? static_cast<long double>(b.integer) : b.floating;
    return (x > y) - (x < y);
}

int order_of(Kind kind) {
    switch (kind) {
    case Kind::missing:
        return 0;
    case Kind::null:
        return 1;
    case Kind::boolean:
        return 2;
    case Kind::integer:
    case Kind::floating:
        return 4;
    case Kind::string:
        return 6;
    case Kind::array:
        return 7;
    case Kind::object:
        return 8;
    }
    return 9;
}

} // namespace

void append_any_value_key(std::string& out, const Value& value) {
    switch (value.kind) {
    case Kind::missing:
        out += static_cast<char>(KeyTag::missing);
        return;
    case Kind::null:
        out += static_cast<char>(KeyTag::null);
        return;
    case Kind::boolean:
        out += static_cast<char>(value.boolean ? KeyTag::true_ : KeyTag::false_);
        return;
    case Kind::integer:
        out += static_cast<char>(KeyTag::integer);
        put_u64(out, static_cast<std::uint64_t>(value.integer));
        return;
    case Kind::floating: {
        const double d = value.floating;
        // Whole numbers are one value however they are spelled (1, 1.0, 1e0; also -0.0).
        if (d == std::trunc(d) && d >= -two_pow_63 && d < two_pow_63) {
            out += static_cast<char>(KeyTag::integer);
            put_u64(out, static_cast<std::uint64_t>(static_cast<std::int64_t>(d)));
        } else {
            out += static_cast<char>(KeyTag::floating);
            put_u64(out, std::bit_cast<std::uint64_t>(d));
        }
        return;
    }
    case Kind::string:
        put_bytes(out, KeyTag::string, value.text);
        return;
    case Kind::array:
        put_bytes(out, KeyTag::array, value.text);
        return;
    case Kind::object:
        put_bytes(out, KeyTag::object, value.text);
        return;
    }
}

Value read_value_key(std::string_view key, std::size_t& pos) {
    ByteReader reader(key.substr(pos));
    const auto tag = static_cast<KeyTag>(reader.u8());
    Value value;
    switch (tag) {
    case KeyTag::missing:
        break;
    case KeyTag::null:
        value = Value::null();
        break;
    case KeyTag::false_:
        value = Value::of_bool(false);
        break;
    case KeyTag::true_:
        value = Value::of_bool(true);
        break;
    case KeyTag::integer:
        value = Value::of_int(static_cast<std::int64_t>(reader.u64()));
        break;
    case KeyTag::floating:
        value = Value::of_double(reader.f64());
        break;
    case KeyTag::string:
        value = Value::of_string(reader.bytes());
        break;
    case KeyTag::array:
        value = Value::of_raw(Kind::array, reader.bytes());
        break;
    case KeyTag::object:
        value = Value::of_raw(Kind::object, reader.bytes());
        break;
    default:
        throw RuntimeError("corrupt value key: unknown tag");
    }
    pos += reader.position();
    return value;
}

int compare_value_keys(std::string_view a, std::size_t& pos_a, std::string_view b, std::size_t& pos_b) {
    const Value x = read_value_key(a, pos_a);
    const Value y = read_value_key(b, pos_b);
    const int ox = order_of(x.kind), oy = order_of(y.kind);
    if (ox != oy) return ox < oy ? -1 : 1;
    switch (x.kind) {
    case Kind::boolean:
        return static_cast<int>(x.boolean) - static_cast<int>(y.boolean);
    case Kind::integer:
    case Kind::floating:
        return compare_numbers(x, y);
    case Kind::string:
    case Kind::array:
    case Kind::object: {
        const int c = x.text.compare(y.text);
        return (c > 0) - (c < 0);
    }
    default:
        return 0;
    }
}

int compare_key_sequences(std::string_view a, std::string_view b) {
    std::size_t pa = 0, pb = 0;
    while (pa < a.size() && pb < b.size()) {
        if (const int c = compare_value_keys(a, pa, b, pb)) return c;
    }
    return (pa < a.size()) - (pb < b.size());
}

void append_value_json(std::string& out, const Value& value) {
    switch (value.kind) {
    case Kind::missing:
    case Kind::null:
        out += "null";
        return;
    case Kind::boolean:
        out += value.boolean ? "true" : "false";
        return;
    case Kind::integer:
        append_json_number(out, value.integer);
        return;
    case Kind::floating:
        append_json_number(out, value.floating);
        return;
    case Kind::string:
        append_json_string(out, value.text);
        return;
    case Kind::array:
    case Kind::object:
        out.append(value.text);
        return;
    }
}

} // namespace cep::agg
