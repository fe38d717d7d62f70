#include "cep/replay/follow.hpp"

#include "cep/errors.hpp"
#include "cep/io/kafka_config.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace cep::replay {
namespace {

class FollowSource final : public io::ByteSource {
  public:
    explicit FollowSource(std::string path) : path_(std::move(path)) { reopen(); }
    ~FollowSource() override {
        if (fd_ >= 0) ::close(fd_);
    }
    FollowSource(const FollowSource&) = delete;
    FollowSource& operator=(const FollowSource&) = delete;

    std::size_t read(std::span<char> buffer) override {
        if (io::stop_requested() || fd_ < 0) return 0;
        for (;;) {
            const ssize_t got = ::read(fd_, buffer.data(), buffer.size());
            if (got >= 0) {
                offset_ += static_cast<std::uint64_t>(got);
                position_ += static_cast<std::uint64_t>(got);
                return static_cast<std::size_t>(got);
            }
            if (errno == EINTR) {
                if (io::stop_requested()) return 0;
                continue;
            }
            throw RuntimeError(path_ + ": read failed: " + std::strerror(errno));
        }
    }
    const std::string& name() const override { return path_; }
    std::uint64_t position() const override { return position_; }
    std::optional<std::uint64_t> size() const override { return std::nullopt; }

    bool wait_readable(int timeout_ms) override {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(std::max(timeout_ms, 0));
        for (;;) {
            if (io::stop_requested() || has_bytes()) return true;
            if (std::chrono::steady_clock::now() >= deadline) return false;
            std::this_thread::sleep_for(std::chrono::milliseconds(std::min(timeout_ms, 50)));
        }
    }

  private:
    /// True when read() will return bytes; handles rotation and truncation on the way.
    bool has_bytes() {
        if (fd_ < 0) return reopen() && has_bytes();
        struct stat open_st {};
        if (fstat(fd_, &open_st) == 0 && static_cast<std::uint64_t>(open_st.st_size) > offset_) return true;
        struct stat path_st {};
        if (::stat(path_.c_str(), &path_st) != 0) return false; // moved away, new one not there yet
        if (path_st.st_ino != open_st.st_ino || path_st.st_dev != open_st.st_dev) {
            // Rotated: the old file is read to its end (above) before the new one is opened.
            return reopen() && has_bytes();
        }
        if (static_cast<std::uint64_t>(path_st.st_size) < offset_) {
            // Truncated in place (`> file`): start again from its beginning, as tail -F does.
            ::lseek(fd_, 0, SEEK_SET);
            offset_ = 0;
            return path_st.st_size > 0;
        }
        return false;
    }
    bool reopen() {
        const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) return false;
        if (fd_ >= 0) ::close(fd_);
        fd_ = fd;
        offset_ = 0;
        return true;
    }

    std::string path_;
    int fd_ = -1;
    std::uint64_t offset_ = 0;   // in the open file
    std::uint64_t position_ = 0; // over every file read
};

} // namespace

std::unique_ptr<io::ByteSource> open_follow_source(const std::string& path) {
    return std::make_unique<FollowSource>(path);
}

} // namespace cep::replay
