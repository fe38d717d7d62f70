#include "cep/record_parser.hpp"

#include <algorithm>
#include <cstring>

namespace cep {

using namespace simdjson;

namespace {

/// The key of a field without copying it, unless it contains escapes. `end` bounds the search.
/// Keys are short: a plain loop beats two memchr calls per field on the hot path.
error_code key_of(ondemand::field& field, const char* end, std::string_view& key) {
    const char* start = field.key().raw();
    const char* p = start;
    while (p < end && *p != '"' && *p != '\\') ++p;
    if (p == end) return TAPE_ERROR;
    if (*p == '"') {
        key = std::string_view(start, static_cast<std::size_t>(p - start));
        return SUCCESS;
    }
    return field.unescaped_key().get(key); // escapes: decode
}

/// simdjson rejects NUL bytes (as unescaped or structural errors); name them for what they are.
bool report_nul(std::string_view line, ParseFailure& failure) {
    const void* nul = std::memchr(line.data(), '\0', line.size());
    if (nul == nullptr) return false;
    failure.reason = "NUL byte in record";
    failure.column = static_cast<std::size_t>(static_cast<const char*>(nul) - line.data()) + 1;
    return true;
}

/// Offset of the first byte that is not part of valid UTF-8 (overlongs and surrogates included).
std::size_t first_invalid_utf8(std::string_view text) {
    const auto* s = reinterpret_cast<const unsigned char*>(text.data());
    std::size_t i = 0;
    while (i < text.size()) {
        const unsigned char c = s[i];
        std::size_t length = 0;
        unsigned char low = 0x80, high = 0xBF; // allowed range of the second byte
        if (c < 0x80) {
            ++i;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            length = 2;
        } else if (c >= 0xE0 && c <= 0xEF) {
            length = 3;
            if (c == 0xE0) low = 0xA0;
            if (c == 0xED) high = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            length = 4;
            if (c == 0xF0) low = 0x90;
            if (c == 0xF4) high = 0x8F;
        } else {
            return i;
        }
        if (i + length > text.size() || s[i + 1] < low || s[i + 1] > high) return i;
        for (std::size_t k = 2; k < length; ++k)
            if ((s[i + k] & 0xC0) != 0x80) return i;
        i += length;
    }
    return text.size();
}

/// simdjson's first stage validates the whole line but reports no position, and reports
/// content after the object as an unclosed object. Find the offending byte so that every
/// message has a column, and name trailing content for what it is.
void locate_stage1_error(std::string_view line, error_code error, ParseFailure& failure) {
    if (error == UTF8_ERROR) {
        failure.column = first_invalid_utf8(line) + 1;
        return;
    }
    bool in_string = false, closed = false;
    std::size_t quote = 0;
    int depth = 0;
    for (std::size_t i = 0; i < line.size(); ++i) {
        const char c = line[i];
        if (in_string) {
            if (c == '\\') {
                ++i;
            } else if (c == '"') {
                in_string = false;
            } else if (static_cast<unsigned char>(c) < 0x20 && error == UNESCAPED_CHARS) {
                failure.column = i + 1;
                return;
            }
            continue;
        }
        if (closed && c != ' ' && c != '\t' && c != '\r' && c != '\n') {
            failure.reason = "unexpected content after the JSON object";
            failure.column = i + 1;
            return;
        }
        if (c == '"') {
            in_string = true;
            quote = i;
        } else if (c == '{' || c == '[') {
            ++depth;
        } else if ((c == '}' || c == ']') && --depth == 0) {
            closed = true;
        }
    }
    if (in_string && error == UNCLOSED_STRING) {
        failure.column = quote + 1;
        return;
    }
    failure.column = line.size() + 1; // the line ended early
}

/// 1-based column of `value` within `line`, 0 if it lies elsewhere.
std::size_t column_of(std::string_view line, ondemand::value& value) {
    const std::string_view token = value.raw_json_token();
    if (token.data() < line.data() || token.data() >= line.data() + line.size()) return 0;
    return static_cast<std::size_t>(token.data() - line.data()) + 1;
}

/// Reads every value below `value`, stopping at the first invalid one; `at` is its column.
error_code visit_all(std::string_view line, ondemand::value value, std::size_t& at) {
    at = column_of(line, value);
    ondemand::json_type type;
    if (auto error = value.type().get(type)) return error;
    switch (type) {
    case ondemand::json_type::object: {
        ondemand::object object;
        if (auto error = value.get_object().get(object)) return error;
        for (auto field_result : object) {
            ondemand::field field;
            std::string_view key;
            if (auto error = std::move(field_result).get(field)) return error;
            if (auto error = field.unescaped_key().get(key)) return error;
            if (auto error = visit_all(line, field.value(), at)) return error;
        }
        return SUCCESS;
    }
    case ondemand::json_type::array: {
        ondemand::array array;
        if (auto error = value.get_array().get(array)) return error;
        for (auto item : array) {
            ondemand::value element;
            if (auto error = std::move(item).get(element)) return error;
            if (auto error = visit_all(line, element, at)) return error;
        }
        return SUCCESS;
    }
    case ondemand::json_type::string: return value.get_string().error();
    case ondemand::json_type::number: return value.get_number().error();
    case ondemand::json_type::boolean: return value.get_bool().error();
    case ondemand::json_type::null: {
        bool is_null = false;
        if (auto error = value.is_null().get(is_null)) return error;
        return is_null ? SUCCESS : N_ATOM_ERROR;
    }
    }
    return SUCCESS;
}

/// Where a record that failed the strict check is broken; the DOM parser does not say.
std::size_t locate_deep_error(std::string_view line) {
    ondemand::parser parser;
    ondemand::document doc;
    ondemand::value root;
    if (parser.iterate(line.data(), line.size(), line.size() + SIMDJSON_PADDING).get(doc)) return 0;
    if (doc.get_value().get(root)) return 0;
    std::size_t at = 0;
    return visit_all(line, root, at) ? at : 0;
}

} // namespace

bool RecordParser::fail(error_code error, ParseFailure& failure) {
    // Raised by a field whose literal is malformed (`tru`, `-`): "does not have the requested
    // type" would mislead, the record is simply not valid JSON there.
    failure.reason = error == INCORRECT_TYPE ? "invalid JSON value" : error_message(error);
    failure.column = 0;
    return false;
}

bool RecordParser::parse(std::string_view line, ParseFailure& failure) {
    line_ = line;
    slots_.assign(schema_.slot_count(), Value{});
    nested_used_ = 0;
    ondemand::document doc;
    if (auto error = parser_.iterate(line.data(), line.size(), line.size() + SIMDJSON_PADDING).get(doc)) {
        if (report_nul(line, failure)) return false;
        fail(error, failure);
        locate_stage1_error(line, error, failure);
        return false;
    }
    ondemand::object object;
    if (auto error = doc.get_object().get(object)) {
        if (error == INCORRECT_TYPE) {
            failure.reason = "not a JSON object";
            failure.column = 1;
            return false;
        }
        // The root's brackets are checked here rather than by iterate(): unbalanced, or
        // followed by more content.
        if (report_nul(line, failure)) return false;
        fail(error, failure);
        locate_stage1_error(line, error, failure);
        return false;
    }
    const auto& root = schema_.nodes()[0];
    if (root.slot >= 0) slots_[static_cast<std::size_t>(root.slot)] = Value::of_raw(Kind::object, line);
    if (!walk_object(object, 0, failure)) {
        if (report_nul(line, failure)) return false;
        const char* at = nullptr;
        if (failure.column == 0 && !doc.current_location().get(at) && at >= line.data() &&
            at <= line.data() + line.size())
            failure.column = static_cast<std::size_t>(at - line.data()) + 1;
        if (failure.column == 0) failure.column = line.size() + 1; // no location: at the end
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
        if (auto error = strict_parser_.parse(line.data(), line.size(), false).get(ignored)) {
            fail(error, failure);
            failure.column = locate_deep_error(line);
            return false;
        }
    }
    return true;
}

void RecordParser::begin_batch(std::string_view block) {
    // The block lies in the reader's buffer, which keeps SIMDJSON_PADDING readable bytes after it.
    const std::size_t batch = std::max<std::size_t>(block.size(), 1 << 16);
    batch_ok_ = !strict_ && !batch_parser_.iterate_many(block.data(), block.size(), batch).get(stream_);
    if (batch_ok_) next_document_ = stream_.begin();
    stream_base_ = block.data();
}

namespace {
bool only_whitespace(const char* begin, const char* end) {
    for (; begin < end; ++begin)
        if (*begin != ' ' && *begin != '\t' && *begin != '\r') return false;
    return true;
}
} // namespace

bool RecordParser::take_batch_document(std::string_view line, ParseFailure& failure) {
    if (!batch_ok_) return false;
    if (!(next_document_ != stream_.end())) return batch_ok_ = false;
    // The next document must be exactly this line: start on it, and end on it with nothing
    // but the next line after it (a truncated line would spill over; `{} x` would share it).
    const char* start = stream_base_ + next_document_.current_index();
    const char* line_end = line.data() + line.size();
    if (start < line.data() || start >= line_end || !only_whitespace(line.data(), start)) return batch_ok_ = false;
    ondemand::document_reference doc;
    ondemand::object object;
    if ((*next_document_).get(doc) || doc.get_object().get(object)) return batch_ok_ = false;
    line_ = line;
    slots_.assign(schema_.slot_count(), Value{});
    nested_used_ = 0;
    const auto& root = schema_.nodes()[0];
    if (root.slot >= 0) slots_[static_cast<std::size_t>(root.slot)] = Value::of_raw(Kind::object, line);
    // A failure is re-diagnosed by the per-line path, which names the column.
    if (!walk_object(object, 0, failure)) return batch_ok_ = false;
    const char* after = nullptr;
    if (doc.current_location().get(after) == SUCCESS && after < line_end) return batch_ok_ = false;
    ++next_document_;
    return true;
}

bool RecordParser::parse_in_batch(std::string_view line, ParseFailure& failure) {
    if (take_batch_document(line, failure)) return true;
    return parse(line, failure);
}

void RecordParser::skip_in_batch(std::string_view line) {
    ParseFailure ignored;
    take_batch_document(line, ignored);
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
    // Point at the value itself: after a failed read of a string the iterator is past it.
    auto fail_here = [&](error_code error) {
        fail(error, failure);
        failure.column = column_of(line_, value);
        return false;
    };
    ondemand::json_type type;
    if (auto error = value.type().get(type)) return fail_here(error);
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
        if (auto error = value.get_string().get(text)) return fail_here(error);
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
        if (auto derror = value.get_double().get(floating)) return fail_here(derror);
        if (slot) *slot = Value::of_double(floating);
        return true;
    }
    case ondemand::json_type::boolean: {
        bool b = false;
        if (auto error = value.get_bool().get(b)) return fail_here(error);
        if (slot) *slot = Value::of_bool(b);
        return true;
    }
    case ondemand::json_type::null: {
        bool is_null = false;
        if (auto error = value.is_null().get(is_null)) return fail_here(error);
        if (!is_null) return fail_here(N_ATOM_ERROR);
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
