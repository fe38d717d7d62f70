#pragma once
// Splits a byte stream into NDJSON lines in place: no copy per line, CRLF and blank lines
// tolerated, and every line followed by at least SIMDJSON_PADDING readable bytes so simdjson
// can parse it where it lies.

#include "cep/io/byte_source.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace cep::io {

class LineReader {
  public:
    enum class Status {
        line,         ///< `line` holds the next non-blank line
        too_long,     ///< the line exceeded the limit; `line.text` holds its first bytes
        source_error, ///< reading failed (e.g. truncated .zst); error() says why; the stream ends
        idle,         ///< no complete line arrived within the timeout given to next()
        end,
    };
    struct Line {
        std::string_view text;
        std::uint64_t number = 0; ///< 1-based
    };

    LineReader(std::unique_ptr<ByteSource> source, std::size_t max_line_bytes);

    /// The next line. With `timeout_ms` >= 0, returns Status::idle when the source has no
    /// new bytes within that time (live streams: pipes, terminals, sockets).
    Status next(Line& line, int timeout_ms = -1);

    /// Block mode, for parsing many lines in one pass: every complete line buffered now, as
    /// one block ending after a newline (or at the end of input). `block.number` is the number
    /// of its first line; the caller splits it and reports how many lines it held through
    /// lines_consumed() before the next call. Returns too_long / idle / end / source_error as
    /// next() does (too_long with `block.text` holding the start of the line).
    Status next_block(Line& block, int timeout_ms = -1);
    void lines_consumed(std::uint64_t count) { line_number_ += count; }
    const std::string& error() const { return error_; }
    const ByteSource& source() const { return *source_; }

    static constexpr std::size_t initial_capacity = std::size_t{1} << 20;

  private:
    bool refill(); // false at end of input
    int timeout_ms_ = -1;
    bool timed_out_ = false;

    std::unique_ptr<ByteSource> source_;
    std::size_t max_line_;
    std::vector<char> buffer_; // capacity_ bytes of data + padding
    std::size_t capacity_ = initial_capacity;
    std::size_t begin_ = 0, end_ = 0, scan_ = 0;
    std::uint64_t line_number_ = 0;
    bool eof_ = false;
    bool skipping_ = false; // discarding the rest of an over-long line
    std::string error_;
};

} // namespace cep::io
