// format_rfc3339 writes its digits by hand: its output must be what the printf formatting it
// replaced wrote, for every precision, offset and instant in the range of 64-bit nanoseconds.

#include "cep/time.hpp"

#include <cstdio>
#include <doctest/doctest.h>
#include <string>

namespace {

/// The formatting format_rfc3339 had, through snprintf, as the reference.
std::string reference(cep::Timestamp time, const cep::TimeStyle& style) {
    const long long ns_per_s = 1'000'000'000;
    const long long local = time + static_cast<long long>(style.offset_minutes) * 60 * ns_per_s;
    long long seconds = local / ns_per_s;
    if (local % ns_per_s != 0 && local < 0) --seconds;
    const long long nanos = local - seconds * ns_per_s;
    long long days = seconds / 86400;
    if (seconds % 86400 != 0 && seconds < 0) --days;
    const long long in_day = seconds - days * 86400;
    // Howard Hinnant's civil_from_days.
    const long long z = days + 719468;
    const long long era = (z >= 0 ? z : z - 146096) / 146097;
    const long long doe = z - era * 146097;
    const long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const long long mp = (5 * doy + 2) / 153;
    const unsigned day = static_cast<unsigned>(doy - (153 * mp + 2) / 5 + 1);
    const unsigned month = static_cast<unsigned>(mp < 10 ? mp + 3 : mp - 9);
    const long long year = yoe + era * 400 + (month <= 2);
    char buf[96];
    std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld", year, month, day, in_day / 3600,
                  in_day / 60 % 60, in_day % 60);
    std::string out = buf;
    const int digits = style.fraction_digits == 0 && nanos == 0               ? 0
                       : style.fraction_digits <= 3 && nanos % 1'000'000 == 0 ? 3
                       : style.fraction_digits <= 6 && nanos % 1'000 == 0     ? 6
                                                                              : 9;
    if (digits > 0) {
        std::snprintf(buf, sizeof buf, ".%09lld", nanos);
        out.append(buf, static_cast<std::size_t>(1 + digits));
    }
    if (style.zulu && style.offset_minutes == 0) {
        out += 'Z';
    } else {
        const int off = style.offset_minutes < 0 ? -style.offset_minutes : style.offset_minutes;
        std::snprintf(buf, sizeof buf, "%c%02d:%02d", style.offset_minutes < 0 ? '-' : '+', off / 60,
                      off % 60);
        out += buf;
    }
    return out;
}

} // namespace

TEST_CASE("format_rfc3339: exact texts") {
    CHECK(cep::format_rfc3339(0) == "1970-01-01T00:00:00.000Z");
    CHECK(cep::format_rfc3339(1'796'126'400'123'000'000) == "2026-12-01T12:00:00.123Z");
    CHECK(cep::format_rfc3339(1'796'126'400'000'000'000, {0, 540, false}) == "2026-12-01T21:00:00+09:00");
    CHECK(cep::format_rfc3339(1'796'126'400'000'000'007, {0, -330, false}) ==
          "2026-12-01T06:30:00.000000007-05:30");
    CHECK(cep::format_rfc3339(-1, {3, 0, true}) == "1969-12-31T23:59:59.999999999Z");
    CHECK(cep::format_rfc3339(1'796'126'400'000'500'000, {3, 0, false}) ==
          "2026-12-01T12:00:00.000500+00:00");
}

TEST_CASE("format_rfc3339: the printf formatting, over the range of 64-bit nanoseconds") {
    const cep::TimeStyle styles[] = {
        {0, 0, true}, {3, 0, true}, {6, 540, false}, {9, -330, false}, {3, 0, false}};
    std::uint64_t state = 42;
    for (int i = 0; i < 200'000; ++i) {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        // Within the range, keeping a day's margin for the offsets.
        const auto span = static_cast<std::uint64_t>(9'000'000'000'000'000'000LL);
        auto time = static_cast<cep::Timestamp>(state % (2 * span)) - static_cast<cep::Timestamp>(span);
        if (i % 3 == 0) time -= time % 1'000'000; // whole milliseconds, as most inputs
        if (i % 7 == 0) time -= time % 1'000'000'000;
        const cep::TimeStyle& style = styles[i % 5];
        CAPTURE(time);
        REQUIRE(cep::format_rfc3339(time, style) == reference(time, style));
    }
}
