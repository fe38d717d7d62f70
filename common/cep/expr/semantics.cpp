// The value semantics of the expression language: comparison, equality and arithmetic.
// They are written down in man/cep-expressions.md; each rule here has a unit test.

#include "cep/expr/node.hpp"

#include <cmath>
#include <limits>

namespace cep::expr {
namespace {

int sign(int c) {
    return (c > 0) - (c < 0);
}

/// Compares an int64 with a double without rounding the integer (2^53 + 1 vs 2^53 must differ).
int compare_int_double(std::int64_t i, double d) {
    if (std::isnan(d)) return unordered;
    constexpr double two63 = 9223372036854775808.0;
    if (d >= two63) return -1;
    if (d < -two63) return 1;
    // d is now within int64 range, so truncating it is exact and defined.
    const auto t = static_cast<std::int64_t>(d);
    if (i < t) return -1;
    if (i > t) return 1;
    const double fraction = d - static_cast<double>(t);
    return fraction > 0 ? -1 : fraction < 0 ? 1 : 0;
}

bool is_nullish(const Value& v) {
    return v.kind == Kind::null || v.kind == Kind::missing;
}

/// A scalar DOM element as a Value; objects and arrays keep only their kind (their callers
/// compare those structurally).
Value scalar_of(simdjson::dom::element e) {
    using simdjson::dom::element_type;
    switch (e.type()) {
    case element_type::INT64:
        return Value::of_int(e.get_int64().value_unsafe());
    case element_type::UINT64: {
        const std::uint64_t u = e.get_uint64().value_unsafe();
        if (u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
            return Value::of_int(static_cast<std::int64_t>(u));
        return Value::of_double(static_cast<double>(u));
    }
    case element_type::DOUBLE:
        return Value::of_double(e.get_double().value_unsafe());
    case element_type::STRING:
        return Value::of_string(e.get_string().value_unsafe());
    case element_type::BOOL:
        return Value::of_bool(e.get_bool().value_unsafe());
    case element_type::NULL_VALUE:
        return Value::null();
    case element_type::ARRAY:
        return Value{Kind::array};
    case element_type::OBJECT:
        return Value{Kind::object};
    }
    return Value::null();
}

bool scalar_equal(const Value& a, const Value& b) {
    if (a.is_number() && b.is_number()) return compare_numbers(a, b) == 0;
    if (is_nullish(a) || is_nullish(b)) return is_nullish(a) && is_nullish(b);
    if (a.kind != b.kind) return false;
    switch (a.kind) {
    case Kind::boolean:
        return a.boolean == b.boolean;
    case Kind::string:
        return a.text == b.text;
    default:
        return false;
    }
}

bool json_equal(simdjson::dom::element a, simdjson::dom::element b) {
    using simdjson::dom::element_type;
    const bool a_array = a.type() == element_type::ARRAY;
    const bool a_object = a.type() == element_type::OBJECT;
    if (a_array || a_object || b.type() == element_type::ARRAY || b.type() == element_type::OBJECT) {
        if (a.type() != b.type()) return false;
        if (a_array) {
            const auto xs = a.get_array().value_unsafe();
            const auto ys = b.get_array().value_unsafe();
            auto x = xs.begin();
            auto y = ys.begin();
            for (; x != xs.end() && y != ys.end(); ++x, ++y)
                if (!json_equal(*x, *y)) return false;
            return x == xs.end() && y == ys.end();
        }
        const auto xs = a.get_object().value_unsafe();
        const auto ys = b.get_object().value_unsafe();
        if (xs.size() != ys.size()) return false;
        for (const auto field : xs) {
            simdjson::dom::element other;
            if (ys.at_key(field.key).get(other) != simdjson::SUCCESS) return false;
            if (!json_equal(field.value, other)) return false;
        }
        return true;
    }
    return scalar_equal(scalar_of(a), scalar_of(b));
}

bool parse(simdjson::dom::parser& parser, std::string_view json, simdjson::dom::element& out) {
    // The text is a record's bytes or a literal's padded copy: padding follows it, no copy needed.
    return parser.parse(json.data(), json.size(), false).get(out) == simdjson::SUCCESS;
}

/// An integer operand of `%`: integers as they are, floats truncated toward zero as jq does.
bool modulo_operand(const Value& v, std::int64_t& out) {
    if (v.kind == Kind::integer) {
        out = v.integer;
        return true;
    }
    if (v.kind != Kind::floating || !std::isfinite(v.floating)) return false;
    const double t = std::trunc(v.floating);
    if (t < -9223372036854775808.0 || t >= 9223372036854775808.0) return false;
    out = static_cast<std::int64_t>(t);
    return true;
}

} // namespace

int compare_numbers(const Value& a, const Value& b) {
    if (a.kind == Kind::integer && b.kind == Kind::integer)
        return (a.integer > b.integer) - (a.integer < b.integer);
    if (a.kind == Kind::integer) return compare_int_double(a.integer, b.floating);
    if (b.kind == Kind::integer) {
        const int c = compare_int_double(b.integer, a.floating);
        return c == unordered ? c : -c;
    }
    if (std::isnan(a.floating) || std::isnan(b.floating)) return unordered;
    return (a.floating > b.floating) - (a.floating < b.floating);
}

bool equal_values(const Value& a, const Value& b, Scratch& scratch) {
    if ((a.kind == Kind::object || a.kind == Kind::array) && a.kind == b.kind) {
        if (a.text == b.text) return true; // same bytes: no need to parse
        simdjson::dom::element x;
        simdjson::dom::element y;
        if (!parse(scratch.json[0], a.text, x) || !parse(scratch.json[1], b.text, y)) return false;
        return json_equal(x, y);
    }
    return scalar_equal(a, b);
}

bool compare_values(CmpOp op, const Value& a, const Value& b, Scratch& scratch) {
    int c = 0;
    if (a.is_number() && b.is_number()) {
        c = compare_numbers(a, b);
        if (c == unordered) return op == CmpOp::ne;
    } else if (a.kind == Kind::string && b.kind == Kind::string) {
        // string_view::compare is memcmp: bytewise, unsigned.
        c = sign(a.text.compare(b.text));
    } else {
        // Only numbers and strings are ordered; everything else supports == and != only.
        if (op == CmpOp::eq) return equal_values(a, b, scratch);
        if (op == CmpOp::ne) return !equal_values(a, b, scratch);
        return false;
    }
    switch (op) {
    case CmpOp::eq:
        return c == 0;
    case CmpOp::ne:
        return c != 0;
    case CmpOp::lt:
        return c < 0;
    case CmpOp::le:
        return c <= 0;
    case CmpOp::gt:
        return c > 0;
    case CmpOp::ge:
        return c >= 0;
    }
    return false;
}

bool array_contains(std::string_view array_json, const Value& needle, Scratch& scratch) {
    simdjson::dom::element root;
    if (!parse(scratch.json[0], array_json, root)) return false;
    simdjson::dom::array items;
    if (root.get_array().get(items) != simdjson::SUCCESS) return false;
    if (needle.kind == Kind::object || needle.kind == Kind::array) {
        simdjson::dom::element wanted;
        if (!parse(scratch.json[1], needle.text, wanted)) return false;
        for (const auto item : items)
            if (json_equal(item, wanted)) return true;
        return false;
    }
    for (const auto item : items)
        if (scalar_equal(scalar_of(item), needle)) return true;
    return false;
}

Value arithmetic(ArithOp op, const Value& a, const Value& b, std::string& buffer) {
    if (op == ArithOp::add && a.kind == Kind::string && b.kind == Kind::string) {
        // Neither side can point into `buffer`: each node owns its own scratch string.
        buffer.assign(a.text);
        buffer.append(b.text);
        return Value::of_string(buffer);
    }
    if (!a.is_number() || !b.is_number()) return Value::null();
    if (op == ArithOp::mod) {
        std::int64_t x = 0;
        std::int64_t y = 0;
        if (!modulo_operand(a, x) || !modulo_operand(b, y) || y == 0) return Value::null();
        if (y == -1) return Value::of_int(0); // INT64_MIN % -1 traps
        return Value::of_int(x % y);
    }
    if (a.kind == Kind::integer && b.kind == Kind::integer) {
        std::int64_t r = 0;
        switch (op) {
        case ArithOp::add:
            if (!__builtin_add_overflow(a.integer, b.integer, &r)) return Value::of_int(r);
            break;
        case ArithOp::sub:
            if (!__builtin_sub_overflow(a.integer, b.integer, &r)) return Value::of_int(r);
            break;
        case ArithOp::mul:
            if (!__builtin_mul_overflow(a.integer, b.integer, &r)) return Value::of_int(r);
            break;
        case ArithOp::div:
            if (b.integer == 0) return Value::null();
            // Exact quotients stay integers (6 / 3 is 2); INT64_MIN / -1 overflows to a double.
            if (b.integer != -1 && a.integer % b.integer == 0) return Value::of_int(a.integer / b.integer);
            if (b.integer == -1 && a.integer != std::numeric_limits<std::int64_t>::min())
                return Value::of_int(-a.integer);
            break;
        case ArithOp::mod:
            break;
        }
        // Overflow (or an inexact quotient): fall back to doubles, as JSON numbers allow.
    }
    const double x = a.as_double();
    const double y = b.as_double();
    switch (op) {
    case ArithOp::add:
        return Value::of_double(x + y);
    case ArithOp::sub:
        return Value::of_double(x - y);
    case ArithOp::mul:
        return Value::of_double(x * y);
    case ArithOp::div:
        return y == 0 ? Value::null() : Value::of_double(x / y);
    case ArithOp::mod:
        break;
    }
    return Value::null();
}

Value negate(const Value& a) {
    if (a.kind == Kind::integer) {
        if (a.integer == std::numeric_limits<std::int64_t>::min()) return Value::of_double(-a.as_double());
        return Value::of_int(-a.integer);
    }
    if (a.kind == Kind::floating) return Value::of_double(-a.floating);
    return Value::null();
}

} // namespace cep::expr
