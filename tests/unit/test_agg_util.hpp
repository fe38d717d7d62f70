#pragma once
// Helpers for the aggregate tests: parse NDJSON lines into records for an AggregateSet.

#include "cep/agg/aggregate.hpp"
#include "cep/record_parser.hpp"

#include <doctest/doctest.h>
#include <simdjson.h>
#include <string>
#include <string_view>
#include <vector>

namespace cep::agg::testing {

/// Parses lines against a schema, keeping the padding simdjson needs after each line.
class Lines {
  public:
    explicit Lines(Schema& schema) : parser_(schema) {}

    /// Parses `line`; the returned record is valid until the next call.
    Record parse(std::string_view line) {
        buffer_.assign(line);
        buffer_.append(simdjson::SIMDJSON_PADDING, ' ');
        ParseFailure failure;
        const std::string_view text(buffer_.data(), line.size());
        REQUIRE_MESSAGE(parser_.parse(text, failure), failure.reason);
        return Record{text, parser_.slots(), Origin{"test", ++line_}};
    }

  private:
    RecordParser parser_;
    std::string buffer_;
    std::uint64_t line_ = 0;
};

/// `{...}` of the results of `spec` over `lines`, all in one group.
inline std::string aggregate(std::string_view spec, const std::vector<std::string>& lines,
                             const AggOptions& options = {}) {
    Schema schema;
    AggregateSet set(spec, schema, options);
    AggregateState state(set);
    Lines parser(schema);
    for (const auto& line : lines)
        set.add(state.data(), parser.parse(line));
    std::string json = "{";
    set.append_results(state.data(), json);
    json += '}';
    return json;
}

} // namespace cep::agg::testing
