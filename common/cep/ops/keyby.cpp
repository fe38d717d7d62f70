#include "cep/ops/keyby.hpp"

#include "cep/json_writer.hpp"
#include "cep/murmur2.hpp"

#include <algorithm>

namespace cep::ops {
namespace {

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

std::string_view trim_right(std::string_view text) {
    while (!text.empty() && is_space(text.back()))
        text.remove_suffix(1);
    return text;
}

/// Appends the members of the object `raw` other than `name`, each preceded by a comma.
/// False when `raw` could not be walked (then nothing useful was appended).
bool append_other_members(std::string& out, std::string_view raw, std::string_view name,
                          simdjson::ondemand::parser& parser, std::string& scratch) {
    using namespace simdjson;
    // On-Demand needs padding after the text; the record's own buffer is not ours to rely on.
    scratch.assign(raw);
    scratch.append(SIMDJSON_PADDING, ' ');
    ondemand::document doc;
    ondemand::object object;
    if (parser.iterate(scratch.data(), raw.size(), scratch.size()).get(doc) || doc.get_object().get(object))
        return false;
    for (auto field_result : object) {
        ondemand::field field;
        if (std::move(field_result).get(field)) return false;
        // The member's text runs from the key's opening quote to the end of its value. Taken
        // before unescaped_key(), which consumes the key.
        const char* start = field.key().raw() - 1;
        std::string_view key;
        if (field.unescaped_key().get(key)) return false;
        if (key == name) continue;
        ondemand::value value = field.value();
        ondemand::json_type type;
        if (value.type().get(type)) return false;
        std::string_view value_text;
        if (type == ondemand::json_type::object) {
            ondemand::object inner;
            if (value.get_object().get(inner) || inner.raw_json().get(value_text)) return false;
        } else if (type == ondemand::json_type::array) {
            ondemand::array inner;
            if (value.get_array().get(inner) || inner.raw_json().get(value_text)) return false;
        } else {
            value_text = trim_right(value.raw_json_token());
        }
        const char* end = value_text.data() + value_text.size();
        out += ',';
        out.append(start, static_cast<std::size_t>(end - start));
    }
    return true;
}

} // namespace

void prepend_key_field(std::string& out, std::string_view raw, std::string_view name, std::string_view key) {
    out.clear();
    out += '{';
    append_json_string(out, name);
    out += ':';
    append_json_string(out, key);
    std::size_t brace = 0;
    while (brace < raw.size() && raw[brace] != '{')
        ++brace;
    const std::string_view rest = raw.substr(std::min(brace + 1, raw.size()));
    std::size_t first = 0;
    while (first < rest.size() && is_space(rest[first]))
        ++first;
    if (first < rest.size() && rest[first] != '}') out += ',';
    out += rest;
}

void replace_key_field(std::string& out, std::string_view raw, std::string_view name, std::string_view key,
                       simdjson::ondemand::parser& parser, std::string& scratch) {
    out.clear();
    out += '{';
    append_json_string(out, name);
    out += ':';
    append_json_string(out, key);
    if (append_other_members(out, raw, name, parser, scratch)) {
        out += '}';
        return;
    }
    // Unreachable for records the parser accepted; still, never lose the record.
    prepend_key_field(out, raw, name, key);
}

KeyBy::KeyBy(KeyByOptions options, Schema& schema)
    : keys_(std::move(options.paths), schema), missing_(options.missing), partitions_(options.partitions),
      emit_key_(std::move(options.emit_key)) {
    if (!emit_key_.empty()) {
        // A one-step path taken literally: the field name may contain dots or brackets.
        Path path;
        path.steps.push_back({PathStep::Type::key, emit_key_, 0});
        emit_key_slot_ = schema.add(path);
    }
}

void KeyBy::push(const Record& record, Emitter& out) {
    if (missing_ == MissingKey::reject) {
        if (const auto index = keys_.missing(record)) {
            out.reject(record, keys_.missing_reason(*index));
            return;
        }
    }
    const std::string_view key = keys_.key(record, key_buffer_);
    Route route{key, std::nullopt};
    if (partitions_ > 0) route.partition = kafka_partition(key, partitions_);
    if (!emit_key_slot_) {
        out.emit(record, route);
        return;
    }
    if (record[*emit_key_slot_].is_missing()) {
        prepend_key_field(record_buffer_, record.raw, emit_key_, key);
    } else {
        if (!rewrite_parser_) rewrite_parser_ = std::make_unique<simdjson::ondemand::parser>();
        replace_key_field(record_buffer_, record.raw, emit_key_, key, *rewrite_parser_, rewrite_input_);
    }
    out.emit_new(record_buffer_, record.origin, route);
}

} // namespace cep::ops
