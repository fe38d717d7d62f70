#pragma once
// `tail -F` as a ByteSource: a file that keeps growing, survives rotation (a new file under
// the same name) and truncation, and may not exist yet.

#include "cep/io/byte_source.hpp"

#include <memory>
#include <string>

namespace cep::replay {

/// Reads `path` as it grows. read() returns 0 only after a stop request (SIGINT/SIGTERM), so the
/// reader must be driven with a timeout (LineReader::next_block(block, timeout_ms)): wait_readable
/// says whether new bytes arrived.
std::unique_ptr<io::ByteSource> open_follow_source(const std::string& path);

} // namespace cep::replay
