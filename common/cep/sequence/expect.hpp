#pragma once
// --expect FILE: compare the match records a run produced with the ones an operator expects,
// as JSON values line by line (key order, spacing and number spelling do not matter), and
// describe the differences readably.

#include <string>
#include <string_view>
#include <vector>

namespace cep::sequence {

struct ExpectResult {
    bool equal = false;
    std::size_t expected = 0, got = 0;
    /// A line diff (`-` expected only, `+` produced only, with line numbers), empty when equal.
    std::string diff;
};

/// Compares `got` with `expected` (NDJSON lines; blank lines in `expected` are skipped).
/// `name` is the expectation's file name, for the diff header. Lines that are not JSON compare
/// as text.
ExpectResult compare_expected(std::string_view expected, const std::vector<std::string>& got,
                              const std::string& name);

} // namespace cep::sequence
