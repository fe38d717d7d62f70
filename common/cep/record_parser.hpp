#pragma once
// Parses one NDJSON record with simdjson On-Demand and fills the schema's slots.

#include "cep/record.hpp"
#include "cep/schema.hpp"

#include <memory>
#include <simdjson.h>
#include <string>
#include <vector>

namespace cep {

struct ParseFailure {
    std::string reason;
    std::size_t column = 0; // 1-based byte column, 0 when unknown
};

class RecordParser {
  public:
    explicit RecordParser(const Schema& schema, bool strict = false) : schema_(schema), strict_(strict) {}

    /// Parses `line`; at least simdjson::SIMDJSON_PADDING readable bytes must follow it in memory
    /// (LineReader guarantees this). On success the slots are valid until the next call.
    /// Every record is checked to be one JSON object, valid UTF-8, with no raw control bytes
    /// and a well-formed top level and read fields; fields no operator reads are skipped, not
    /// decoded, so a bad literal deep inside them is only caught with `strict` (a full parse).
    bool parse(std::string_view line, ParseFailure& failure);

    std::span<const Value> slots() const { return slots_; }

    /// Batch mode: simdjson's first stage runs once over a whole block of complete lines
    /// (much cheaper than once per line for ~200-byte records). Then call parse_in_batch() for
    /// each non-blank line of the block, in order, and skip_in_batch() for lines the caller
    /// handles itself. Results are exactly those of parse(): while the block's documents line
    /// up one to one with its lines the fast path is used; at the first line that does not
    /// (a malformed line, two objects on one line), the rest of the block is parsed line by line.
    void begin_batch(std::string_view block);
    bool parse_in_batch(std::string_view line, ParseFailure& failure);
    void skip_in_batch(std::string_view line);

  private:
    bool walk_object(simdjson::ondemand::object object, std::uint32_t node, ParseFailure& failure);
    bool walk_array(simdjson::ondemand::array array, std::uint32_t node, ParseFailure& failure);
    bool take_value(simdjson::ondemand::value value, std::uint32_t node, ParseFailure& failure);
    bool parse_nested(std::string_view raw, std::uint32_t node, ParseFailure& failure);
    bool fail(simdjson::error_code error, ParseFailure& failure);

    bool take_batch_document(std::string_view line, ParseFailure& failure);

    const Schema& schema_;
    bool strict_;
    simdjson::ondemand::parser batch_parser_;
    simdjson::ondemand::document_stream stream_;
    simdjson::ondemand::document_stream::iterator next_document_;
    bool batch_ok_ = false;
    const char* stream_base_ = nullptr;
    simdjson::dom::parser strict_parser_;
    simdjson::ondemand::parser parser_;
    std::vector<Value> slots_;
    std::string_view line_;
    std::vector<std::unique_ptr<simdjson::ondemand::parser>> nested_;
    std::size_t nested_used_ = 0;
};

} // namespace cep
