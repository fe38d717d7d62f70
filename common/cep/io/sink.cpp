#include "cep/io/sink.hpp"

#include "cep/errors.hpp"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>
#include <vector>
#include <zstd.h>

namespace cep::io {
namespace {

void write_all(int fd, const char* data, std::size_t size, const std::string& name) {
    while (size > 0) {
        const ssize_t put = ::write(fd, data, size);
        if (put < 0) {
            if (errno == EINTR) continue;
            if (errno == EPIPE) throw BrokenPipe();
            throw RuntimeError(name + ": write failed: " + std::strerror(errno));
        }
        data += put;
        size -= static_cast<std::size_t>(put);
    }
}

/// Buffered line output to a file descriptor, optionally through a zstd stream.
class FileSink final : public RecordSink {
  public:
    FileSink(int fd, std::string name, bool owned, bool compress)
        : fd_(fd), name_(std::move(name)), owned_(owned) {
        buffer_.reserve(buffer_size);
        if (compress) {
            zstd_ = ZSTD_createCStream();
            if (zstd_ == nullptr) throw RuntimeError("out of memory creating a zstd stream");
            ZSTD_CCtx_setParameter(zstd_, ZSTD_c_compressionLevel, 3);
            compressed_.resize(ZSTD_CStreamOutSize());
        }
    }
    ~FileSink() override {
        try {
            finish();
        } catch (const std::exception&) {
            // Destructors must not throw; explicit flush() reports errors.
        }
        if (zstd_ != nullptr) ZSTD_freeCStream(zstd_);
        if (owned_) ::close(fd_);
    }
    FileSink(const FileSink&) = delete;
    FileSink& operator=(const FileSink&) = delete;

    void write(std::string_view record, std::string_view) override {
        if (buffer_.size() + record.size() + 1 > buffer_size) drain(ZSTD_e_continue);
        if (record.size() + 1 > buffer_size) {
            emit(record.data(), record.size(), ZSTD_e_continue);
            emit("\n", 1, ZSTD_e_continue);
            return;
        }
        buffer_.insert(buffer_.end(), record.begin(), record.end());
        buffer_.push_back('\n');
    }
    void flush() override { drain(ZSTD_e_flush); }
    void close() override { finish(); }
    const std::string& name() const override { return name_; }
    std::uint64_t blocked_ns() const override { return blocked_ns_; }

  private:
    static constexpr std::size_t buffer_size = std::size_t{1} << 18;

    void drain(ZSTD_EndDirective mode) {
        emit(buffer_.data(), buffer_.size(), mode);
        buffer_.clear();
    }
    void finish() {
        if (finished_) return;
        finished_ = true;
        drain(ZSTD_e_end);
    }
    void emit(const char* data, std::size_t size, ZSTD_EndDirective mode) {
        if (zstd_ == nullptr) {
            timed_write(data, size);
            return;
        }
        ZSTD_inBuffer in{data, size, 0};
        for (;;) {
            ZSTD_outBuffer out{compressed_.data(), compressed_.size(), 0};
            const std::size_t left = ZSTD_compressStream2(zstd_, &out, &in, mode);
            if (ZSTD_isError(left)) throw RuntimeError(name_ + ": zstd: " + ZSTD_getErrorName(left));
            timed_write(compressed_.data(), out.pos);
            if (mode == ZSTD_e_continue ? in.pos == in.size : left == 0) break;
        }
    }

    /// A write of a whole buffer (256 KiB), so two clock reads cost nothing next to it.
    void timed_write(const char* data, std::size_t size) {
        if (size == 0) return;
        const auto start = std::chrono::steady_clock::now();
        write_all(fd_, data, size, name_);
        blocked_ns_ += static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start)
                .count());
    }

    int fd_;
    std::string name_;
    bool owned_;
    bool finished_ = false;
    std::uint64_t blocked_ns_ = 0;
    std::vector<char> buffer_;
    ZSTD_CStream* zstd_ = nullptr;
    std::vector<char> compressed_;
};

bool ends_with(const std::string& text, std::string_view suffix) {
    return text.size() >= suffix.size() &&
           text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

} // namespace

std::unique_ptr<RecordSink> open_sink(const std::string& spec) {
    if (spec == "-" || spec.empty())
        return std::make_unique<FileSink>(STDOUT_FILENO, "<stdout>", false, false);
    return open_file_sink(spec, ends_with(spec, ".zst"));
}

std::unique_ptr<RecordSink> open_file_sink(const std::string& path, bool compress) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw RuntimeError(path + ": cannot open for writing: " + std::strerror(errno));
    return std::make_unique<FileSink>(fd, path, true, compress);
}

} // namespace cep::io
