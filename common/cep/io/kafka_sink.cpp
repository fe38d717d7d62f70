#include "cep/io/kafka_sink.hpp"

#include "cep/errors.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace cep::io {
namespace {

class KafkaSink final : public RecordSink {
  public:
    explicit KafkaSink(const KafkaEndpoint& endpoint)
        : name_(endpoint.spec), topic_(endpoint.topics.front()), outage_(endpoint.outage_limit) {
        KafkaConf conf = make_kafka_conf(endpoint, {
                                                       // Retries must not duplicate or reorder.
                                                       {"enable.idempotence", "true"},
                                                       // Kafka's Java default partitioner, which
                                                       // cep-keyby --partitions also implements:
                                                       // a key lands in the same partition whoever
                                                       // produced it (librdkafka's own default is
                                                       // CRC32-based).
                                                       {"partitioner", "murmur2_random"},
                                                   });
        rd_kafka_conf_set_opaque(conf.get(), this);
        rd_kafka_conf_set_dr_msg_cb(conf.get(), &KafkaSink::on_delivery);
        rd_kafka_conf_set_error_cb(conf.get(), &KafkaSink::on_error);
        rk_ = make_kafka_handle(RD_KAFKA_PRODUCER, std::move(conf), name_);
        // One topic handle for every message: naming the topic per message would look it up
        // (under the client's lock) each time.
        topic_handle_.reset(rd_kafka_topic_new(rk_.get(), topic_.c_str(), nullptr));
        if (!topic_handle_)
            throw RuntimeError(name_ + ": topic '" + topic_ +
                               "': " + rd_kafka_err2str(rd_kafka_last_error()));
    }

    ~KafkaSink() override {
        if (!rk_) return;
        topic_handle_.reset();
        // Only reached without close() on an error path: drop what is queued rather than
        // block the exit on brokers that may be gone (the run already failed).
        if (!closed_) rd_kafka_purge(rk_.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_poll(rk_.get(), 0);
    }

    void write(std::string_view record, std::string_view key) override {
        check_failures();
        rd_kafka_vu_t fields[4];
        std::size_t count = 0;
        fields[count].vtype = RD_KAFKA_VTYPE_RKT;
        fields[count++].u.rkt = topic_handle_.get();
        fields[count].vtype = RD_KAFKA_VTYPE_VALUE;
        fields[count].u.mem.ptr = const_cast<char*>(record.data());
        fields[count++].u.mem.size = record.size();
        if (!key.empty()) {
            fields[count].vtype = RD_KAFKA_VTYPE_KEY;
            fields[count].u.mem.ptr = const_cast<char*>(key.data());
            fields[count++].u.mem.size = key.size();
        }
        fields[count].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
        fields[count++].u.i = RD_KAFKA_MSG_F_COPY;
        for (;;) {
            KafkaError error(rd_kafka_produceva(rk_.get(), fields, count));
            if (!error) break;
            if (rd_kafka_error_code(error.get()) != RD_KAFKA_RESP_ERR__QUEUE_FULL)
                throw RuntimeError(name_ + ": cannot produce: " + rd_kafka_error_string(error.get()));
            // The local queue is full (brokers slow or unreachable): serve delivery reports
            // until there is room, giving up only after the outage limit.
            wait(100);
        }
        // Delivery reports are served here, in batches, rather than after every record.
        if (++since_poll_ >= 1024) {
            since_poll_ = 0;
            rd_kafka_poll(rk_.get(), 0);
            check_failures();
        }
    }

    void flush() override {
        while (rd_kafka_outq_len(rk_.get()) > 0)
            wait(200);
        check_failures();
    }

    void close() override {
        if (closed_) return;
        flush();
        closed_ = true;
    }

    const std::string& name() const override { return name_; }
    std::uint64_t blocked_ns() const override { return blocked_ns_; }

  private:
    static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque) {
        auto* self = static_cast<KafkaSink*>(opaque);
        if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            self->outage_.contact();
            return;
        }
        if (self->failed_++ == 0) self->first_failure_ = rd_kafka_err2str(message->err);
    }

    static void on_error(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
        auto* self = static_cast<KafkaSink*>(opaque);
        if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
            self->outage_.all_brokers_down();
        } else if (err == RD_KAFKA_RESP_ERR__FATAL) {
            char text[512];
            rd_kafka_fatal_error(rk, text, sizeof text);
            self->fatal_ = text;
        }
        (void)reason; // librdkafka's own log line already says it
    }

    /// Serves delivery reports for up to `timeout_ms`; throws when the outage limit is reached,
    /// or when a stop signal came and delivery still does not finish within drain_limit.
    void wait(int timeout_ms) {
        const auto start = std::chrono::steady_clock::now();
        rd_kafka_poll(rk_.get(), timeout_ms);
        blocked_ns_ += static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start)
                .count());
        check_failures();
        if (stop_requested()) {
            if (!stopping_since_) stopping_since_ = OutageClock::Clock::now();
            if (OutageClock::Clock::now() - *stopping_since_ > drain_limit)
                throw RuntimeError(
                    name_ + ": interrupted, and " + std::to_string(rd_kafka_outq_len(rk_.get())) +
                    " record(s) still not delivered after " + std::to_string(drain_limit.count()) + "s");
        }
        if (!outage_.down()) return;
        if (probe_brokers(rk_.get(), 500)) {
            outage_.contact();
        } else if (outage_.exceeded()) {
            throw RuntimeError(name_ + ": no Kafka broker reachable for " + format_duration(outage_.limit()) +
                               " (--kafka-outage-limit); " + std::to_string(rd_kafka_outq_len(rk_.get())) +
                               " record(s) not delivered");
        }
    }

    void check_failures() {
        if (!fatal_.empty()) throw RuntimeError(name_ + ": fatal Kafka producer error: " + fatal_);
        if (failed_ > 0)
            throw RuntimeError(name_ + ": " + std::to_string(failed_) + " record(s) not delivered to topic " +
                               topic_ + ": " + first_failure_);
    }

    // After SIGINT/SIGTERM, how long delivery may take before the tool gives up (exit 1)
    // rather than wait for message.timeout.ms (5 minutes by default).
    static constexpr std::chrono::seconds drain_limit{30};

    std::string name_;
    std::string topic_;
    OutageClock outage_;
    std::optional<OutageClock::Clock::time_point> stopping_since_;
    KafkaHandle rk_;
    KafkaTopic topic_handle_; // after rk_: released before it
    std::uint64_t failed_ = 0;
    std::uint64_t blocked_ns_ = 0; // in wait(): a full queue, or flushing until delivered
    std::string first_failure_;
    std::string fatal_;
    unsigned since_poll_ = 0;
    bool closed_ = false;
};

} // namespace

void check_kafka_output(const KafkaEndpoint& endpoint) {
    if (endpoint.topics.size() != 1)
        throw UsageError("'" + endpoint.spec + "': an output writes to one topic, not " +
                         std::to_string(endpoint.topics.size()));
    if (parse_kafka_url(endpoint.spec).group)
        throw UsageError("'" + endpoint.spec + "': group= applies to inputs, not outputs");
}

std::unique_ptr<RecordSink> open_kafka_sink(const KafkaEndpoint& endpoint) {
    check_kafka_output(endpoint);
    return std::make_unique<KafkaSink>(endpoint);
}

} // namespace cep::io
