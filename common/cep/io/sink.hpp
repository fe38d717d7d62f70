#pragma once
// Where records go: files, stdout, `.zst` files. Kafka plugs in as another RecordSink.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace cep::io {

class RecordSink {
  public:
    virtual ~RecordSink() = default;
    /// Writes one record (without its newline). `key` is the record's key when one is known
    /// (used by Kafka as the message key; ignored by files). Throws BrokenPipe or RuntimeError.
    virtual void write(std::string_view record, std::string_view key = {}) = 0;
    /// Pushes buffered bytes out; for Kafka, waits for delivery.
    virtual void flush() = 0;
    /// Flushes and ends the stream (e.g. the zstd frame); errors are thrown here, not lost.
    virtual void close() { flush(); }
    virtual const std::string& name() const = 0;
    /// Nanoseconds spent waiting for the output to take bytes (a full pipe, a slow disk, Kafka's
    /// full queue or delivery): the backpressure `cep run --metrics` reports.
    virtual std::uint64_t blocked_ns() const { return 0; }
};

/// Opens `spec` for writing: `-` is stdout; a name ending in `.zst` is zstd-compressed.
std::unique_ptr<RecordSink> open_sink(const std::string& spec);
/// Opens the file `path` for writing, zstd-compressed or not whatever its name (e.g. a `.tmp`
/// file renamed when complete).
std::unique_ptr<RecordSink> open_file_sink(const std::string& path, bool compress);

} // namespace cep::io
