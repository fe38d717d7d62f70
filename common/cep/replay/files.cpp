#include "cep/replay/files.hpp"

#include "cep/errors.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <sys/stat.h>
#include <unistd.h>

namespace cep::replay {
namespace {

bool digits(std::string_view text, std::size_t at, std::size_t count) {
    if (at + count > text.size()) return false;
    for (std::size_t i = at; i < at + count; ++i)
        if (!std::isdigit(static_cast<unsigned char>(text[i]))) return false;
    // A field ends where its digits end: `2026-11-011` is no date.
    return at + count == text.size() || !std::isdigit(static_cast<unsigned char>(text[at + count]));
}

int number(std::string_view text, std::size_t at, std::size_t count) {
    int value = 0;
    for (std::size_t i = at; i < at + count; ++i) value = value * 10 + (text[i] - '0');
    return value;
}

bool one_of(char c, std::string_view set) { return set.find(c) != std::string_view::npos; }

/// A date starting at `at` (a 4-digit year not preceded by a digit), with its finest field.
std::optional<NameRange> date_at(std::string_view path, std::size_t at) {
    if (at > 0 && std::isdigit(static_cast<unsigned char>(path[at - 1]))) return std::nullopt;
    if (!digits(path, at, 4)) return std::nullopt;
    const char sep = at + 4 < path.size() ? path[at + 4] : '\0';
    if (sep != '-' && sep != '/') return std::nullopt;
    // The same separator between year, month and day: `2026-11/01` is not a date.
    if (!digits(path, at + 5, 2) || at + 7 >= path.size() || path[at + 7] != sep || !digits(path, at + 8, 2))
        return std::nullopt;
    const int year = number(path, at, 4), month = number(path, at + 5, 2), day = number(path, at + 8, 2);
    if (year < 1970 || month < 1 || month > 12 || day < 1 || day > 31) return std::nullopt;
    int hour = -1, minute = -1;
    std::size_t pos = at + 10;
    if (pos < path.size() && one_of(path[pos], "T_- /") && digits(path, pos + 1, 2)) {
        hour = number(path, pos + 1, 2);
        if (hour > 23) return std::nullopt;
        pos += 3;
        if (pos < path.size() && one_of(path[pos], ":-/") && digits(path, pos + 1, 2)) {
            minute = number(path, pos + 1, 2);
            if (minute > 59) return std::nullopt;
        }
    }
    char text[32];
    std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:00Z", year, month, day, std::max(hour, 0),
                  std::max(minute, 0));
    const auto start = parse_rfc3339(text);
    if (!start) return std::nullopt; // 2026-02-31
    NameRange range{*start, std::nullopt};
    if (hour < 0) range.end = *start + 86400 * nanos_per_second;
    else if (minute < 0) range.end = *start + 3600 * nanos_per_second;
    return range;
}

} // namespace

std::optional<NameRange> name_range(std::string_view path) {
    // The last date wins: a file name is more specific than the directories above it.
    for (std::size_t at = path.size(); at-- > 0;)
        if (auto range = date_at(path, at)) return range;
    return std::nullopt;
}

bool is_archive_name(std::string_view name) {
    if (name.ends_with(".zst")) name.remove_suffix(4);
    return name.ends_with(".ndjson") || name.ends_with(".jsonl") || name.ends_with(".json");
}

std::vector<std::string> list_archive(const std::string& dir) {
    namespace fs = std::filesystem;
    std::vector<std::string> files;
    std::error_code error;
    fs::recursive_directory_iterator it(dir, fs::directory_options::follow_directory_symlink, error);
    if (error) throw RuntimeError(dir + ": cannot read the directory: " + error.message());
    for (const auto end = fs::recursive_directory_iterator(); it != end; it.increment(error)) {
        if (error) throw RuntimeError(dir + ": cannot read the directory: " + error.message());
        const std::string name = it->path().filename().string();
        // Hidden files, and files an archiver is still writing (`*.tmp`), are not archive.
        if (name.starts_with('.') || !is_archive_name(name)) continue;
        if (!it->is_regular_file(error)) continue;
        files.push_back(it->path().string());
    }
    std::sort(files.begin(), files.end());
    return files;
}

std::optional<std::string> last_line(const std::string& path, std::size_t max_bytes) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return std::nullopt;
    std::optional<std::string> result;
    struct stat st {};
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= 4) {
        unsigned char magic[4];
        static constexpr unsigned char zstd_magic[4] = {0x28, 0xB5, 0x2F, 0xFD};
        const auto size = static_cast<std::size_t>(st.st_size);
        if (::pread(fd, magic, 4, 0) == 4 && std::memcmp(magic, zstd_magic, 4) != 0) {
            const std::size_t want = std::min(size, max_bytes);
            std::string tail(want, '\0');
            if (::pread(fd, tail.data(), want, static_cast<off_t>(size - want)) == static_cast<ssize_t>(want)) {
                while (!tail.empty() && std::isspace(static_cast<unsigned char>(tail.back()))) tail.pop_back();
                const auto newline = tail.rfind('\n');
                // Without a newline the line may have started before what was read, unless
                // the whole file was.
                if (newline != std::string::npos) result = tail.substr(newline + 1);
                else if (want == size && !tail.empty()) result = tail;
            }
        }
    }
    ::close(fd);
    return result;
}

} // namespace cep::replay
