#include "cep/io/line_reader.hpp"

#include "cep/errors.hpp"

#include <algorithm>
#include <cstring>
#include <simdjson.h>

namespace cep::io {
namespace {

bool is_blank(std::string_view text) {
    return std::all_of(text.begin(), text.end(), [](char c) { return c == ' ' || c == '\t' || c == '\r'; });
}

} // namespace

LineReader::LineReader(std::unique_ptr<ByteSource> source, std::size_t max_line_bytes)
    : source_(std::move(source)), max_line_(max_line_bytes) {
    capacity_ = std::min(initial_capacity, std::max<std::size_t>(max_line_ + 1, 4096));
    buffer_.resize(capacity_ + simdjson::SIMDJSON_PADDING);
}

bool LineReader::refill() {
    if (eof_) return false;
    if (begin_ > 0) {
        std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
        end_ -= begin_;
        scan_ -= begin_;
        begin_ = 0;
    }
    if (end_ == capacity_) {
        // The pending line fills the buffer: grow, up to one line of the maximum length.
        capacity_ = std::min(capacity_ * 2, max_line_ + 2);
        buffer_.resize(capacity_ + simdjson::SIMDJSON_PADDING);
    }
    if (timeout_ms_ >= 0 && !source_->wait_readable(timeout_ms_)) {
        timed_out_ = true;
        return false;
    }
    std::size_t got = 0;
    try {
        got = source_->read(std::span<char>(buffer_.data() + end_, capacity_ - end_));
    } catch (const RuntimeError& e) {
        error_ = e.what();
        eof_ = true;
        return false;
    }
    if (got == 0) {
        eof_ = true;
        return false;
    }
    end_ += got;
    return true;
}

LineReader::Status LineReader::next(Line& line, int timeout_ms) {
    timeout_ms_ = timeout_ms;
    timed_out_ = false;
    for (;;) {
        if (skipping_) {
            const void* nl = std::memchr(buffer_.data() + begin_, '\n', end_ - begin_);
            if (nl != nullptr) {
                begin_ = scan_ = static_cast<std::size_t>(static_cast<const char*>(nl) - buffer_.data()) + 1;
                skipping_ = false;
                continue;
            }
            begin_ = scan_ = end_;
            if (!refill()) {
                if (timed_out_) return Status::idle;
                break;
            }
            continue;
        }
        const void* found = std::memchr(buffer_.data() + scan_, '\n', end_ - scan_);
        std::size_t stop = 0;
        if (found != nullptr) {
            stop = static_cast<std::size_t>(static_cast<const char*>(found) - buffer_.data());
            scan_ = stop + 1;
        } else {
            scan_ = end_;
            // One byte of slack: a line at the limit may still be followed by its CR.
            if (end_ - begin_ > max_line_ + 1) {
                line.number = ++line_number_;
                line.text = std::string_view(buffer_.data() + begin_, std::min<std::size_t>(end_ - begin_, 1024));
                skipping_ = true;
                begin_ = end_; // the text view stays valid until the next call
                scan_ = end_;
                return Status::too_long;
            }
            if (refill()) continue;
            if (timed_out_) return Status::idle;
            // After a read error the pending bytes are a line cut short, not a record.
            if (begin_ == end_ || !error_.empty()) break;
            stop = end_; // last line without a newline
            scan_ = end_;
        }
        std::string_view text(buffer_.data() + begin_, stop - begin_);
        begin_ = scan_;
        ++line_number_;
        if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
        if (is_blank(text)) continue;
        line.number = line_number_;
        if (text.size() > max_line_) {
            line.text = text.substr(0, 1024);
            return Status::too_long;
        }
        line.text = text;
        return Status::line;
    }
    return error_.empty() ? Status::end : Status::source_error;
}

} // namespace cep::io

namespace cep::io {

LineReader::Status LineReader::next_block(Line& block, int timeout_ms) {
    timeout_ms_ = timeout_ms;
    timed_out_ = false;
    for (;;) {
        if (skipping_) {
            const void* nl = std::memchr(buffer_.data() + begin_, '\n', end_ - begin_);
            if (nl != nullptr) {
                begin_ = scan_ = static_cast<std::size_t>(static_cast<const char*>(nl) - buffer_.data()) + 1;
                skipping_ = false;
                continue;
            }
            begin_ = scan_ = end_;
            if (!refill()) {
                if (timed_out_) return Status::idle;
                break;
            }
            continue;
        }
        const void* last = memrchr(buffer_.data() + begin_, '\n', end_ - begin_);
        if (last != nullptr) {
            const std::size_t stop = static_cast<std::size_t>(static_cast<const char*>(last) - buffer_.data()) + 1;
            block.text = std::string_view(buffer_.data() + begin_, stop - begin_);
            block.number = line_number_ + 1;
            begin_ = scan_ = stop;
            return Status::line;
        }
        if (end_ - begin_ > max_line_) {
            block.number = ++line_number_;
            block.text = std::string_view(buffer_.data() + begin_, std::min<std::size_t>(end_ - begin_, 1024));
            skipping_ = true;
            begin_ = scan_ = end_;
            return Status::too_long;
        }
        if (refill()) continue;
        if (timed_out_) return Status::idle;
        // After a read error the pending bytes are a line cut short, not a record (as next()).
        if (begin_ == end_ || !error_.empty()) break;
        // The last line, without a newline.
        block.text = std::string_view(buffer_.data() + begin_, end_ - begin_);
        block.number = line_number_ + 1;
        begin_ = scan_ = end_;
        return Status::line;
    }
    return error_.empty() ? Status::end : Status::source_error;
}

} // namespace cep::io
