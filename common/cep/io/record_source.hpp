#pragma once
// Where the shared driver reads records from: blocks of complete NDJSON lines, from a byte
// stream (files, stdin, .zst: LineReader, in place) or from Kafka (one message per line, with
// its topic, partition, offset, timestamp and key). The driver parses a block in one simdjson
// pass either way.

#include "cep/io/line_reader.hpp"
#include "cep/record.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cep::io {

/// What a source knows about one line beyond its text (Kafka: where the message came from).
struct LineMeta {
    std::string_view source;             ///< `topic[partition]`
    std::uint64_t line = 0;              ///< the message offset
    std::optional<std::int64_t> time_ms; ///< the message timestamp (create or log-append time)
    std::string_view key;                ///< the message key (empty if none)
};

struct Block {
    /// Complete lines, each ending in '\n' (at the end of a file the last one may not), followed
    /// in memory by at least simdjson::SIMDJSON_PADDING readable bytes. For bad_record: the raw
    /// text (perhaps truncated).
    std::string_view text;
    /// Byte streams: the number of the first line (lines are counted by the driver). Kafka: 0.
    std::uint64_t first_line = 0;
    /// One entry per line, in order, when the source has metadata; empty for byte streams.
    std::span<const LineMeta> lines;
    /// For bad_record: where it came from and why it is not a record.
    Origin origin;
    std::string reason;
};

/// Calls f(text, origin, source_time) for each line of the block that is not blank, with its
/// carriage return removed, in order; returns the number of the line after the block (for
/// lines_consumed). For the shared driver and fused mode, which read blocks alike.
template <typename F> std::uint64_t for_each_block_line(const Block& block, std::string_view name, F&& f) {
    std::string_view rest = block.text;
    std::uint64_t line_number = block.first_line;
    std::size_t index = 0; // into block.lines, when the source has metadata
    const bool meta = !block.lines.empty();
    while (!rest.empty()) {
        const std::size_t newline = rest.find('\n');
        std::string_view text = rest.substr(0, newline);
        rest.remove_prefix(newline == std::string_view::npos ? rest.size() : newline + 1);
        Origin origin{name, line_number++};
        std::optional<Timestamp> source_time;
        if (meta) {
            const LineMeta& line = block.lines[index++];
            origin = Origin{line.source, line.line};
            if (line.time_ms) source_time = *line.time_ms * nanos_per_milli;
        }
        if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
        // Blank lines are skipped. find_first_not_of makes a memchr call per byte, so only a
        // line that starts with a blank gets it.
        if (text.empty() ||
            ((text[0] == ' ' || text[0] == '\t') && text.find_first_not_of(" \t") == std::string_view::npos))
            continue;
        f(text, origin, source_time);
    }
    return line_number;
}

/// Partitions taken away from this consumer by a group rebalance.
struct RevokedPartitions {
    std::string_view topic;
    std::span<const std::int32_t> partitions;
    std::int32_t partition_count = 0; ///< of the topic, for mapping keys to partitions
};

class RecordSource {
  public:
    enum class Status {
        block,        ///< `block` holds lines
        bad_record,   ///< one input that is not a record (an over-long line, a message with a newline)
        idle,         ///< nothing arrived within the timeout
        end,          ///< the input is finished (end of file, --exit-at-end, a stop request)
        source_error, ///< reading failed; error() says why; the input ends
    };
    virtual ~RecordSource() = default;

    /// The next block. With `timeout_ms` >= 0, returns idle when nothing arrives in that time.
    /// The previous block must be fully processed first: its records count as written
    /// downstream once the caller next calls commit().
    virtual Status next_block(Block& block, int timeout_ms) = 0;
    /// Byte streams: how many lines (blank ones included) the last block held.
    virtual void lines_consumed(std::uint64_t count) { (void)count; }

    virtual const std::string& name() const = 0;
    virtual const std::string& error() const = 0;
    /// Bytes read so far and the total when known, for --progress and --stats.
    virtual std::uint64_t position() const = 0;
    virtual std::optional<std::uint64_t> size() const { return std::nullopt; }

    /// True when the source wants commit() called (Kafka with a group, every commit interval).
    virtual bool commit_due() const { return false; }
    /// Everything handed out so far has been written downstream (outputs flushed, Kafka
    /// outputs delivered): record that, e.g. commit the consumer group's offsets.
    virtual void commit() {}
    /// Called during next_block() when a rebalance takes partitions away, before their offsets
    /// are committed: the caller flushes its outputs (and tells the operator).
    virtual void on_revoke(std::function<void(const RevokedPartitions&)> handler) { (void)handler; }
    /// Ends the input cleanly: a final commit of what was handed out, then leave the group. The
    /// caller flushes its outputs first.
    virtual void close() {}
};

/// Byte streams through a LineReader: blocks point into its buffer, no copy.
class LineRecordSource final : public RecordSource {
  public:
    LineRecordSource(std::unique_ptr<ByteSource> source, std::size_t max_line_bytes)
        : reader_(std::move(source), max_line_bytes), max_line_bytes_(max_line_bytes) {}

    Status next_block(Block& block, int timeout_ms) override;
    void lines_consumed(std::uint64_t count) override { reader_.lines_consumed(count); }
    const std::string& name() const override { return reader_.source().name(); }
    const std::string& error() const override { return reader_.error(); }
    std::uint64_t position() const override { return reader_.source().position(); }
    std::optional<std::uint64_t> size() const override { return reader_.source().size(); }

  private:
    LineReader reader_;
    std::size_t max_line_bytes_;
    LineReader::Line line_;
};

/// The reason given for a line over --max-line-bytes.
std::string too_long_reason(std::size_t max_line_bytes);

} // namespace cep::io
