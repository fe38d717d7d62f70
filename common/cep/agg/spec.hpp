#pragma once
// The aggregate list of cep-agg and cep-window, parsed once:
//
//   count(), sum(price) as revenue, avg(price), p99.9(latency), top(10, member.country)
//
// Each item is a function, its arguments and an optional `as NAME`. Default names are the
// function and the path with every non-alphanumeric character turned into `_`
// (`distinct(member.playerId)` -> `distinct_member_playerId`, `p99.9(x)` -> `p99_9_x`,
// `top(10, member.country)` -> `top10_member_country`, `count()` -> `count`).

#include "cep/path.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cep::agg {

enum class Func : std::uint8_t {
    count,          ///< count(): records; count(x): records where x is present and not null
    sum,            ///< numeric values only; integers stay exact int64 until a float or overflow
    avg,            ///< mean of the numeric values
    min,            ///< smallest number; smallest string when no value was a number
    max,            ///< largest number; largest string when no value was a number
    first,          ///< first non-null value, by arrival order
    last,           ///< last non-null value, by arrival order
    stddev,         ///< sample standard deviation (n - 1) of the numeric values
    distinct,       ///< approximate distinct count (HyperLogLog)
    count_distinct, ///< exact distinct count
    percentile,     ///< pNN(x): the NN-th percentile (t-digest)
    top,            ///< top(N, x): the N most frequent values (Space-Saving)
};

struct AggSpec {
    Func func = Func::count;
    std::optional<Path> path; ///< absent only for count()
    double percentile = 0;    ///< 0..100, for Func::percentile
    std::uint32_t top_n = 0;  ///< N of top(N, x)
    std::string name;         ///< output field name
    std::size_t column = 1;   ///< 1-based column of the item in the source text, for messages

    /// The item as canonical text, always with `as NAME`: `p99.9(price) as p99_9_price`.
    std::string to_string() const;
};

/// Parses a comma-separated aggregate list. Throws cep::SyntaxError with a 1-based column for
/// unknown functions, wrong arity, bad paths, bad percentiles and duplicate output names.
std::vector<AggSpec> parse_agg_specs(std::string_view text);

/// The canonical text of a whole list (items' to_string() joined by ", ").
std::string to_string(const std::vector<AggSpec>& specs);

/// The name an item gets without `as`: `p99_9_price`, `distinct_member_playerId`.
std::string default_name(const AggSpec& spec);

/// `member.playerId` -> `member_playerId`, `items[0].id` -> `items_0_id`.
std::string path_to_name(const Path& path);

std::string_view func_name(Func func);

} // namespace cep::agg
