#include "cep/sequence/expect.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>

namespace cep::sequence {
namespace {

struct Line {
    std::string text;
    std::optional<nlohmann::json> json; ///< nullopt: not JSON, compared as text
    std::size_t number;                 ///< 1-based line number in its file
};

Line make_line(std::string_view text, std::size_t number) {
    Line line{std::string(text), std::nullopt, number};
    auto parsed = nlohmann::json::parse(text, nullptr, false);
    if (!parsed.is_discarded()) line.json = std::move(parsed);
    return line;
}

bool same(const Line& a, const Line& b) {
    if (a.json && b.json) return *a.json == *b.json;
    return a.text == b.text;
}

/// Enough lines of a diff to see what is wrong, not a screenful per record.
constexpr std::size_t shown_lines = 200;

} // namespace

ExpectResult compare_expected(std::string_view expected, const std::vector<std::string>& got,
                              const std::string& name) {
    std::vector<Line> want, have;
    std::size_t number = 0;
    while (!expected.empty()) {
        const auto end = expected.find('\n');
        std::string_view text = expected.substr(0, end);
        expected = end == std::string_view::npos ? std::string_view() : expected.substr(end + 1);
        ++number;
        if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
        if (text.find_first_not_of(" \t") == std::string_view::npos) continue;
        want.push_back(make_line(text, number));
    }
    for (std::size_t i = 0; i < got.size(); ++i)
        have.push_back(make_line(got[i], i + 1));

    ExpectResult result;
    result.expected = want.size();
    result.got = have.size();
    // Common head and tail first: usually all that is needed.
    std::size_t head = 0;
    while (head < want.size() && head < have.size() && same(want[head], have[head]))
        ++head;
    std::size_t tail = 0;
    while (tail < want.size() - head && tail < have.size() - head &&
           same(want[want.size() - 1 - tail], have[have.size() - 1 - tail]))
        ++tail;
    const std::size_t n = want.size() - head - tail, m = have.size() - head - tail;
    if (n == 0 && m == 0) {
        result.equal = true;
        return result;
    }

    // The differing middle as a longest-common-subsequence diff, when it is small enough.
    std::vector<std::pair<char, const Line*>> ops;
    if (n * m <= 4'000'000) {
        std::vector<std::uint32_t> lcs((n + 1) * (m + 1), 0);
        auto at = [&](std::size_t i, std::size_t j) -> std::uint32_t& { return lcs[i * (m + 1) + j]; };
        for (std::size_t i = n; i-- > 0;)
            for (std::size_t j = m; j-- > 0;)
                at(i, j) = same(want[head + i], have[head + j]) ? at(i + 1, j + 1) + 1
                                                                : std::max(at(i + 1, j), at(i, j + 1));
        std::size_t i = 0, j = 0;
        while (i < n || j < m) {
            if (i < n && j < m && same(want[head + i], have[head + j])) {
                ++i;
                ++j;
            } else if (i < n && (j == m || at(i + 1, j) >= at(i, j + 1))) {
                ops.emplace_back('-', &want[head + i++]);
            } else {
                ops.emplace_back('+', &have[head + j++]);
            }
        }
    } else {
        for (std::size_t i = 0; i < n; ++i)
            ops.emplace_back('-', &want[head + i]);
        for (std::size_t j = 0; j < m; ++j)
            ops.emplace_back('+', &have[head + j]);
    }

    std::string& out = result.diff;
    out += "--- " + name + " (" + std::to_string(want.size()) + " records expected)\n";
    out += "+++ output (" + std::to_string(have.size()) + " records produced)\n";
    std::size_t shown = 0;
    for (const auto& [sign, line] : ops) {
        if (shown++ == shown_lines) {
            out += "... and " + std::to_string(ops.size() - shown_lines) + " more differing lines\n";
            break;
        }
        out += sign;
        out += (sign == '-' ? " expected line " : " output line   ") + std::to_string(line->number) + ": ";
        out += line->text;
        out += '\n';
    }
    return result;
}

} // namespace cep::sequence
