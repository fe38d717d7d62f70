#include "cep/record_parser.hpp"

#include <cstring>

namespace cep {

using namespace simdjson;

namespace {

/// The key of a field without copying it, unless it contains escapes. `end` bounds the search.
error_code key_of(ondemand::field& field, const char* end, std::string_view& key) {
    const char* start = field.key().raw();
    const auto* quote = static_cast<const char*>(std::memchr(start, '"', static_cast<std::size_t>(end - start)));
    if (quote == nullptr) return TAPE_ERROR;
    // An escaped quote stops the search early, but then a backslash precedes it: take the slow path.
    if (std::memchr(start, '\\', static_cast<std::size_t>(quote - start)) == nullptr) {
        key = std::string_view(start, static_cast<std::size_t>(quote - start));
        return SUCCESS;
    }
    return field.unescaped_key().get(key);
}

} // namespace

bool RecordParser::fail(error_code error, ParseFailure& failure) {
    failure.reason = error_message(error);
    failure.column = 0;
    return false;
}

bool RecordParser::parse(std::string_view line, ParseFailure& failure) {
    line_ = line;
    slots_.assign(schema_.slot_count(), Value{});
    nested_used_ = 0;
    if (const void* nul = std::memchr(line.data(), '\0', line.size())) {
        failure.reason = "NUL byte in record";
        failure.column = static_cast<std::size_t>(static_cast<const char*>(nul) - line.data()) + 1;
        return false;
    }
    ondemand::document doc;
    if (auto error = parser_.iterate(line.data(), line.size(), line.size() + SIMDJSON_PADDING).get(doc))
        return fail(error, failure);
    ondemand::object object;
    if (auto error = doc.get_object().get(object)) {
        if (error == INCORRECT_TYPE) {
            failure.reason = "not a JSON object";
            failure.column = 1;
            return false;
        }
        return fail(error, failure);
    }
    const auto& root = schema_.nodes()[0];
    if (root.slot >= 0) slots_[static_cast<std::size_t>(root.slot)] = Value::of_raw(Kind::object, line);
    if (!walk_object(object, 0, failure)) {
        const char* at = nullptr;
        if (failure.column == 0 && !doc.current_location().get(at) && at >= line.data() &&
            at <= line.data() + line.size())
            failure.column = static_cast<std::size_t>(at - line.data()) + 1;
        return false;
    }
    // After the object, only the end of the document may follow.
    const char* trailing = nullptr;
    if (doc.current_location().get(trailing) == SUCCESS) {
        failure.reason = "unexpected content after the JSON object";
        failure.column = static_cast<std::size_t>(trailing - line.data()) + 1;
        return false;
    }
    if (strict_) {
        // Full validation, including values in fields no operator reads.
        simdjson::dom::element ignored;
        if (auto error = strict_parser_.parse(line.data(), line.size(), false).get(ignored))
            return fail(error, failure);
    }
    return true;
}

bool RecordParser::walk_object(ondemand::object object, std::uint32_t node_id, ParseFailure& failure) {
    for (auto field_result : object) {
        ondemand::field field;
        if (auto error = std::move(field_result).get(field)) return fail(error, failure);
        const auto& node = schema_.nodes()[node_id];
        if (node.keys.empty()) continue; // skipped; On-Demand still checks the structure
        std::string_view key;
        if (auto error = key_of(field, line_.data() + line_.size(), key)) return fail(error, failure);
        for (const auto& [name, child] : node.keys) {
            if (name == key) {
                if (!take_value(field.value(), child, failure)) return false;
                break;
            }
        }
    }
    return true;
}

bool RecordParser::walk_array(ondemand::array array, std::uint32_t node_id, ParseFailure& failure) {
    std::size_t index = 0;
    for (auto item_result : array) {
        ondemand::value item;
        if (auto error = std::move(item_result).get(item)) return fail(error, failure);
        for (const auto& [wanted, child] : schema_.nodes()[node_id].items) {
            if (wanted == index) {
                if (!take_value(item, child, failure)) return false;
                break;
            }
        }
        ++index;
    }
    return true;
}

bool RecordParser::take_value(ondemand::value value, std::uint32_t node_id, ParseFailure& failure) {
    const auto& node = schema_.nodes()[node_id];
    Value* slot = node.slot >= 0 ? &slots_[static_cast<std::size_t>(node.slot)] : nullptr;
    ondemand::json_type type;
    if (auto error = value.type().get(type)) return fail(error, failure);
    switch (type) {
    case ondemand::json_type::object: {
        ondemand::object object;
        if (auto error = value.get_object().get(object)) return fail(error, failure);
        if (!node.keys.empty() && slot == nullptr) return walk_object(object, node_id, failure);
        std::string_view raw;
        if (auto error = object.raw_json().get(raw)) return fail(error, failure);
        if (slot) *slot = Value::of_raw(Kind::object, raw);
        // A path that is both read whole and descended into (`member` and `member.id`):
        // parse the raw text again for the children. Rare, so a second parser is fine.
        if (!node.keys.empty()) return parse_nested(raw, node_id, failure);
        return true;
    }
    case ondemand::json_type::array: {
        ondemand::array array;
        if (auto error = value.get_array().get(array)) return fail(error, failure);
        if (!node.items.empty() && slot == nullptr) return walk_array(array, node_id, failure);
        std::string_view raw;
        if (auto error = array.raw_json().get(raw)) return fail(error, failure);
        if (slot) *slot = Value::of_raw(Kind::array, raw);
        if (!node.items.empty()) return parse_nested(raw, node_id, failure);
        return true;
    }
    case ondemand::json_type::string: {
        std::string_view text;
        if (auto error = value.get_string().get(text)) return fail(error, failure);
        if (slot) *slot = Value::of_string(text);
        return true;
    }
    case ondemand::json_type::number: {
        std::int64_t integer = 0;
        auto error = value.get_int64().get(integer);
        if (!error) {
            if (slot) *slot = Value::of_int(integer);
            return true;
        }
        double floating = 0;
        if (auto derror = value.get_double().get(floating)) return fail(derror, failure);
        if (slot) *slot = Value::of_double(floating);
        return true;
    }
    case ondemand::json_type::boolean: {
        bool b = false;
        if (auto error = value.get_bool().get(b)) return fail(error, failure);
        if (slot) *slot = Value::of_bool(b);
        return true;
    }
    case ondemand::json_type::null: {
        bool is_null = false;
        if (auto error = value.is_null().get(is_null)) return fail(error, failure);
        if (!is_null) return fail(N_ATOM_ERROR, failure);
        if (slot) *slot = Value::null();
        return true;
    }
    }
    return true;
}

bool RecordParser::parse_nested(std::string_view raw, std::uint32_t node_id, ParseFailure& failure) {
    if (nested_used_ == nested_.size()) nested_.push_back(std::make_unique<ondemand::parser>());
    ondemand::parser& parser = *nested_[nested_used_++];
    ondemand::document doc;
    // raw points into the line buffer, which keeps SIMDJSON_PADDING readable bytes after the line.
    if (auto error = parser.iterate(raw.data(), raw.size(), raw.size() + SIMDJSON_PADDING).get(doc))
        return fail(error, failure);
    const auto& node = schema_.nodes()[node_id];
    if (!node.keys.empty()) {
        ondemand::object object;
        if (auto error = doc.get_object().get(object)) return fail(error, failure);
        return walk_object(object, node_id, failure);
    }
    ondemand::array array;
    if (auto error = doc.get_array().get(array)) return fail(error, failure);
    return walk_array(array, node_id, failure);
}

std::string_view kind_name(Kind kind) {
    switch (kind) {
    case Kind::missing: return "missing";
    case Kind::null: return "null";
    case Kind::boolean: return "boolean";
    case Kind::integer: return "integer";
    case Kind::floating: return "number";
    case Kind::string: return "string";
    case Kind::object: return "object";
    case Kind::array: return "array";
    }
    return "?";
}

} // namespace cep
