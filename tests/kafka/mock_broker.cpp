// cep-mock-broker: a Kafka cluster in one process (librdkafka's mock cluster), speaking the real
// protocol on 127.0.0.1, for tests and for trying pipelines without a broker.
//
//   cep-mock-broker [--brokers N] [--topic NAME:PARTITIONS[:REPLICATION]]...
//
// Prints the bootstrap address (one line) on stdout, then reads commands on stdin, one per line,
// and answers each with one line, `ok ...` or `error ...`, so a script can wait for it:
//   down BROKER_ID | up BROKER_ID        disconnect a broker / accept connections again (-1: all)
//   error API ERRCODE COUNT              the next COUNT requests of API fail with ERRCODE
//   error TOPIC API ERRCODE COUNT        the same; TOPIC is accepted for readability only, the
//                                        mock (librdkafka 2.0) injects errors per API, not per topic
//   topic-error TOPIC ERRCODE            metadata for TOPIC reports ERRCODE (NO_ERROR clears it)
//   topic NAME:PARTITIONS[:REPLICATION]  create a topic now
//   rtt BROKER_ID MS                     delay every response of a broker
//   quit                                 stop (so does closing stdin, SIGTERM or SIGINT)
// API is a name (Produce, Fetch, ListOffsets, Metadata, OffsetCommit, OffsetFetch, FindCoordinator,
// JoinGroup, Heartbeat, LeaveGroup, SyncGroup, InitProducerId, ...) or a number; ERRCODE is a
// name as librdkafka spells it without RD_KAFKA_RESP_ERR_ (NOT_LEADER_FOR_PARTITION, _TRANSPORT)
// or a number.

#include <CLI/CLI.hpp>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <memory>
#include <optional>
#include <poll.h>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

volatile std::sig_atomic_t stop_requested = 0;
void on_signal(int) {
    stop_requested = 1;
}

struct KafkaDeleter {
    void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
struct ConfDeleter {
    void operator()(rd_kafka_conf_t* conf) const { rd_kafka_conf_destroy(conf); }
};
struct ClusterDeleter {
    void operator()(rd_kafka_mock_cluster_t* cluster) const { rd_kafka_mock_cluster_destroy(cluster); }
};

struct TopicSpec {
    std::string name;
    int partitions = 1;
    int replication = 1;
};

template <typename T> std::optional<T> parse_number(std::string_view text) {
    T value{};
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
}

std::optional<TopicSpec> parse_topic(const std::string& text) {
    TopicSpec spec;
    std::vector<std::string> parts;
    std::stringstream in(text);
    for (std::string part; std::getline(in, part, ':');)
        parts.push_back(part);
    if (parts.empty() || parts.size() > 3 || parts[0].empty()) return std::nullopt;
    spec.name = parts[0];
    if (parts.size() > 1) {
        auto partitions = parse_number<int>(parts[1]);
        if (!partitions || *partitions < 1) return std::nullopt;
        spec.partitions = *partitions;
    }
    if (parts.size() > 2) {
        auto replication = parse_number<int>(parts[2]);
        if (!replication || *replication < 1) return std::nullopt;
        spec.replication = *replication;
    }
    return spec;
}

/// Kafka protocol API keys by name; the mock's handlers cover these.
std::optional<int16_t> parse_api(const std::string& text) {
    static const std::pair<const char*, int16_t> names[] = {
        {"Produce", 0},          {"Fetch", 1},
        {"ListOffsets", 2},      {"Metadata", 3},
        {"OffsetCommit", 8},     {"OffsetFetch", 9},
        {"FindCoordinator", 10}, {"JoinGroup", 11},
        {"Heartbeat", 12},       {"LeaveGroup", 13},
        {"SyncGroup", 14},       {"DescribeGroups", 15},
        {"ListGroups", 16},      {"SaslHandshake", 17},
        {"ApiVersions", 18},     {"CreateTopics", 19},
        {"InitProducerId", 22},  {"AddPartitionsToTxn", 24},
        {"AddOffsetsToTxn", 25}, {"EndTxn", 26},
        {"TxnOffsetCommit", 28}, {"OffsetForLeaderEpoch", 23}};
    for (const auto& [name, key] : names)
        if (strcasecmp(name, text.c_str()) == 0) return key;
    return parse_number<int16_t>(text);
}

std::optional<rd_kafka_resp_err_t> parse_error(const std::string& text) {
    if (auto number = parse_number<int>(text)) return static_cast<rd_kafka_resp_err_t>(*number);
    const rd_kafka_err_desc* descs = nullptr;
    size_t count = 0;
    rd_kafka_get_err_descs(&descs, &count);
    std::string wanted = text;
    if (wanted.rfind("RD_KAFKA_RESP_ERR_", 0) == 0) wanted.erase(0, std::strlen("RD_KAFKA_RESP_ERR_"));
    for (size_t i = 0; i < count; ++i)
        if (descs[i].name != nullptr && strcasecmp(descs[i].name, wanted.c_str()) == 0) return descs[i].code;
    return std::nullopt;
}

class Fixture {
  public:
    Fixture(int brokers) {
        std::unique_ptr<rd_kafka_conf_t, ConfDeleter> conf(rd_kafka_conf_new());
        char errstr[512];
        // The handle only hosts the cluster; keep its own logging quiet unless asked.
        if (std::getenv("CEP_MOCK_DEBUG") == nullptr)
            rd_kafka_conf_set(conf.get(), "log_level", "3", errstr, sizeof errstr);
        rk_.reset(rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), errstr, sizeof errstr));
        if (!rk_) throw std::runtime_error(std::string("rd_kafka_new: ") + errstr);
        (void)conf.release(); // owned by rk_ now
        cluster_.reset(rd_kafka_mock_cluster_new(rk_.get(), brokers));
        if (!cluster_) throw std::runtime_error("rd_kafka_mock_cluster_new failed");
    }

    const char* bootstraps() const { return rd_kafka_mock_cluster_bootstraps(cluster_.get()); }

    std::string create_topic(const TopicSpec& spec) {
        const auto err =
            rd_kafka_mock_topic_create(cluster_.get(), spec.name.c_str(), spec.partitions, spec.replication);
        if (err) return std::string("error ") + rd_kafka_err2name(err);
        return "ok";
    }

    /// Runs one command line; returns the answer line.
    std::string command(const std::string& line) {
        std::stringstream in(line);
        std::vector<std::string> words;
        for (std::string word; in >> word;)
            words.push_back(word);
        if (words.empty()) return "ok";
        const std::string& verb = words[0];
        if ((verb == "down" || verb == "up") && words.size() == 2) {
            auto id = parse_number<int32_t>(words[1]);
            if (!id) return "error bad broker id";
            const auto err = verb == "down" ? rd_kafka_mock_broker_set_down(cluster_.get(), *id)
                                            : rd_kafka_mock_broker_set_up(cluster_.get(), *id);
            return err ? std::string("error ") + rd_kafka_err2name(err) : "ok";
        }
        if (verb == "error" && (words.size() == 4 || words.size() == 5)) {
            const std::size_t at = words.size() - 3; // the optional TOPIC is words[1]
            auto api = parse_api(words[at]);
            auto code = parse_error(words[at + 1]);
            auto count = parse_number<std::size_t>(words[at + 2]);
            if (!api) return "error unknown API '" + words[at] + "'";
            if (!code) return "error unknown error code '" + words[at + 1] + "'";
            if (!count) return "error bad count";
            std::vector<rd_kafka_resp_err_t> errors(*count, *code);
            rd_kafka_mock_push_request_errors_array(cluster_.get(), *api, errors.size(), errors.data());
            return "ok";
        }
        if (verb == "topic-error" && words.size() == 3) {
            auto code = parse_error(words[2]);
            if (!code) return "error unknown error code '" + words[2] + "'";
            rd_kafka_mock_topic_set_error(cluster_.get(), words[1].c_str(), *code);
            return "ok";
        }
        if (verb == "topic" && words.size() == 2) {
            auto spec = parse_topic(words[1]);
            if (!spec) return "error expected NAME:PARTITIONS[:REPLICATION]";
            return create_topic(*spec);
        }
        if (verb == "rtt" && words.size() == 3) {
            auto id = parse_number<int32_t>(words[1]);
            auto ms = parse_number<int>(words[2]);
            if (!id || !ms) return "error expected rtt BROKER_ID MS";
            const auto err = rd_kafka_mock_broker_set_rtt(cluster_.get(), *id, *ms);
            return err ? std::string("error ") + rd_kafka_err2name(err) : "ok";
        }
        return "error unknown command: " + line;
    }

  private:
    // Declared first so it is destroyed last: the cluster needs its handle until it is gone.
    std::unique_ptr<rd_kafka_t, KafkaDeleter> rk_;
    std::unique_ptr<rd_kafka_mock_cluster_t, ClusterDeleter> cluster_;
};

void answer(const std::string& line) {
    std::fputs(line.c_str(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"A Kafka mock cluster on 127.0.0.1 for tests and experiments (librdkafka's mock)",
                 "cep-mock-broker"};
    int brokers = 1;
    std::vector<std::string> topics;
    app.add_option("--brokers", brokers, "Number of brokers (ids 1..N)")->check(CLI::Range(1, 64));
    app.add_option("--topic", topics, "Create topic NAME:PARTITIONS[:REPLICATION] (repeatable)");
    app.footer("Commands on stdin, one per line: down ID | up ID | error [TOPIC] API ERRCODE COUNT |\n"
               "topic-error TOPIC ERRCODE | topic NAME:P[:R] | rtt ID MS | quit");
    CLI11_PARSE(app, argc, argv);

    struct sigaction action {};
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGTERM, &action, nullptr); // no SA_RESTART: poll() must return
    sigaction(SIGINT, &action, nullptr);
    std::signal(SIGPIPE, SIG_IGN);

    try {
        Fixture fixture(brokers);
        for (const auto& text : topics) {
            auto spec = parse_topic(text);
            if (!spec) {
                std::fprintf(stderr, "cep-mock-broker: --topic %s: expected NAME:PARTITIONS[:REPLICATION]\n",
                             text.c_str());
                return 2;
            }
            if (auto result = fixture.create_topic(*spec); result != "ok") {
                std::fprintf(stderr, "cep-mock-broker: topic %s: %s\n", spec->name.c_str(), result.c_str());
                return 1;
            }
        }
        answer(fixture.bootstraps());

        // Poll stdin so a signal is noticed promptly; read whole lines ourselves.
        std::string pending;
        char buffer[4096];
        while (!stop_requested) {
            pollfd fd{STDIN_FILENO, POLLIN, 0};
            const int ready = ::poll(&fd, 1, 200);
            if (ready < 0 && errno != EINTR) break;
            if (ready <= 0) continue;
            const ssize_t got = ::read(STDIN_FILENO, buffer, sizeof buffer);
            if (got < 0 && errno == EINTR) continue;
            if (got <= 0) break; // stdin closed
            pending.append(buffer, static_cast<std::size_t>(got));
            for (std::size_t newline; (newline = pending.find('\n')) != std::string::npos;) {
                std::string line = pending.substr(0, newline);
                pending.erase(0, newline + 1);
                if (!line.empty() && line.back() == '\r') line.pop_back();
                if (line == "quit") return 0;
                answer(fixture.command(line));
            }
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "cep-mock-broker: %s\n", e.what());
        return 1;
    }
    return 0;
}
