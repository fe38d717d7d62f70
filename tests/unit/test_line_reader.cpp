// LineReader: NDJSON line splitting in place. Line numbers must stay right through blank,
// CRLF and over-long lines, since every error message and dead letter cites them.

#include "cep/errors.hpp"
#include "cep/io/line_reader.hpp"

#include <algorithm>
#include <doctest/doctest.h>
#include <simdjson.h>
#include <string>
#include <vector>

using cep::io::ByteSource;
using cep::io::LineReader;
using Status = LineReader::Status;

namespace {

/// Serves a string in reads of at most `chunk` bytes, then optionally fails like a cut file.
class MemorySource final : public ByteSource {
  public:
    explicit MemorySource(std::string data, std::size_t chunk = 1 << 16, bool fail_at_end = false)
        : data_(std::move(data)), chunk_(chunk), fail_at_end_(fail_at_end) {}

    std::size_t read(std::span<char> buffer) override {
        const std::size_t n = std::min({buffer.size(), chunk_, data_.size() - pos_});
        if (n == 0 && fail_at_end_) throw cep::RuntimeError("simulated read failure");
        std::copy_n(data_.data() + pos_, n, buffer.data());
        pos_ += n;
        ++reads_;
        return n;
    }
    const std::string& name() const override { return name_; }
    std::uint64_t position() const override { return pos_; }
    std::optional<std::uint64_t> size() const override { return data_.size(); }

  private:
    std::string data_;
    std::size_t chunk_;
    bool fail_at_end_;
    std::size_t pos_ = 0;
    std::size_t reads_ = 0;
    std::string name_ = "memory";
};

struct Got {
    Status status;
    std::string text;
    std::uint64_t number;
    bool operator==(const Got&) const = default;
};

std::string describe(const Got& got) {
    static constexpr const char* names[] = {"line", "too_long", "source_error", "idle", "end"};
    return std::string(names[static_cast<int>(got.status)]) + " " + std::to_string(got.number) + " '" +
           got.text + "'";
}

/// Reads everything, up to and including the final end or source_error.
std::vector<Got> read_all(LineReader& reader) {
    std::vector<Got> out;
    LineReader::Line line;
    for (;;) {
        const Status status = reader.next(line);
        if (status == Status::end || status == Status::source_error) {
            out.push_back({status, {}, 0});
            return out;
        }
        out.push_back({status, std::string(line.text), line.number});
    }
}

std::vector<Got> read_all(std::string data, std::size_t chunk = 1 << 16, std::size_t max_line = 1 << 20) {
    LineReader reader(std::make_unique<MemorySource>(std::move(data), chunk), max_line);
    return read_all(reader);
}

const Got end{Status::end, {}, 0};

} // namespace

template <> struct doctest::StringMaker<std::vector<Got>> {
    static doctest::String convert(const std::vector<Got>& lines) {
        std::string out = "[";
        for (const auto& got : lines)
            out += describe(got).substr(0, 80) + "; ";
        return (out + "]").c_str();
    }
};

TEST_CASE("lines come out whole whatever the read size") {
    const std::string data = "{\"a\":1}\n{\"bb\":22}\n{\"ccc\":333}\n";
    const std::vector<Got> want{{Status::line, "{\"a\":1}", 1},
                                {Status::line, "{\"bb\":22}", 2},
                                {Status::line, "{\"ccc\":333}", 3},
                                end};
    for (std::size_t chunk : {1, 2, 3, 7, 8, 9, 64}) {
        CAPTURE(chunk);
        CHECK(read_all(data, chunk) == want);
    }
}

TEST_CASE("lines split across buffer refills and moves") {
    // 4096 bytes is the smallest buffer; 50 lines of 100 bytes force the pending partial line
    // to be moved to the front and the rest read after it.
    std::string data;
    std::vector<Got> want;
    for (int i = 1; i <= 50; ++i) {
        std::string line = "{\"n\":" + std::to_string(i) + ",\"pad\":\"";
        line += std::string(100 - line.size() - 2, 'x') + "\"}";
        REQUIRE(line.size() == 100);
        data += line + "\n";
        want.push_back({Status::line, line, static_cast<std::uint64_t>(i)});
    }
    want.push_back(end);
    CHECK(read_all(data, 1000, 200) == want);
    CHECK(read_all(data, 333, 200) == want);
    CHECK(read_all(data, 1 << 16, 200) == want);
}

TEST_CASE("a final line without a newline is still a line") {
    CHECK(read_all("{\"a\":1}\n{\"b\":2}", 3) ==
          std::vector<Got>{{Status::line, "{\"a\":1}", 1}, {Status::line, "{\"b\":2}", 2}, end});
    CHECK(read_all("{\"a\":1}") == std::vector<Got>{{Status::line, "{\"a\":1}", 1}, end});
    CHECK(read_all("") == std::vector<Got>{end});
}

TEST_CASE("CRLF line ends lose their CR") {
    CHECK(read_all("{\"a\":1}\r\n{\"b\":2}\r\n", 5) ==
          std::vector<Got>{{Status::line, "{\"a\":1}", 1}, {Status::line, "{\"b\":2}", 2}, end});
    // The CR and LF split across two reads.
    CHECK(read_all("{\"a\":1}\r\n{\"b\":2}\r", 8) ==
          std::vector<Got>{{Status::line, "{\"a\":1}", 1}, {Status::line, "{\"b\":2}", 2}, end});
    // Only one CR is a line end; one inside the line stays.
    CHECK(read_all("{\"a\":1}\r\r\n") == std::vector<Got>{{Status::line, "{\"a\":1}\r", 1}, end});
}

TEST_CASE("blank and whitespace-only lines are skipped but counted") {
    CHECK(read_all("\n{\"a\":1}\n\n   \n\t \r\n\r\n{\"b\":2}\n\n", 4) ==
          std::vector<Got>{{Status::line, "{\"a\":1}", 2}, {Status::line, "{\"b\":2}", 7}, end});
    CHECK(read_all("\n\n  \n") == std::vector<Got>{end});
    CHECK(read_all("  \t") == std::vector<Got>{end});
}

TEST_CASE("a line over the limit is reported, skipped, and the next line is fine") {
    const std::string long_line(30, 'x');
    SUBCASE("whole line in the buffer") {
        CHECK(read_all("{\"a\":1}\n" + long_line + "\n{\"b\":2}\n", 1 << 16, 10) ==
              std::vector<Got>{{Status::line, "{\"a\":1}", 1},
                               {Status::too_long, long_line, 2},
                               {Status::line, "{\"b\":2}", 3},
                               end});
    }
    SUBCASE("line arriving in pieces: reported once, with its first bytes") {
        const auto got = read_all("{\"a\":1}\n" + long_line + "\n{\"b\":2}\n", 4, 10);
        REQUIRE(got.size() == 4);
        CHECK(got[0] == Got{Status::line, "{\"a\":1}", 1});
        CHECK(got[1].status == Status::too_long);
        CHECK(got[1].number == 2);
        CHECK(got[1].text.size() > 10);
        CHECK(long_line.starts_with(got[1].text));
        CHECK(got[2] == Got{Status::line, "{\"b\":2}", 3});
        CHECK(got[3] == end);
    }
    SUBCASE("exactly at the limit is accepted, one byte more is not") {
        CHECK(read_all(std::string(10, 'y') + "\n" + std::string(11, 'z') + "\n", 1 << 16, 10) ==
              std::vector<Got>{
                  {Status::line, std::string(10, 'y'), 1}, {Status::too_long, std::string(11, 'z'), 2}, end});
    }
    SUBCASE("over-long last line without a newline") {
        const auto got = read_all("{\"a\":1}\n" + long_line, 4, 10);
        REQUIRE(got.size() == 3);
        CHECK(got[1].status == Status::too_long);
        CHECK(got[1].number == 2);
        CHECK(got[2] == end);
    }
    SUBCASE("several over-long lines in a row, far longer than the buffer") {
        const std::string huge(20000, 'h');
        const auto got = read_all(huge + "\n" + huge + "\n{\"c\":3}\n" + huge, 1500, 100);
        REQUIRE(got.size() == 5);
        CHECK(got[0].status == Status::too_long);
        CHECK(got[0].number == 1);
        CHECK(got[0].text.size() <= 1024); // only the start is kept, for the message
        CHECK(got[1].status == Status::too_long);
        CHECK(got[1].number == 2);
        CHECK(got[2] == Got{Status::line, "{\"c\":3}", 3});
        CHECK(got[3].status == Status::too_long);
        CHECK(got[3].number == 4);
        CHECK(got[4] == end);
    }
}

TEST_CASE("a 64 MiB+ line is accepted when the limit allows") {
    const std::size_t size = (std::size_t{64} << 20) + 12345;
    std::string big = "{\"blob\":\"";
    big += std::string(size - big.size() - 2, 'b');
    big += "\"}";
    REQUIRE(big.size() == size);
    LineReader reader(std::make_unique<MemorySource>("{\"a\":1}\n" + big + "\n{\"z\":26}\n", 1 << 20),
                      std::size_t{128} << 20);
    LineReader::Line line;
    REQUIRE(reader.next(line) == Status::line);
    CHECK(line.number == 1);
    REQUIRE(reader.next(line) == Status::line);
    CHECK(line.number == 2);
    CHECK(line.text.size() == size);
    CHECK(line.text.substr(0, 9) == "{\"blob\":\"");
    CHECK(line.text.substr(size - 3) == "b\"}");
    REQUIRE(reader.next(line) == Status::line);
    CHECK(line.text == "{\"z\":26}");
    CHECK(line.number == 3);
    CHECK(reader.next(line) == Status::end);
}

TEST_CASE("every line is followed by readable padding, so simdjson can parse it in place") {
    std::string data;
    for (int i = 0; i < 500; ++i)
        data += "{\"i\":" + std::to_string(i) + "}\n";
    data += "{\"last\":true}"; // at the very end of the buffer, no newline
    LineReader reader(std::make_unique<MemorySource>(data, 777), 64);
    simdjson::ondemand::parser parser;
    LineReader::Line line;
    int count = 0;
    while (reader.next(line) == Status::line) {
        // Touch every padding byte: under ASan an out-of-bounds read fails here.
        volatile char sink = 0;
        for (std::size_t k = 0; k < simdjson::SIMDJSON_PADDING; ++k)
            sink = sink + line.text.data()[line.text.size() + k];
        simdjson::ondemand::document doc;
        REQUIRE(
            parser.iterate(line.text.data(), line.text.size(), line.text.size() + simdjson::SIMDJSON_PADDING)
                .get(doc) == simdjson::SUCCESS);
        simdjson::ondemand::object object;
        CHECK(doc.get_object().get(object) == simdjson::SUCCESS);
        ++count;
    }
    CHECK(count == 501);
}

TEST_CASE("a read failure ends the stream after the complete lines, without the partial one") {
    LineReader reader(std::make_unique<MemorySource>("{\"a\":1}\n{\"b\":2}\n{\"c\":", 5, true), 1024);
    const auto got = read_all(reader);
    CHECK(got == std::vector<Got>{{Status::line, "{\"a\":1}", 1},
                                  {Status::line, "{\"b\":2}", 2},
                                  {Status::source_error, {}, 0}});
    CHECK(reader.error() == "simulated read failure");
}

TEST_CASE("a CRLF line exactly at the limit is accepted even when its CR arrives alone") {
    const std::string at_limit(10, 'y');
    for (std::size_t chunk : {1, 3, 11, 64}) {
        CAPTURE(chunk);
        CHECK(read_all(at_limit + "\r\n" + at_limit + "\r\n", chunk, 10) ==
              std::vector<Got>{{Status::line, at_limit, 1}, {Status::line, at_limit, 2}, end});
    }
}

TEST_CASE("blocks too: a read failure ends them after the complete lines, without the partial one") {
    LineReader reader(std::make_unique<MemorySource>("{\"a\":1}\n{\"b\":2}\n{\"c\":", 5, true), 1024);
    std::string text;
    LineReader::Line block;
    LineReader::Status status;
    while ((status = reader.next_block(block, -1)) == Status::line)
        text += block.text;
    CHECK(status == Status::source_error);
    CHECK(text == "{\"a\":1}\n{\"b\":2}\n");
}
