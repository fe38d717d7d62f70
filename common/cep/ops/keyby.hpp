#pragma once
// cep-keyby: keys records by one or more fields. Records leave byte for byte unchanged with the
// key in Route::key (the Kafka message key) and, with partitions, Kafka's partition for it;
// --emit-key adds the key to the record itself as a field.

#include "cep/key.hpp"
#include "cep/operator.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <simdjson.h>
#include <string>
#include <vector>

namespace cep::ops {

/// What to do with a record that lacks a key field.
enum class MissingKey {
    reject, ///< dead letter with "missing key field 'x'", exit 1 at the end
    null,   ///< key the missing field as null
};

struct KeyByOptions {
    std::vector<Path> paths;
    MissingKey missing = MissingKey::reject;
    /// Route each record to Kafka's partition of its key among this many; 0 for none.
    std::uint32_t partitions = 0;
    /// Top-level field to add, holding the key as a JSON string; empty for none.
    std::string emit_key;
};

class KeyBy final : public Operator {
  public:
    KeyBy(KeyByOptions options, Schema& schema);

    void push(const Record& record, Emitter& out) override;

  private:
    KeyExtractor keys_;
    MissingKey missing_;
    std::uint32_t partitions_;
    std::string emit_key_;
    std::optional<Slot> emit_key_slot_;
    std::string key_buffer_;
    std::string record_buffer_;
    // Only for records that already have the --emit-key field (rare): finds its members.
    std::unique_ptr<simdjson::ondemand::parser> rewrite_parser_;
    std::string rewrite_input_;
};

/// Writes to `out` the JSON object `raw` with `"name":"key"` spliced in as its first member;
/// the record's own bytes follow unchanged. `raw` must be a valid JSON object without a
/// member called `name`.
void prepend_key_field(std::string& out, std::string_view raw, std::string_view name, std::string_view key);

/// Like prepend_key_field for a record that already has members called `name`: they are
/// dropped, so keying twice replaces the field instead of duplicating it. Rebuilds the object
/// from its members' text (`parser` and `scratch` are reused across calls).
void replace_key_field(std::string& out, std::string_view raw, std::string_view name, std::string_view key,
                       simdjson::ondemand::parser& parser, std::string& scratch);

} // namespace cep::ops
