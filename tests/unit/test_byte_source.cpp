// ByteSource: files and zstd. Compression is recognised by content, never by name, and a cut
// .zst must surface as an error after the lines that did arrive, not as a quiet early end.

#include "cep/errors.hpp"
#include "cep/io/byte_source.hpp"
#include "cep/io/line_reader.hpp"

#include <cstdlib>
#include <doctest/doctest.h>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <unistd.h>
#include <vector>
#include <zstd.h>

namespace fs = std::filesystem;
using cep::io::LineReader;

namespace {

/// A scratch directory for one test case, removed afterwards.
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

    std::string file(const std::string& name, std::string_view content) const {
        const fs::path path = path_ / name;
        std::ofstream out(path, std::ios::binary);
        out.write(content.data(), static_cast<std::streamsize>(content.size()));
        return path.string();
    }

  private:
    fs::path path_;
};

/// One zstd frame; with a checksum, as the zstd CLI writes by default.
std::string compress(std::string_view text, int level = 3, bool checksum = false) {
    std::unique_ptr<ZSTD_CCtx, decltype(&ZSTD_freeCCtx)> context(ZSTD_createCCtx(), ZSTD_freeCCtx);
    ZSTD_CCtx_setParameter(context.get(), ZSTD_c_compressionLevel, level);
    ZSTD_CCtx_setParameter(context.get(), ZSTD_c_checksumFlag, checksum ? 1 : 0);
    std::string out(ZSTD_compressBound(text.size()), '\0');
    const std::size_t size = ZSTD_compress2(context.get(), out.data(), out.size(), text.data(), text.size());
    REQUIRE_FALSE(ZSTD_isError(size));
    out.resize(size);
    return out;
}

std::string read_everything(cep::io::ByteSource& source, std::size_t chunk = 4096) {
    std::string out;
    std::vector<char> buffer(chunk);
    while (const std::size_t got = source.read(buffer))
        out.append(buffer.data(), got);
    return out;
}

/// Deterministic, poorly compressible lines, so a few hundred KiB make several zstd blocks.
std::string sample_lines(int count) {
    std::string out;
    std::uint64_t state = 42;
    for (int i = 0; i < count; ++i) {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        out += "{\"i\":" + std::to_string(i) + ",\"r\":\"" + std::to_string(state) + "\"}\n";
    }
    return out;
}

} // namespace

TEST_CASE("a plain file reads back as is, with name, size and position") {
    ScratchDir dir;
    const std::string text = "{\"a\":1}\n{\"b\":2}\n";
    const std::string path = dir.file("events.ndjson", text);
    auto source = cep::io::open_byte_source(path);
    CHECK(source->name() == path);
    CHECK(source->size() == text.size());
    CHECK(read_everything(*source, 3) == text);
    CHECK(source->position() == text.size());
}

TEST_CASE("a file named .zst that is not compressed is read as plain text") {
    ScratchDir dir;
    const std::string text = "{\"a\":1}\n";
    auto source = cep::io::open_byte_source(dir.file("plain.zst", text));
    CHECK(read_everything(*source) == text);
}

TEST_CASE("files shorter than the zstd magic are read whole") {
    ScratchDir dir;
    CHECK(read_everything(*cep::io::open_byte_source(dir.file("empty", ""))).empty());
    CHECK(read_everything(*cep::io::open_byte_source(dir.file("short", "{}\n"))) == "{}\n");
    // The first magic bytes but not all four: not zstd.
    CHECK(read_everything(*cep::io::open_byte_source(dir.file("almost", "\x28\xB5\x2F"))) == "\x28\xB5\x2F");
}

TEST_CASE("zstd is detected by its magic bytes whatever the file is called") {
    ScratchDir dir;
    const std::string text = sample_lines(100);
    for (const char* name : {"events.ndjson", "events.zst", "noext"}) {
        CAPTURE(name);
        auto source = cep::io::open_byte_source(dir.file(name, compress(text)));
        CHECK(read_everything(*source, 7) == text);
    }
}

TEST_CASE("multi-frame zstd (concatenated files) decompresses every frame in order") {
    ScratchDir dir;
    const std::string first = sample_lines(50), second = "{\"second\":true}\n", third = sample_lines(3000);
    auto source = cep::io::open_byte_source(
        dir.file("multi.ndjson.zst", compress(first) + compress(second, 1) + compress(third, 19)));
    CHECK(read_everything(*source) == first + second + third);
}

TEST_CASE("a missing file or a directory cannot be opened") {
    ScratchDir dir;
    CHECK_THROWS_WITH_AS(cep::io::open_byte_source("/nonexistent/cep/x.ndjson"),
                         "/nonexistent/cep/x.ndjson: cannot open: No such file or directory",
                         cep::RuntimeError);
    CHECK_THROWS_WITH_AS(cep::io::open_byte_source(fs::temp_directory_path().string()),
                         doctest::Contains("is a directory"), cep::RuntimeError);
}

TEST_CASE("truncated zstd: the complete lines before the cut, then a source error") {
    ScratchDir dir;
    const std::string text = sample_lines(20000); // ~700 KB: several 128 KiB blocks
    const std::string packed = compress(text);
    const std::string path = dir.file("cut.ndjson.zst", packed.substr(0, packed.size() / 2));
    LineReader reader(cep::io::open_byte_source(path), 1 << 20);
    LineReader::Line line;
    std::size_t lines = 0;
    std::string seen;
    LineReader::Status status;
    while ((status = reader.next(line)) == LineReader::Status::line) {
        CHECK(line.number == lines + 1);
        seen.append(line.text).push_back('\n');
        ++lines;
    }
    CHECK(status == LineReader::Status::source_error);
    CHECK(reader.error() == "truncated zstd stream (the file ends inside a frame)");
    // Some blocks were whole, and every line that came out is exactly a line of the original.
    CHECK(lines > 1000);
    CHECK(lines < 20000);
    CHECK(text.compare(0, seen.size(), seen) == 0);
}

TEST_CASE("truncated zstd: only the magic, or cut inside the frame header") {
    ScratchDir dir;
    const std::string packed = compress("{\"a\":1}\n");
    for (std::size_t keep : {std::size_t{4}, std::size_t{6}, packed.size() - 1}) {
        CAPTURE(keep);
        auto source = cep::io::open_byte_source(dir.file("cut.zst", packed.substr(0, keep)));
        CHECK_THROWS_AS(read_everything(*source), cep::RuntimeError);
    }
}

TEST_CASE("corrupt zstd data is an error, not garbage output") {
    ScratchDir dir;
    // The checksum makes detection certain; without it a flipped literal can decode silently.
    std::string packed = compress(sample_lines(200), 3, true);
    for (std::size_t i = 12; i < packed.size(); i += 7)
        packed[i] = static_cast<char>(packed[i] ^ 0x5A);
    auto source = cep::io::open_byte_source(dir.file("bad.zst", packed));
    CHECK_THROWS_WITH_AS(read_everything(*source), doctest::Contains("zstd"), cep::RuntimeError);
}
