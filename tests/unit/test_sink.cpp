// RecordSink: what a tool writes. A .zst output must be a complete stream that reads back
// identically, and a reader that went away must surface as BrokenPipe (exit 0), not an error.

#include "cep/errors.hpp"
#include "cep/io/byte_source.hpp"
#include "cep/io/sink.hpp"

#include <csignal>
#include <cstdlib>
#include <doctest/doctest.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

namespace fs = std::filesystem;

namespace {

class ScratchDir {
  public:
    ScratchDir() {
        std::string pattern = (fs::temp_directory_path() / "cep-unit-XXXXXX").string();
        REQUIRE(mkdtemp(pattern.data()) != nullptr);
        path_ = pattern;
    }
    ~ScratchDir() {
        std::error_code ignored; // cleanup is best effort; the test result does not depend on it
        fs::remove_all(path_, ignored);
    }
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;
    std::string operator/(const std::string& name) const { return (path_ / name).string(); }

  private:
    fs::path path_;
};

std::string raw_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

/// The content as a reader sees it (decompressed when zstd).
std::string content(const std::string& path) {
    auto source = cep::io::open_byte_source(path);
    std::string out;
    std::vector<char> buffer(1 << 16);
    while (const std::size_t got = source->read(buffer))
        out.append(buffer.data(), got);
    return out;
}

std::vector<std::string> sample_records(int count) {
    std::vector<std::string> records;
    for (int i = 0; i < count; ++i)
        records.push_back(R"({"i":)" + std::to_string(i) + R"(,"text":"record number )" +
                          std::to_string(i * 7919) + R"("})");
    return records;
}

/// A pipe whose read end can be closed to play a reader that left (`| head`).
class Pipe {
  public:
    Pipe() { REQUIRE(::pipe(fds_) == 0); }
    ~Pipe() {
        close_read();
        if (fds_[1] >= 0) ::close(fds_[1]);
    }
    Pipe(const Pipe&) = delete;
    Pipe& operator=(const Pipe&) = delete;
    void close_read() {
        if (fds_[0] >= 0) ::close(fds_[0]);
        fds_[0] = -1;
    }
    /// A path that opens the write end again, so open_sink can be used unchanged.
    std::string write_path() const { return "/dev/fd/" + std::to_string(fds_[1]); }

  private:
    int fds_[2] = {-1, -1};
};

} // namespace

TEST_CASE("plain file output: one record per line, in order") {
    ScratchDir dir;
    const std::string path = dir / "out.ndjson";
    auto sink = cep::io::open_sink(path);
    CHECK(sink->name() == path);
    sink->write(R"({"a":1})");
    sink->write(R"({"b":2})", "key-is-ignored-by-files");
    sink->close();
    CHECK(raw_bytes(path) == "{\"a\":1}\n{\"b\":2}\n");
}

TEST_CASE(".zst output round-trips, small and larger than the write buffer") {
    ScratchDir dir;
    for (int count : {0, 1, 3, 20000}) {
        CAPTURE(count);
        const std::string path = dir / ("out-" + std::to_string(count) + ".ndjson.zst");
        const auto records = sample_records(count);
        std::string expected;
        {
            auto sink = cep::io::open_sink(path);
            for (const auto& record : records) {
                sink->write(record);
                expected += record + "\n";
            }
            sink->close();
        }
        const std::string bytes = raw_bytes(path);
        REQUIRE(bytes.size() >= 4);
        CHECK(bytes.substr(0, 4) == "\x28\xB5\x2F\xFD"); // really compressed
        CHECK(content(path) == expected);
        if (count == 20000) CHECK(bytes.size() < expected.size() / 2);
    }
}

TEST_CASE(".zst output: flushes mid-stream and a record bigger than the buffer keep one valid stream") {
    ScratchDir dir;
    const std::string path = dir / "mixed.zst";
    const std::string huge = R"({"blob":")" + std::string(1 << 19, 'q') + R"("})";
    {
        auto sink = cep::io::open_sink(path);
        sink->write(R"({"first":1})");
        sink->flush();
        sink->write(huge);
        sink->write(R"({"last":1})");
        sink->flush();
        // No close(): the destructor must still end the frame.
    }
    CHECK(content(path) == "{\"first\":1}\n" + huge + "\n{\"last\":1}\n");
}

TEST_CASE("close() twice and writing nothing are fine") {
    ScratchDir dir;
    auto sink = cep::io::open_sink(dir / "empty.ndjson");
    sink->close();
    sink->close();
    CHECK(raw_bytes(dir / "empty.ndjson").empty());
}

TEST_CASE("an output that cannot be opened is a RuntimeError naming it") {
    CHECK_THROWS_WITH_AS(cep::io::open_sink("/nonexistent/dir/out.ndjson"),
                         doctest::Contains("/nonexistent/dir/out.ndjson: cannot open for writing"),
                         cep::RuntimeError);
}

TEST_CASE("a closed pipe is BrokenPipe, from write, flush or close") {
    // As the tools do: EPIPE must come back as an error, not kill the process.
    const auto previous = std::signal(SIGPIPE, SIG_IGN);
    SUBCASE("flush") {
        Pipe pipe;
        auto sink = cep::io::open_sink(pipe.write_path());
        sink->write(R"({"a":1})");
        pipe.close_read();
        CHECK_THROWS_AS(sink->flush(), cep::BrokenPipe);
    }
    SUBCASE("a record larger than the buffer is written at once") {
        Pipe pipe;
        auto sink = cep::io::open_sink(pipe.write_path());
        pipe.close_read();
        CHECK_THROWS_AS(sink->write(std::string(1 << 19, 'x')), cep::BrokenPipe);
    }
    SUBCASE("close of a .zst stream") {
        Pipe pipe;
        ScratchDir dir;
        // A .zst name that leads to the pipe, so the sink compresses into it.
        fs::create_symlink(pipe.write_path(), dir / "out.zst");
        auto sink = cep::io::open_sink(dir / "out.zst");
        sink->write(R"({"a":1})");
        pipe.close_read();
        CHECK_THROWS_AS(sink->close(), cep::BrokenPipe);
    }
    std::signal(SIGPIPE, previous);
}
