#pragma once
// Which archive files a replay reads, and what their names say about the time they hold.

#include "cep/time.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cep::replay {

/// The event-time range a file name promises: `events-2026-11-01T12.ndjson.zst` and
/// `2026/11/01/12.ndjson.zst` hold hour 12, `2026-11-01.ndjson` the day. A name that goes down
/// to the minute (`2026/11/01/12/10.ndjson.zst`) gives only a start: the width of such files
/// (10m? 2h?) is not in the name.
struct NameRange {
    Timestamp start = 0;
    std::optional<Timestamp> end; ///< exclusive
};

/// The last date (and hour, minute) written in `path`, if any: YYYY-MM-DD or YYYY/MM/DD, then
/// optionally T, _, -, space or / and HH, then optionally :, - or / and MM.
std::optional<NameRange> name_range(std::string_view path);

/// True for the names a directory replay reads: *.ndjson, *.jsonl, *.json, each optionally .zst.
bool is_archive_name(std::string_view name);

/// Every archive file under `dir`, recursively, sorted by path (zero-padded dates sort in time
/// order). Throws RuntimeError when `dir` cannot be read.
std::vector<std::string> list_archive(const std::string& dir);

/// The last non-blank line of a plain (not compressed) file, read from its end; nullopt for a
/// compressed, empty or unreadable file, or when the last line is longer than `max_bytes`.
std::optional<std::string> last_line(const std::string& path, std::size_t max_bytes = 1 << 16);

} // namespace cep::replay
