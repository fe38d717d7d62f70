#pragma once
// Byte streams that records are read from: files, stdin, and zstd-compressed versions of both.
// Kafka yields records rather than bytes, so it plugs in one level up as a RecordSource.

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

namespace cep::io {

class ByteSource {
  public:
    virtual ~ByteSource() = default;
    /// Reads up to `buffer.size()` bytes; returns 0 only at the end. Throws RuntimeError.
    virtual std::size_t read(std::span<char> buffer) = 0;
    /// Display name used in messages: the path, or `<stdin>`.
    virtual const std::string& name() const = 0;
    /// Bytes consumed from the underlying file (compressed bytes for .zst), for progress.
    virtual std::uint64_t position() const = 0;
    /// Size of the underlying file when known (regular files), for progress.
    virtual std::optional<std::uint64_t> size() const = 0;
    /// Waits up to `timeout_ms` for input; false when none came (the stream is idle).
    /// Sources that never block (regular files) return true at once.
    virtual bool wait_readable(int timeout_ms) { (void)timeout_ms; return true; }
};

/// Opens `path` (`-` is stdin). Content that starts with the zstd magic number is decompressed
/// transparently, whatever the file is called. Throws RuntimeError when the file cannot be opened.
std::unique_ptr<ByteSource> open_byte_source(const std::string& path);

} // namespace cep::io
