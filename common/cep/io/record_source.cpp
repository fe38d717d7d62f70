#include "cep/io/record_source.hpp"

namespace cep::io {

std::string too_long_reason(std::size_t max_line_bytes) {
    return "line longer than --max-line-bytes (" + std::to_string(max_line_bytes) + "); raw text truncated";
}

RecordSource::Status LineRecordSource::next_block(Block& block, int timeout_ms) {
    switch (reader_.next_block(line_, timeout_ms)) {
    case LineReader::Status::line:
        block.text = line_.text;
        block.first_line = line_.number;
        block.lines = {};
        return Status::block;
    case LineReader::Status::too_long:
        block.text = line_.text;
        block.origin = Origin{reader_.source().name(), line_.number};
        block.reason = too_long_reason(max_line_bytes_);
        return Status::bad_record;
    case LineReader::Status::idle:
        return Status::idle;
    case LineReader::Status::end:
        return Status::end;
    case LineReader::Status::source_error:
        return Status::source_error;
    }
    return Status::end;
}

} // namespace cep::io
