#include "cep/io/byte_source.hpp"

#include "cep/errors.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>
#include <zstd.h>

namespace cep::io {
namespace {

class FileSource final : public ByteSource {
  public:
    FileSource(int fd, std::string name, bool owned) : fd_(fd), name_(std::move(name)), owned_(owned) {
        struct stat st {};
        if (fstat(fd_, &st) == 0 && S_ISREG(st.st_mode)) size_ = static_cast<std::uint64_t>(st.st_size);
    }
    ~FileSource() override {
        if (owned_) ::close(fd_);
    }
    FileSource(const FileSource&) = delete;
    FileSource& operator=(const FileSource&) = delete;

    std::size_t read(std::span<char> buffer) override {
        std::size_t n = 0;
        if (pending_pos_ < pending_.size()) {
            n = std::min(buffer.size(), pending_.size() - pending_pos_);
            std::memcpy(buffer.data(), pending_.data() + pending_pos_, n);
            pending_pos_ += n;
            return n;
        }
        for (;;) {
            const ssize_t got = ::read(fd_, buffer.data(), buffer.size());
            if (got >= 0) {
                position_ += static_cast<std::uint64_t>(got);
                return static_cast<std::size_t>(got);
            }
            if (errno == EINTR) continue;
            throw RuntimeError(name_ + ": read failed: " + std::strerror(errno));
        }
    }
    /// Reads the first bytes and keeps them to be returned again by read().
    std::span<const char> peek(std::size_t count) {
        pending_.resize(count);
        std::size_t have = 0;
        while (have < count) {
            const ssize_t got = ::read(fd_, pending_.data() + have, count - have);
            if (got == 0) break;
            if (got < 0) {
                if (errno == EINTR) continue;
                throw RuntimeError(name_ + ": read failed: " + std::strerror(errno));
            }
            have += static_cast<std::size_t>(got);
        }
        pending_.resize(have);
        position_ += have;
        return pending_;
    }
    const std::string& name() const override { return name_; }
    std::uint64_t position() const override { return position_; }
    std::optional<std::uint64_t> size() const override { return size_; }
    bool wait_readable(int timeout_ms) override {
        if (pending_pos_ < pending_.size() || size_) return true;
        pollfd fd{fd_, POLLIN, 0};
        for (;;) {
            const int ready = ::poll(&fd, 1, timeout_ms);
            if (ready >= 0) return ready > 0;
            if (errno != EINTR) return true; // let read() report the problem
        }
    }

  private:
    int fd_;
    std::string name_;
    bool owned_;
    std::optional<std::uint64_t> size_;
    std::uint64_t position_ = 0;
    std::vector<char> pending_;
    std::size_t pending_pos_ = 0;
};

class ZstdSource final : public ByteSource {
  public:
    explicit ZstdSource(std::unique_ptr<ByteSource> inner)
        : inner_(std::move(inner)), stream_(ZSTD_createDStream()), in_buffer_(ZSTD_DStreamInSize()) {
        if (stream_ == nullptr) throw RuntimeError("out of memory creating a zstd stream");
        ZSTD_initDStream(stream_);
    }
    ~ZstdSource() override { ZSTD_freeDStream(stream_); }
    ZstdSource(const ZstdSource&) = delete;
    ZstdSource& operator=(const ZstdSource&) = delete;

    std::size_t read(std::span<char> buffer) override {
        ZSTD_outBuffer out{buffer.data(), buffer.size(), 0};
        while (out.pos == 0) {
            if (in_.pos == in_.size) {
                if (finished_input_) {
                    // A frame that never finished means the file was cut short.
                    if (frame_open_) {
                        frame_open_ = false;
                        throw RuntimeError("truncated zstd stream (the file ends inside a frame)");
                    }
                    return 0;
                }
                const std::size_t got = inner_->read(in_buffer_);
                if (got == 0) {
                    finished_input_ = true;
                    continue;
                }
                in_ = ZSTD_inBuffer{in_buffer_.data(), got, 0};
            }
            const std::size_t ret = ZSTD_decompressStream(stream_, &out, &in_);
            if (ZSTD_isError(ret))
                throw RuntimeError(std::string("corrupt zstd data: ") + ZSTD_getErrorName(ret));
            frame_open_ = ret != 0;
        }
        return out.pos;
    }
    const std::string& name() const override { return inner_->name(); }
    std::uint64_t position() const override { return inner_->position(); }
    std::optional<std::uint64_t> size() const override { return inner_->size(); }
    bool wait_readable(int timeout_ms) override {
        // Input already buffered may still hold decompressed bytes.
        return in_.pos < in_.size || finished_input_ || inner_->wait_readable(timeout_ms);
    }

  private:
    std::unique_ptr<ByteSource> inner_;
    ZSTD_DStream* stream_;
    std::vector<char> in_buffer_;
    ZSTD_inBuffer in_{nullptr, 0, 0};
    bool finished_input_ = false;
    bool frame_open_ = false;
};

} // namespace

std::unique_ptr<ByteSource> open_byte_source(const std::string& path) {
    std::unique_ptr<FileSource> file;
    if (path == "-") {
        file = std::make_unique<FileSource>(STDIN_FILENO, "<stdin>", false);
    } else {
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) throw RuntimeError(path + ": cannot open: " + std::strerror(errno));
        struct stat st {};
        if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
            ::close(fd);
            throw RuntimeError(path + ": is a directory");
        }
        posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
        file = std::make_unique<FileSource>(fd, path, true);
    }
    const auto head = file->peek(4);
    static constexpr unsigned char zstd_magic[4] = {0x28, 0xB5, 0x2F, 0xFD};
    if (head.size() == 4 && std::memcmp(head.data(), zstd_magic, 4) == 0)
        return std::make_unique<ZstdSource>(std::move(file));
    return file;
}

} // namespace cep::io
