#pragma once
// A byte-level test that rules records out before they are parsed. For `event == "level_up"`
// a record can only match if its text contains `"level_up"` (or a backslash, since an escape
// could spell the same string differently): a search over ~200 bytes is far cheaper than
// parsing the JSON, and most records of a selective filter fail it.

#include <cstring>
#include <simdjson.h>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cep {

class RawPrefilter {
  public:
    RawPrefilter() = default;
    explicit RawPrefilter(std::vector<std::string> needles) : needles_(std::move(needles)) {}

    bool empty() const { return needles_.empty(); }
    const std::vector<std::string>& needles() const { return needles_; }

    /// False only when no record with this text can pass: a needle is missing and the text
    /// has no escapes.
    bool may_match(std::string_view text) const {
        for (const auto& needle : needles_)
            if (::memmem(text.data(), text.size(), needle.data(), needle.size()) == nullptr)
                return std::memchr(text.data(), '\\', text.size()) != nullptr;
        return true;
    }

    /// What a line that cannot match must show to be dropped without parsing: the outline of
    /// one JSON object (`{` first and `}` last, blanks aside), valid UTF-8 and no NUL byte.
    /// A line without it is parsed, so that its error is reported. Both scans are SIMD.
    static bool outlined(std::string_view text) {
        const std::size_t first = text.find_first_not_of(" \t");
        const std::size_t last = text.find_last_not_of(" \t");
        return first != std::string_view::npos && text[first] == '{' && text[last] == '}' &&
               std::memchr(text.data(), '\0', text.size()) == nullptr &&
               simdjson::validate_utf8(text.data(), text.size());
    }

  private:
    std::vector<std::string> needles_;
};

} // namespace cep
