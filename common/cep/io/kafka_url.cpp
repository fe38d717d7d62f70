#include "cep/io/kafka_url.hpp"

#include "cep/errors.hpp"
#include "cep/time.hpp"

#include <algorithm>
#include <charconv>

namespace cep::io {
namespace {

std::optional<std::int64_t> parse_int(std::string_view text) {
    std::int64_t value = 0;
    if (text.empty()) return std::nullopt;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
}

/// Epoch milliseconds, or an RFC 3339 time rounded down to its millisecond (Kafka's unit).
std::optional<std::int64_t> parse_time_ms(std::string_view text) {
    if (auto ms = parse_int(text)) return ms;
    if (auto time = parse_rfc3339(text)) {
        // Floor, not truncate: a time before 1970 must not round up into the next millisecond.
        std::int64_t ms = *time / nanos_per_milli;
        if (*time % nanos_per_milli < 0) --ms;
        return ms;
    }
    return std::nullopt;
}

std::string percent_decode(std::string_view text, std::string_view spec) {
    auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '%') {
            out += text[i];
            continue;
        }
        if (i + 2 >= text.size() || hex(text[i + 1]) < 0 || hex(text[i + 2]) < 0)
            throw UsageError("'" + std::string(spec) + "': bad percent escape in '" + std::string(text) +
                             "'");
        out += static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2]));
        i += 2;
    }
    return out;
}

/// Kafka's legal topic names: 1-249 of [a-zA-Z0-9._-].
bool valid_topic(std::string_view topic) {
    return !topic.empty() && topic.size() <= 249 && topic != "." && topic != ".." &&
           std::all_of(topic.begin(), topic.end(), [](char c) {
               return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '_' || c == '-';
           });
}

} // namespace

void parse_kafka_offset(std::string_view word, KafkaOffsets& offsets, std::string_view what) {
    const auto bad = [&](std::string_view why) {
        return UsageError(std::string(what) + ": " + std::string(why) + ": '" + std::string(word) +
                          "' (beginning, end, stored, N, -N, s@TS or e@TS; TS in epoch ms or RFC 3339)");
    };
    if (word.starts_with("e@")) {
        auto ms = parse_time_ms(word.substr(2));
        if (!ms) throw bad("not a time");
        if (offsets.stop_time_ms) throw bad("a second stop time");
        offsets.stop_time_ms = *ms;
        return;
    }
    KafkaStart start;
    if (word == "beginning") {
        start.kind = KafkaStart::Kind::beginning;
    } else if (word == "end") {
        start.kind = KafkaStart::Kind::end;
    } else if (word == "stored") {
        start.kind = KafkaStart::Kind::stored;
    } else if (word.starts_with("s@")) {
        auto ms = parse_time_ms(word.substr(2));
        if (!ms) throw bad("not a time");
        start = {KafkaStart::Kind::time, *ms};
    } else if (auto number = parse_int(word)) {
        if (word.starts_with('-')) {
            if (*number == 0) throw bad("-0 is not a count");
            start = {KafkaStart::Kind::from_end, -*number};
        } else {
            start = {KafkaStart::Kind::absolute, *number};
        }
    } else {
        throw bad("not an offset");
    }
    if (offsets.start && !(*offsets.start == start)) throw bad("a second start offset");
    offsets.start = start;
}

bool is_kafka_spec(std::string_view spec) {
    return spec.starts_with("kafka:");
}

KafkaUrl parse_kafka_url(std::string_view spec) {
    if (!is_kafka_spec(spec)) throw UsageError("'" + std::string(spec) + "' is not a kafka: name");
    std::string_view rest = spec.substr(6);
    std::string_view query;
    if (const auto mark = rest.find('?'); mark != std::string_view::npos) {
        query = rest.substr(mark + 1);
        rest = rest.substr(0, mark);
    }
    KafkaUrl url;
    std::string_view topics = rest;
    if (rest.starts_with("//")) {
        rest.remove_prefix(2);
        // kafka://BROKERS/TOPICS; without a slash the name is only topics (brokers from -b).
        if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
            url.brokers = std::string(rest.substr(0, slash));
            topics = rest.substr(slash + 1);
        } else {
            topics = rest;
        }
    }
    while (!topics.empty()) {
        const auto comma = topics.find(',');
        const std::string_view topic = topics.substr(0, comma);
        if (!valid_topic(topic))
            throw UsageError("'" + std::string(spec) + "': bad topic name '" + std::string(topic) +
                             "' (1-249 of a-z A-Z 0-9 . _ -)");
        url.topics.emplace_back(topic);
        topics = comma == std::string_view::npos ? std::string_view() : topics.substr(comma + 1);
        if (comma != std::string_view::npos && topics.empty())
            throw UsageError("'" + std::string(spec) + "': empty topic name after ','");
    }
    if (url.topics.empty())
        throw UsageError("'" + std::string(spec) +
                         "': no topic (write kafka://BROKERS/TOPIC, or kafka:TOPIC with -b BROKERS)");
    while (!query.empty()) {
        const auto amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
        if (pair.empty()) continue;
        const auto eq = pair.find('=');
        const std::string key = percent_decode(pair.substr(0, eq), spec);
        const std::string value =
            eq == std::string_view::npos ? "" : percent_decode(pair.substr(eq + 1), spec);
        if (key == "group") {
            if (value.empty()) throw UsageError("'" + std::string(spec) + "': group= needs a name");
            url.group = value;
        } else if (key == "offset") {
            url.offsets.push_back(value);
        } else if (key == "exit-at-end") {
            if (value.empty() || value == "true" || value == "1")
                url.exit_at_end = true;
            else if (value == "false" || value == "0")
                url.exit_at_end = false;
            else
                throw UsageError("'" + std::string(spec) + "': exit-at-end= takes true or false");
        } else {
            if (eq == std::string_view::npos)
                throw UsageError("'" + std::string(spec) + "': '" + key + "' needs a value (" + key +
                                 "=...)");
            url.properties.emplace_back(key, value);
        }
    }
    // Check offsets now, so a typo is a usage error before anything connects.
    KafkaOffsets offsets;
    for (const auto& word : url.offsets)
        parse_kafka_offset(word, offsets, "offset=");
    return url;
}

} // namespace cep::io
