#include "cep/diagnostics.hpp"

#include "cep/errors.hpp"
#include "cep/json_writer.hpp"

#include <cstdio>

namespace cep {

Diagnostics::Diagnostics(std::string tool, OnError policy, std::unique_ptr<io::RecordSink> dead_letter)
    : tool_(std::move(tool)), policy_(policy), dead_letter_(std::move(dead_letter)) {}

void Diagnostics::print(std::string_view where, std::string_view reason) {
    ++errors_;
    // The first errors in full, then one in a thousand: a wholly bad file must not flood stderr.
    if (errors_ > shown_in_full && errors_ % 1000 != 0) {
        ++suppressed_;
        return;
    }
    std::fprintf(stderr, "%s: error (at %.*s): %.*s\n", tool_.c_str(), static_cast<int>(where.size()), where.data(),
                 static_cast<int>(reason.size()), reason.data());
}

void Diagnostics::data_error(const Origin& origin, std::size_t column, std::string_view reason, std::string_view raw) {
    std::string where(origin.source);
    where += ':' + std::to_string(origin.line);
    if (column > 0) where += ':' + std::to_string(column);
    print(where, reason);
    if (dead_letter_) {
        scratch_.clear();
        scratch_ += "{\"source\":";
        append_json_string(scratch_, origin.source);
        scratch_ += ",\"line\":" + std::to_string(origin.line);
        if (column > 0) scratch_ += ",\"column\":" + std::to_string(column);
        scratch_ += ",\"reason\":";
        append_json_string(scratch_, reason);
        // Raw text as a JSON string when it is valid UTF-8; otherwise base64, so no byte is lost.
        if (is_valid_utf8(raw)) {
            scratch_ += ",\"raw\":";
            append_json_string(scratch_, raw);
        } else {
            scratch_ += ",\"raw_base64\":\"" + base64_encode(raw) + '"';
        }
        scratch_ += '}';
        dead_letter_->write(scratch_);
        ++dead_lettered_;
    }
    // The error itself was just printed (the first ones always are): say why we stop, only.
    if (policy_ == OnError::fail) throw RuntimeError("stopping at the first bad record (--on-error=fail)");
}

void Diagnostics::input_error(std::string_view source, std::string_view reason) {
    ++errors_;
    std::fprintf(stderr, "%s: error (at %.*s): %.*s\n", tool_.c_str(), static_cast<int>(source.size()), source.data(),
                 static_cast<int>(reason.size()), reason.data());
    if (policy_ == OnError::fail) throw RuntimeError("stopping at the first error (--on-error=fail)");
}

void Diagnostics::warn(std::string_view message) const {
    std::fprintf(stderr, "%s: %.*s\n", tool_.c_str(), static_cast<int>(message.size()), message.data());
}

void Diagnostics::finish() {
    if (suppressed_ > 0)
        std::fprintf(stderr, "%s: %llu more errors not shown%s\n", tool_.c_str(),
                     static_cast<unsigned long long>(suppressed_),
                     dead_letter_ ? " (all are in the dead-letter output)" : " (use --dead-letter FILE to keep them)");
    suppressed_ = 0;
    if (dead_letter_) dead_letter_->close();
}

} // namespace cep
