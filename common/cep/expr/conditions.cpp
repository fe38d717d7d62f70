// The data form of conditions: a list of {field, value, type, operator} objects, all of which
// must hold. Each condition goes through the same Builder as the text language, so both forms
// share one evaluator and one set of semantics.

#include "cep/errors.hpp"
#include "cep/expr/expression.hpp"
#include "cep/expr/node.hpp"

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

namespace cep::expr {
namespace {

using json = nlohmann::json;

/// A problem with one condition; compile_conditions adds which one.
struct ConditionError {
    std::string message;
};

enum class Op : std::uint8_t {
    equals,
    not_equals,
    greater,
    greater_or_equal,
    less,
    less_or_equal,
    in,
    not_in,
    contains,
    not_contains,
    startswith,
    endswith,
    matches,
    exists,
    not_exists,
};

struct OpName {
    std::string_view name;
    Op op;
};

constexpr OpName operator_names[] = {
    {"equals", Op::equals},
    {"not_equals", Op::not_equals},
    {"greater", Op::greater},
    {"greater_or_equal", Op::greater_or_equal},
    {"less", Op::less},
    {"less_or_equal", Op::less_or_equal},
    {"in", Op::in},
    {"not_in", Op::not_in},
    {"contains", Op::contains},
    {"not_contains", Op::not_contains},
    {"startswith", Op::startswith},
    {"endswith", Op::endswith},
    {"matches", Op::matches},
    {"exists", Op::exists},
    {"not_exists", Op::not_exists},
    // Spellings people carry over from other systems.
    {"==", Op::equals},
    {"!=", Op::not_equals},
    {">", Op::greater},
    {">=", Op::greater_or_equal},
    {"<", Op::less},
    {"<=", Op::less_or_equal},
    {"starts_with", Op::startswith},
    {"ends_with", Op::endswith},
};

constexpr std::string_view operator_list =
    "equals, not_equals, greater, greater_or_equal, less, less_or_equal, "
    "in, not_in, contains, not_contains, startswith, endswith, matches, "
    "exists, not_exists, ==, !=, >, >=, <, <=";

enum class Type : std::uint8_t { string, integer, floating, boolean, null, list };

struct TypeName {
    std::string_view name;
    Type type;
};

constexpr TypeName type_names[] = {
    {"string", Type::string},   {"str", Type::string},      {"integer", Type::integer},
    {"int", Type::integer},     {"long", Type::integer},    {"float", Type::floating},
    {"double", Type::floating}, {"number", Type::floating}, {"bool", Type::boolean},
    {"boolean", Type::boolean}, {"null", Type::null},       {"list", Type::list},
    {"array", Type::list},
};

constexpr std::string_view type_list = "string, integer, float, double, number, bool, boolean, null, list";

std::string lowercase(std::string text) {
    for (char& c : text)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return text;
}

std::string show(const json& value) {
    return value.dump();
}

/// A JSON value as a literal with the requested type (or its own, when `type` is empty).
/// String contents and raw object/array text live in `storage`, which must outlive the result.
Value coerce(const json& value, std::optional<Type> type, std::string& storage) {
    const auto fail = [&](std::string_view what) -> ConditionError {
        return ConditionError{"value " + show(value) + " " + std::string(what)};
    };
    if (!type) {
        switch (value.type()) {
        case json::value_t::string:
            storage = value.get<std::string>();
            return Value::of_string(storage);
        case json::value_t::number_integer:
            return Value::of_int(value.get<std::int64_t>());
        case json::value_t::number_unsigned: {
            const auto u = value.get<std::uint64_t>();
            if (u <= static_cast<std::uint64_t>(INT64_MAX))
                return Value::of_int(static_cast<std::int64_t>(u));
            return Value::of_double(static_cast<double>(u));
        }
        case json::value_t::number_float:
            return Value::of_double(value.get<double>());
        case json::value_t::boolean:
            return Value::of_bool(value.get<bool>());
        case json::value_t::object:
        case json::value_t::array:
            storage = value.dump();
            return Value::of_raw(value.is_object() ? Kind::object : Kind::array, storage);
        default:
            return Value::null();
        }
    }
    switch (*type) {
    case Type::string:
        if (value.is_string()) {
            storage = value.get<std::string>();
        } else if (value.is_number() || value.is_boolean()) {
            storage = value.dump(); // 1302 -> "1302"
        } else {
            throw fail("cannot be a string");
        }
        return Value::of_string(storage);
    case Type::integer: {
        if (value.is_number_integer()) {
            if (value.is_number_unsigned() &&
                value.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX))
                throw fail("does not fit a 64-bit integer");
            return Value::of_int(value.get<std::int64_t>());
        }
        if (value.is_number_float()) {
            const double d = value.get<double>();
            if (d != static_cast<double>(static_cast<std::int64_t>(d)) || d >= 9223372036854775808.0 ||
                d < -9223372036854775808.0)
                throw fail("is not an integer");
            return Value::of_int(static_cast<std::int64_t>(d));
        }
        if (value.is_string()) {
            const auto& text = value.get_ref<const std::string&>();
            std::int64_t i = 0;
            auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), i);
            if (ec == std::errc() && ptr == text.data() + text.size() && !text.empty())
                return Value::of_int(i);
        }
        throw fail("is not an integer");
    }
    case Type::floating: {
        if (value.is_number()) return Value::of_double(value.get<double>());
        if (value.is_string()) {
            const auto& text = value.get_ref<const std::string&>();
            double d = 0;
            auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), d);
            if (ec == std::errc() && ptr == text.data() + text.size() && !text.empty())
                return Value::of_double(d);
        }
        throw fail("is not a number");
    }
    case Type::boolean: {
        if (value.is_boolean()) return Value::of_bool(value.get<bool>());
        if (value.is_string()) {
            const std::string text = lowercase(value.get<std::string>());
            if (text == "true") return Value::of_bool(true);
            if (text == "false") return Value::of_bool(false);
        }
        throw fail("is not a boolean (true or false)");
    }
    case Type::null:
        if (value.is_null() || (value.is_string() && value.get_ref<const std::string&>() == "null"))
            return Value::null();
        throw fail("is not null");
    case Type::list:
        if (!value.is_array()) throw fail("is not a list");
        storage = value.dump();
        return Value::of_raw(Kind::array, storage);
    }
    return Value::null();
}

std::string field_text(const json& condition, Path& path) {
    const auto it = condition.find("field");
    if (it == condition.end()) throw ConditionError{"missing 'field'"};
    if (!it->is_string()) throw ConditionError{"'field' must be a string, got " + show(*it)};
    const auto& text = it->get_ref<const std::string&>();
    try {
        path = parse_path(text);
    } catch (const SyntaxError& e) {
        throw ConditionError{"bad field '" + text + "': " + e.what() + " at column " +
                             std::to_string(e.column)};
    }
    // The text form, readable back by compile(): a leading `.` keeps `["odd key"]` from reading as
    // a list and `in` or `true` as keywords.
    std::string out = path.to_string();
    const std::string_view first = path.steps.empty() ? "" : std::string_view(path.steps[0].key);
    const bool keyword = first == "true" || first == "false" || first == "null" || first == "and" ||
                         first == "or" || first == "not" || first == "in";
    if (out.starts_with('[') || (keyword && out.starts_with(first))) out.insert(0, ".");
    return out;
}

std::optional<Type> type_of(const json& condition) {
    const auto it = condition.find("type");
    if (it == condition.end() || it->is_null()) return std::nullopt;
    if (!it->is_string()) throw ConditionError{"'type' must be a string, got " + show(*it)};
    const std::string name = lowercase(it->get<std::string>());
    for (const auto& entry : type_names)
        if (entry.name == name) return entry.type;
    throw ConditionError{"unknown type '" + it->get<std::string>() +
                         "' (expected one of: " + std::string(type_list) + ")"};
}

Op operator_of(const json& condition) {
    const auto it = condition.find("operator");
    // Without an operator a condition reads as a plain equality: {field: event, value: kill}.
    if (it == condition.end()) return Op::equals;
    if (!it->is_string()) throw ConditionError{"'operator' must be a string, got " + show(*it)};
    const std::string name = lowercase(it->get<std::string>());
    for (const auto& entry : operator_names)
        if (entry.name == name) return entry.op;
    throw ConditionError{"unknown operator '" + it->get<std::string>() +
                         "' (expected one of: " + std::string(operator_list) + ")"};
}

const json& value_of(const json& condition, Op op) {
    static const json null_value;
    const auto it = condition.find("value");
    if (it == condition.end()) {
        if (op == Op::exists || op == Op::not_exists) return null_value;
        throw ConditionError{"missing 'value'"};
    }
    return *it;
}

NodePtr compile_condition(Builder& builder, const json& condition, std::string& source) {
    if (!condition.is_object())
        throw ConditionError{"expected an object with field, value, type and operator, got " +
                             show(condition)};
    Path path;
    const std::string field = field_text(condition, path);
    const Op op = operator_of(condition);
    const std::optional<Type> type = type_of(condition);
    const json& value = value_of(condition, op);
    std::string storage;

    switch (op) {
    case Op::exists:
    case Op::not_exists: {
        NodePtr node = builder.call("exists", [&] {
            std::vector<NodePtr> args;
            args.push_back(builder.field(path));
            return args;
        }());
        source = "exists(" + field + ")";
        if (op == Op::exists) return node;
        source = "!" + source;
        return builder.negation(std::move(node));
    }
    case Op::in:
    case Op::not_in: {
        if (!value.is_array())
            throw ConditionError{"operator '" + std::string(op == Op::in ? "in" : "not_in") +
                                 "' needs a list value, got " + show(value)};
        // A scalar type describes the items: {value: ["1", "2"], type: integer, operator: in}.
        const std::optional<Type> item_type = type == Type::list ? std::nullopt : type;
        std::vector<NodePtr> items;
        std::string list_source;
        for (const auto& item : value) {
            const Value v = coerce(item, item_type, storage);
            items.push_back(builder.literal(v));
            list_source += (list_source.empty() ? "" : ", ") + literal_source(v);
        }
        NodePtr node = builder.in_list(builder.field(path), std::move(items));
        source = field + (op == Op::in ? " in [" : " not in [") + list_source + "]";
        return op == Op::in ? std::move(node) : builder.negation(std::move(node));
    }
    default:
        break;
    }

    const Value v = coerce(value, type, storage);
    const std::string literal_text = literal_source(v);
    const auto comparison = [&](CmpOp cmp, std::string_view symbol) {
        source = field + " " + std::string(symbol) + " " + literal_text;
        return builder.compare(cmp, builder.field(path), builder.literal(v));
    };
    const auto function = [&](std::string_view name) {
        if (name != "contains" && v.kind != Kind::string)
            throw ConditionError{"operator '" + std::string(name) + "' needs a string value, got " +
                                 show(value)};
        std::vector<NodePtr> args;
        args.push_back(builder.field(path));
        args.push_back(builder.literal(v));
        source = std::string(name) + "(" + field + ", " + literal_text + ")";
        try {
            return builder.call(name, std::move(args));
        } catch (const CallError& e) {
            throw ConditionError{e.message};
        }
    };
    switch (op) {
    case Op::equals:
        return comparison(CmpOp::eq, "==");
    case Op::not_equals:
        return comparison(CmpOp::ne, "!=");
    case Op::greater:
        return comparison(CmpOp::gt, ">");
    case Op::greater_or_equal:
        return comparison(CmpOp::ge, ">=");
    case Op::less:
        return comparison(CmpOp::lt, "<");
    case Op::less_or_equal:
        return comparison(CmpOp::le, "<=");
    case Op::contains:
        return function("contains");
    case Op::not_contains: {
        NodePtr node = function("contains");
        source = "!" + source;
        return builder.negation(std::move(node));
    }
    case Op::startswith:
        return function("startswith");
    case Op::endswith:
        return function("endswith");
    case Op::matches:
        return function("matches");
    default:
        break;
    }
    throw ConditionError{"unsupported operator"};
}

} // namespace

Expression compile_conditions(const nlohmann::json& input, Schema& schema) {
    const json* list = &input;
    if (input.is_object()) {
        const auto it = input.find("conditions");
        if (it != input.end()) {
            list = &*it;
        } else if (!input.contains("field")) {
            throw UsageError(
                "conditions: expected a list of {field, value, type, operator} objects, or an object "
                "with a 'conditions' list");
        }
    }
    // A lone condition object is a list of one.
    const json single = list->is_object() ? json::array({*list}) : json();
    if (list->is_object()) list = &single;
    if (!list->is_array())
        throw UsageError("conditions: expected a list of {field, value, type, operator} objects, got " +
                         show(*list));

    Builder builder(schema);
    NodePtr root;
    std::string source;
    std::size_t index = 0;
    for (const auto& condition : *list) {
        ++index;
        std::string text;
        NodePtr node;
        try {
            node = compile_condition(builder, condition, text);
        } catch (const ConditionError& e) {
            throw UsageError("condition " + std::to_string(index) + ": " + e.message);
        }
        root = root ? builder.all(std::move(root), std::move(node)) : std::move(node);
        source += (source.empty() ? "" : " && ") + text;
    }
    // No conditions: nothing to fail, so every record matches.
    if (!root) {
        root = builder.literal(Value::of_bool(true));
        source = "true";
    }
    Expression expression;
    expression.root_ = std::move(root);
    expression.scratch_ = builder.make_scratch();
    expression.source_ = std::move(source);
    return expression;
}

} // namespace cep::expr
