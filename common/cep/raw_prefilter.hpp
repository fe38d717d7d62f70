#pragma once
// A byte-level test that rules records out before they are parsed. For `event == "level_up"`
// a record can only match if its text contains `"level_up"` (or a backslash, since an escape
// could spell the same string differently): a search over ~200 bytes is far cheaper than
// parsing the JSON, and most records of a selective filter fail it.

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <simdjson.h>
#include <string>
#include <string_view>
#include <utility>
#include <vector>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace cep {

/// A substring search set up once per needle. glibc's memmem costs more than the parse it
/// saves on ~200-byte lines. This is the SIMD filter of W. Mula's "SIMD-friendly algorithms
/// for substring searching": 16 positions at a time are tested for two of the needle's bytes
/// at their distance apart, and only positions where both agree are compared in full. The two
/// bytes are the second and the second-to-last: needles here are JSON strings (`"level_up"`),
/// whose quotes are the most frequent bytes of a line.
class Needle {
  public:
    explicit Needle(std::string text) : text_(std::move(text)) {
        const std::size_t n = text_.size();
        first_ = n > 2 ? 1 : 0;
        last_ = n > 2 ? n - 2 : (n > 0 ? n - 1 : 0);
    }
    bool found_in(std::string_view hay) const {
        const std::size_t n = text_.size();
        if (n == 0) return true;
        if (hay.size() < n) return false;
        const char a = text_[first_], b = text_[last_];
        const std::size_t positions = hay.size() - n + 1; // where the needle may start
        std::size_t i = 0;
#if defined(__SSE2__)
        const __m128i va = _mm_set1_epi8(a), vb = _mm_set1_epi8(b);
        for (; i + 16 <= positions; i += 16) {
            const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(hay.data() + i + first_));
            const __m128i y = _mm_loadu_si128(reinterpret_cast<const __m128i*>(hay.data() + i + last_));
            auto mask = static_cast<unsigned>(
                _mm_movemask_epi8(_mm_and_si128(_mm_cmpeq_epi8(x, va), _mm_cmpeq_epi8(y, vb))));
            while (mask != 0) {
                const std::size_t at = i + static_cast<std::size_t>(std::countr_zero(mask));
                if (std::memcmp(hay.data() + at, text_.data(), n) == 0) return true;
                mask &= mask - 1;
            }
        }
#endif
        for (; i < positions; ++i)
            if (hay[i + first_] == a && hay[i + last_] == b &&
                std::memcmp(hay.data() + i, text_.data(), n) == 0)
                return true;
        return false;
    }
    const std::string& text() const {
        return text_;
    }

  private:
    std::string text_;
    std::size_t first_ = 0, last_ = 0;
};

class RawPrefilter {
  public:
    RawPrefilter() = default;
    /// A record may pass only if its text holds every needle.
    explicit RawPrefilter(std::vector<std::string> needles) {
        if (!needles.empty()) alternatives_.push_back(make(std::move(needles)));
    }
    /// A record may pass if its text holds every needle of one of the alternatives (each a
    /// non-empty list): the records that any of several conditions may accept.
    static RawPrefilter any_of(std::vector<std::vector<std::string>> alternatives) {
        RawPrefilter p;
        for (auto& needles : alternatives)
            p.alternatives_.push_back(make(std::move(needles)));
        return p;
    }

    bool empty() const { return alternatives_.empty(); }

    /// False only when no record with this text can pass: every alternative misses a needle
    /// and the text has no escapes.
    bool may_match(std::string_view text) const {
        return has_all_needles_of_one(text) || std::memchr(text.data(), '\\', text.size()) != nullptr;
    }

    /// !may_match(text) && outlined(text), with the backslash and NUL tests in one pass: the
    /// lines that are dropped (or read for their time only) without being parsed.
    bool rules_out(std::string_view text) const {
        return !has_all_needles_of_one(text) && braced(text) && !has_backslash_or_nul(text) &&
               simdjson::validate_utf8(text.data(), text.size());
    }

    /// What a line that cannot match must show to be dropped without parsing: the outline of
    /// one JSON object (`{` first and `}` last, blanks aside), valid UTF-8 and no NUL byte.
    /// A line without it is parsed, so that its error is reported. Both scans are SIMD.
    static bool outlined(std::string_view text) {
        return braced(text) && std::memchr(text.data(), '\0', text.size()) == nullptr &&
               simdjson::validate_utf8(text.data(), text.size());
    }

  private:
    /// Whether the text holds every needle of some alternative.
    bool has_all_needles_of_one(std::string_view text) const {
        return std::any_of(
            alternatives_.begin(), alternatives_.end(), [text](const std::vector<Needle>& needles) {
                return std::all_of(needles.begin(), needles.end(),
                                   [text](const Needle& needle) { return needle.found_in(text); });
            });
    }
    /// `{` first and `}` last, blanks aside.
    static bool braced(std::string_view text) {
        const std::size_t first = text.find_first_not_of(" \t");
        const std::size_t last = text.find_last_not_of(" \t");
        return first != std::string_view::npos && text[first] == '{' && text[last] == '}';
    }
    static bool has_backslash_or_nul(std::string_view text) {
        std::size_t i = 0;
#if defined(__SSE2__)
        const __m128i backslash = _mm_set1_epi8('\\'), nul = _mm_setzero_si128();
        for (; i + 16 <= text.size(); i += 16) {
            const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(text.data() + i));
            if (_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(x, backslash), _mm_cmpeq_epi8(x, nul))) != 0)
                return true;
        }
#endif
        for (; i < text.size(); ++i)
            if (text[i] == '\\' || text[i] == '\0') return true;
        return false;
    }
    static std::vector<Needle> make(std::vector<std::string> texts) {
        std::vector<Needle> needles;
        for (auto& text : texts)
            needles.emplace_back(std::move(text));
        return needles;
    }
    std::vector<std::vector<Needle>> alternatives_;
};

} // namespace cep
