// What cep-replay reads from archive file names, and its option values.
#include "cep/replay/archive.hpp"
#include "cep/replay/files.hpp"
#include "cep/replay/replay.hpp"

#include <doctest/doctest.h>

using namespace cep;
using namespace cep::replay;

namespace {
Timestamp at(const char* text) { return *parse_rfc3339(text); }
constexpr Duration hour = 3600 * nanos_per_second;
} // namespace

TEST_CASE("name_range: hours, days and minutes in file names and directories") {
    auto r = name_range("/data/events-2026-11-01T12.ndjson.zst");
    REQUIRE(r);
    CHECK(r->start == at("2026-11-01T12:00:00Z"));
    CHECK(r->end == at("2026-11-01T13:00:00Z"));

    r = name_range("arch/2026/11/01/12.ndjson.zst");
    REQUIRE(r);
    CHECK(r->start == at("2026-11-01T12:00:00Z"));
    CHECK(r->end == r->start + hour);

    r = name_range("logs/2026-11-01.ndjson");
    REQUIRE(r);
    CHECK(r->end == at("2026-11-02T00:00:00Z"));

    // Minutes give only a start: the file's width is not in its name.
    r = name_range("arch/2026/11/01/12/10.ndjson.zst");
    REQUIRE(r);
    CHECK(r->start == at("2026-11-01T12:10:00Z"));
    CHECK(!r->end);

    // The last date wins over directories; a second run's file keeps its hour.
    r = name_range("/backup-2025-01-01/2026/11/01/07.1.ndjson.zst");
    REQUIRE(r);
    CHECK(r->start == at("2026-11-01T07:00:00Z"));

    CHECK(!name_range("events.ndjson"));
    CHECK(!name_range("run-12345/part-0001.ndjson"));
    CHECK(!name_range("2026-13-01.ndjson"));
}

TEST_CASE("archive_path: what the archiver writes, name_range reads back") {
    const Timestamp t = at("2026-11-01T12:10:00Z");
    CHECK(archive_path(t, hour) == "2026/11/01/12.ndjson.zst");
    CHECK(archive_path(t, 24 * hour) == "2026/11/01.ndjson.zst");
    CHECK(archive_path(t, 600 * nanos_per_second) == "2026/11/01/12/10.ndjson.zst");
    CHECK(name_range(archive_path(t, 600 * nanos_per_second))->start == t);
    CHECK(!check_archive_every(hour));
    CHECK(!check_archive_every(600 * nanos_per_second));
    CHECK(check_archive_every(7 * 60 * nanos_per_second)); // does not divide a day
    CHECK(check_archive_every(90 * nanos_per_second));     // not whole minutes
}

TEST_CASE("--speed and --from/--until values") {
    CHECK(parse_speed("max") == 0.0);
    CHECK(parse_speed("1x") == 1.0);
    CHECK(parse_speed("60x") == 60.0);
    CHECK(parse_speed("0.5x") == 0.5);
    CHECK(!parse_speed("0x"));
    CHECK(!parse_speed("fast"));
    CHECK(!parse_speed("10"));
    CHECK(parse_time_bound("1793534400000") == at("2026-11-01T12:00:00Z"));
    CHECK(parse_time_bound("2026-11-01T12:00:00Z") == at("2026-11-01T12:00:00Z"));
    CHECK(!parse_time_bound("yesterday"));
}

TEST_CASE("is_archive_name") {
    CHECK(is_archive_name("a.ndjson"));
    CHECK(is_archive_name("a.jsonl.zst"));
    CHECK(is_archive_name("a.json"));
    CHECK(!is_archive_name("a.ndjson.zst.123.tmp"));
    CHECK(!is_archive_name("notes.txt"));
}
