#pragma once
// Record keys: the bytes that say which group a record belongs to. cep-keyby partitions by
// them, windows and sequences keep state per key, and the Kafka sink sends them as message keys,
// so every tool must spell the same key with the same bytes.
//
// Single field (`-k member.playerId`):
//   string            its raw UTF-8 bytes, unquoted:    "p1"      -> p1
//   number            canonical JSON number:            42, 42.0  -> 42;  0.5 -> 0.5;  1.5e300 -> 1.5e+300
//   true/false/null   the literal:                      true
//   object/array      JSON text without insignificant whitespace: {"a": [1, 2]} -> {"a":[1,2]}
// Several fields (`-k team,member.playerId`): a JSON array of the values, no whitespace:
//   ["red","p1"]      ["red",42]      [null,{"a":1}]
// A single string key is exactly what a Kafka producer keying by that field would send; the
// array form keeps composite keys unambiguous (no separator can occur inside a value).
//
// Numbers are canonical so that 42, 42.0 and 4.2e1 (the same JSON value) share a key: integral
// values in the signed 64-bit range are written as integers, others in the shortest form that
// reads back to the same double. Integers beyond 64 bits are read as doubles, so very large
// ones can collide.

#include "cep/path.hpp"
#include "cep/record.hpp"
#include "cep/schema.hpp"
#include "cep/value.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cep {

/// Appends the key bytes of `value` as a single-field key. A missing value keys as `null`.
void append_key(std::string& out, const Value& value);

/// Appends `value` as one element of a composite key (a JSON value; strings quoted).
void append_key_element(std::string& out, const Value& value);

/// Extracts keys from records: register the key paths once, then ask for each record's key.
class KeyExtractor {
  public:
    /// Registers `paths` in `schema` (so the parser fills them). At least one path.
    KeyExtractor(std::vector<Path> paths, Schema& schema);
    /// Parses a comma-separated list (`team,member.playerId`); throws SyntaxError.
    KeyExtractor(std::string_view path_list, Schema& schema);

    /// The key of `record`. Points into the record (a single string field) or into `buffer`,
    /// which is reused so that steady-state extraction does not allocate. Missing fields are
    /// keyed as `null`; callers that reject such records check missing() first.
    std::string_view key(const Record& record, std::string& buffer) const;

    /// Index of the first key field `record` does not have, or nullopt.
    std::optional<std::size_t> missing(const Record& record) const {
        for (std::size_t i = 0; i < slots_.size(); ++i)
            if (record[slots_[i]].is_missing()) return i;
        return std::nullopt;
    }
    /// "missing key field 'member.playerId'", for the dead letter.
    std::string missing_reason(std::size_t index) const;

    std::size_t size() const { return slots_.size(); }
    const Path& path(std::size_t index) const { return paths_[index]; }
    /// The key paths as given to -k, in canonical form (`team,member.playerId`).
    std::string describe() const;

  private:
    std::vector<Path> paths_;
    std::vector<Slot> slots_;
};

} // namespace cep
