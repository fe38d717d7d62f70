#include "cep/time.hpp"

#include <charconv>
#include <cstdio>
#include <cstring>

namespace cep {
namespace {

// Howard Hinnant's days_from_civil / civil_from_days: proleptic Gregorian, no time zone database.
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void civil_from_days(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) {
    z += 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const auto doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = static_cast<std::int64_t>(yoe) + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
}

bool digits(std::string_view text, std::size_t pos, std::size_t count, int& out) {
    if (pos + count > text.size()) return false;
    int value = 0;
    for (std::size_t i = pos; i < pos + count; ++i) {
        if (text[i] < '0' || text[i] > '9') return false;
        value = value * 10 + (text[i] - '0');
    }
    out = value;
    return true;
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
    return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

} // namespace

std::optional<Duration> parse_duration(std::string_view text) {
    if (text.empty()) return std::nullopt;
    Duration total = 0;
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::int64_t amount = 0;
        auto [ptr, ec] = std::from_chars(text.data() + pos, text.data() + text.size(), amount);
        if (ec != std::errc() || amount < 0) return std::nullopt;
        pos = static_cast<std::size_t>(ptr - text.data());
        std::size_t unit_end = pos;
        while (unit_end < text.size() && text[unit_end] >= 'a' && text[unit_end] <= 'z')
            ++unit_end;
        const std::string_view unit = text.substr(pos, unit_end - pos);
        Duration scale = 0;
        if (unit == "ns")
            scale = 1;
        else if (unit == "us")
            scale = 1'000;
        else if (unit == "ms")
            scale = nanos_per_milli;
        else if (unit == "s")
            scale = nanos_per_second;
        else if (unit == "m")
            scale = 60 * nanos_per_second;
        else if (unit == "h")
            scale = 3600 * nanos_per_second;
        else if (unit == "d")
            scale = 86400 * nanos_per_second;
        else
            return std::nullopt;
        total += amount * scale;
        pos = unit_end;
    }
    return total;
}

std::string format_duration(Duration duration) {
    if (duration == 0) return "0s";
    std::string out;
    if (duration < 0) {
        out += '-';
        duration = -duration;
    }
    static constexpr std::pair<Duration, const char*> units[] = {{86400 * nanos_per_second, "d"},
                                                                 {3600 * nanos_per_second, "h"},
                                                                 {60 * nanos_per_second, "m"},
                                                                 {nanos_per_second, "s"},
                                                                 {nanos_per_milli, "ms"},
                                                                 {1'000, "us"},
                                                                 {1, "ns"}};
    for (const auto& [scale, name] : units) {
        if (duration >= scale) {
            out += std::to_string(duration / scale) + name;
            duration %= scale;
        }
    }
    return out;
}

namespace {

/// After the seconds: an optional fraction and offset, then the end of the text.
bool parse_time_tail(std::string_view text, std::size_t pos, std::int64_t& nanos, TimeStyle& seen) {
    if (pos < text.size() && (text[pos] == '.' || text[pos] == ',')) {
        ++pos;
        int count = 0;
        std::int64_t scale = 100'000'000;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
            nanos += (text[pos] - '0') * scale; // digits past nanoseconds are truncated
            scale /= 10;
            ++pos;
            ++count;
        }
        if (count == 0) return false;
        seen.fraction_digits = count;
    }
    if (pos < text.size()) {
        const char sign = text[pos];
        if (sign == 'Z' || sign == 'z') {
            ++pos;
        } else if (sign == '+' || sign == '-') {
            int oh = 0, om = 0;
            if (!digits(text, pos + 1, 2, oh)) return false;
            std::size_t mpos = pos + 3;
            if (mpos < text.size() && text[mpos] == ':') ++mpos;
            if (!digits(text, mpos, 2, om) || oh > 23 || om > 59) return false;
            seen.offset_minutes = (sign == '-' ? -1 : 1) * (oh * 60 + om);
            seen.zulu = false;
            pos = mpos + 2;
        } else {
            return false;
        }
    }
    return pos == text.size();
}

/// Event times of a stream share their minute for many records in a row: the date, hour and
/// minute of the last time parsed (`YYYY-MM-DDTHH:MM`, validated then) and their seconds since
/// the epoch, so the next time of that minute only needs its seconds and what follows read.
struct MinuteCache {
    char prefix[16] = {};
    std::int64_t seconds = 0;
    bool valid = false;
};
thread_local MinuteCache minute_cache;

} // namespace

std::optional<Timestamp> parse_rfc3339(std::string_view text, TimeStyle* style) {
    constexpr std::size_t minute_end = 16; // YYYY-MM-DDTHH:MM
    if (text.size() >= minute_end + 3 && minute_cache.valid &&
        std::memcmp(text.data(), minute_cache.prefix, minute_end) == 0) {
        int second = 0;
        std::int64_t nanos = 0;
        TimeStyle seen;
        seen.fraction_digits = 0;
        if (text[minute_end] != ':' || !digits(text, minute_end + 1, 2, second) || second > 60 ||
            !parse_time_tail(text, minute_end + 3, nanos, seen))
            return std::nullopt;
        if (second == 60) second = 59; // a leap second maps onto the second before it
        if (style) *style = seen;
        return (minute_cache.seconds + second - static_cast<std::int64_t>(seen.offset_minutes) * 60) *
                   nanos_per_second +
               nanos;
    }
    int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
    if (!digits(text, 0, 4, year) || text.size() < 10 || text[4] != '-' || !digits(text, 5, 2, month) ||
        text[7] != '-' || !digits(text, 8, 2, day))
        return std::nullopt;
    if (month < 1 || month > 12 || day < 1 || day > 31) return std::nullopt;
    std::size_t pos = 10;
    std::int64_t nanos = 0;
    TimeStyle seen;
    seen.fraction_digits = 0;
    const bool has_time = pos < text.size();
    if (has_time) {
        if (text[pos] != 'T' && text[pos] != 't' && text[pos] != ' ') return std::nullopt;
        if (!digits(text, pos + 1, 2, hour) || text.size() < pos + 9 || text[pos + 3] != ':' ||
            !digits(text, pos + 4, 2, minute) || text[pos + 6] != ':' || !digits(text, pos + 7, 2, second))
            return std::nullopt;
        if (hour > 23 || minute > 59 || second > 60) return std::nullopt; // 60: leap second, folded below
        if (!parse_time_tail(text, pos + 9, nanos, seen)) return std::nullopt;
    }
    if (second == 60) second = 59; // a leap second maps onto the second before it
    const std::int64_t days = days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
    const std::int64_t minute_seconds = days * 86400 + hour * 3600 + minute * 60;
    if (has_time) {
        std::memcpy(minute_cache.prefix, text.data(), minute_end);
        minute_cache.seconds = minute_seconds;
        minute_cache.valid = true;
    }
    const std::int64_t seconds =
        minute_seconds + second - static_cast<std::int64_t>(seen.offset_minutes) * 60;
    if (style) *style = seen;
    return seconds * nanos_per_second + nanos;
}

namespace {

/// Writes `value` as exactly `width` decimal digits (zero-padded; higher digits dropped).
char* put_digits(char* out, std::uint64_t value, int width) {
    for (int i = width - 1; i >= 0; --i) {
        out[i] = static_cast<char>('0' + value % 10);
        value /= 10;
    }
    return out + width;
}

} // namespace

std::string format_rfc3339(Timestamp time, const TimeStyle& style) {
    // Digits written by hand: every match and window result writes two times, and snprintf
    // with its format parsing cost more than the rest of writing a result.
    const Timestamp local = time + static_cast<Timestamp>(style.offset_minutes) * 60 * nanos_per_second;
    const std::int64_t seconds = floor_div(local, nanos_per_second);
    const std::int64_t nanos = local - seconds * nanos_per_second;
    const std::int64_t days = floor_div(seconds, 86400);
    const std::int64_t in_day = seconds - days * 86400;
    std::int64_t year = 0;
    unsigned month = 0, day = 0;
    civil_from_days(days, year, month, day);
    char buf[64];
    char* p = buf;
    // Nanoseconds in 64 bits span the years 1677 to 2262 (and an offset a day): four digits.
    p = put_digits(p, static_cast<std::uint64_t>(year), 4);
    *p++ = '-';
    p = put_digits(p, month, 2);
    *p++ = '-';
    p = put_digits(p, day, 2);
    *p++ = 'T';
    p = put_digits(p, static_cast<std::uint64_t>(in_day / 3600), 2);
    *p++ = ':';
    p = put_digits(p, static_cast<std::uint64_t>(in_day / 60 % 60), 2);
    *p++ = ':';
    p = put_digits(p, static_cast<std::uint64_t>(in_day % 60), 2);
    // Keep the input's precision, rounded up to 3, 6 or 9 digits so no instant is lost.
    const int digits_wanted = style.fraction_digits == 0 && nanos == 0               ? 0
                              : style.fraction_digits <= 3 && nanos % 1'000'000 == 0 ? 3
                              : style.fraction_digits <= 6 && nanos % 1'000 == 0     ? 6
                                                                                     : 9;
    if (digits_wanted > 0) {
        *p++ = '.';
        char fraction[9];
        put_digits(fraction, static_cast<std::uint64_t>(nanos), 9);
        for (int i = 0; i < digits_wanted; ++i)
            *p++ = fraction[i];
    }
    if (style.zulu && style.offset_minutes == 0) {
        *p++ = 'Z';
    } else {
        const int off = style.offset_minutes < 0 ? -style.offset_minutes : style.offset_minutes;
        *p++ = style.offset_minutes < 0 ? '-' : '+';
        p = put_digits(p, static_cast<std::uint64_t>(off / 60), 2);
        *p++ = ':';
        p = put_digits(p, static_cast<std::uint64_t>(off % 60), 2);
    }
    return std::string(buf, static_cast<std::size_t>(p - buf));
}

std::optional<TimeUnit> parse_time_unit(std::string_view text) {
    if (text == "s") return TimeUnit::s;
    if (text == "ms") return TimeUnit::ms;
    if (text == "us") return TimeUnit::us;
    if (text == "ns") return TimeUnit::ns;
    return std::nullopt;
}

Duration unit_nanos(TimeUnit unit) {
    switch (unit) {
    case TimeUnit::s:
        return nanos_per_second;
    case TimeUnit::ms:
        return nanos_per_milli;
    case TimeUnit::us:
        return 1'000;
    case TimeUnit::ns:
        return 1;
    }
    return 1;
}

} // namespace cep
