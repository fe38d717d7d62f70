#include "cep/io/kafka_source.hpp"

#include "cep/errors.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <deque>
#include <simdjson.h>
#include <unistd.h>

namespace cep::io {
namespace {

using Clock = std::chrono::steady_clock;

int elapsed_ms(Clock::time_point since) {
    return static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - since).count());
}

/// Errors after which waiting cannot help: the input fails with librdkafka's reason.
bool permanent_consumer_error(rd_kafka_resp_err_t err) {
    switch (err) {
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE:
    case RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET:
    case RD_KAFKA_RESP_ERR__FATAL:
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
        return true;
    default:
        return false;
    }
}

class KafkaSource final : public RecordSource {
  public:
    KafkaSource(const KafkaEndpoint& endpoint, std::size_t max_line_bytes, KafkaCommits commits)
        : endpoint_(endpoint), name_(endpoint.spec), max_line_(max_line_bytes), commits_(commits),
          outage_(endpoint.outage_limit) {
        check_kafka_input(endpoint);
        const bool group = !endpoint.group.empty();
        const auto start = endpoint.offsets.start;
        using Kind = KafkaStart::Kind;
        std::vector<std::pair<std::string, std::string>> defaults = {
            // Offsets are committed by commit(), after the output is written, never behind our back.
            {"enable.auto.commit", "false"},
            {"enable.auto.offset.store", "false"},
            // End-of-partition events drive --exit-at-end for partitions that start at their end.
            {"enable.partition.eof", "true"},
            // A group's first run reads what is there rather than skipping it.
            {"auto.offset.reset", start && start->kind == Kind::end ? "latest" : "earliest"},
        };
        // librdkafka needs a group.id for a consumer handle even when it only assigns; it never
        // joins the group then, and we never commit.
        defaults.emplace_back("group.id", group ? endpoint.group : "cep-no-group");
        KafkaConf conf = make_kafka_conf(endpoint, defaults);
        if (group) {
            // What the user set with -X wins, but the group name is the one given.
            set_kafka_property(conf.get(), "group.id", endpoint.group, name_);
            rd_kafka_conf_set_rebalance_cb(conf.get(), &KafkaSource::on_rebalance_cb);
            rd_kafka_conf_set_offset_commit_cb(conf.get(), &KafkaSource::on_commit_cb);
        }
        if (const auto interval = kafka_property(endpoint, "auto.commit.interval.ms"); !interval.empty())
            commit_interval_ms_ = std::max(1, std::atoi(interval.c_str()));
        rd_kafka_conf_set_opaque(conf.get(), this);
        rd_kafka_conf_set_error_cb(conf.get(), &KafkaSource::on_error_cb);
        rk_ = make_kafka_handle(RD_KAFKA_CONSUMER, std::move(conf), name_);
        rd_kafka_poll_set_consumer(rk_.get());
        // Messages are taken from the consumer queue in batches: one call for many messages
        // instead of a lock, a clock read and a wake-up check per message. The same queue
        // serves the rebalance, commit and error callbacks, as rd_kafka_consumer_poll would.
        queue_.reset(rd_kafka_queue_get_consumer(rk_.get()));
        if (!queue_) throw RuntimeError(name_ + ": no consumer queue");
        batch_.resize(batch_size, nullptr);
        buffer_.resize(initial_capacity + simdjson::SIMDJSON_PADDING);
        last_commit_ = Clock::now();

        load_metadata();
        if (group) {
            KafkaPartitionList topics(
                rd_kafka_topic_partition_list_new(static_cast<int>(endpoint.topics.size())));
            for (const auto& topic : endpoint.topics)
                rd_kafka_topic_partition_list_add(topics.get(), topic.c_str(), RD_KAFKA_PARTITION_UA);
            if (const auto err = rd_kafka_subscribe(rk_.get(), topics.get()))
                throw RuntimeError(name_ + ": cannot subscribe: " + rd_kafka_err2str(err));
        } else {
            assign_all();
        }
    }

    ~KafkaSource() override {
        drop_batch([](const rd_kafka_message_t&) { return true; });
    }
    KafkaSource(const KafkaSource&) = delete;
    KafkaSource& operator=(const KafkaSource&) = delete;

    Status next_block(Block& block, int timeout_ms) override {
        block.lines = {};
        block.first_line = 0;
        if (pending_bad_) return hand_out_bad(block);
        if (finished_) return Status::end;
        used_ = 0;
        lines_.clear();
        const auto started = Clock::now();
        auto last_probe = started;
        for (;;) {
            if (stop_requested() || all_done()) {
                finished_ = true;
                if (!lines_.empty()) return hand_out(block);
                return Status::end;
            }
            // Wait only while the block is empty; once it has lines, take what is already here.
            int wait = 0;
            if (lines_.empty()) {
                wait = slice_ms;
                if (timeout_ms >= 0) wait = std::min(wait, std::max(0, timeout_ms - elapsed_ms(started)));
            }
            KafkaMessage message(next_message(wait));
            if (!error_.empty()) return Status::source_error;
            if (!message) {
                if (!lines_.empty()) return hand_out(block);
                if (outage_.down() && elapsed_ms(last_probe) >= 1000) {
                    last_probe = Clock::now();
                    if (probe_brokers(rk_.get(), 500))
                        outage_.contact();
                    else if (outage_.exceeded())
                        throw RuntimeError(name_ + ": no Kafka broker reachable for " +
                                           format_duration(outage_.limit()) + " (--kafka-outage-limit)");
                }
                if (timeout_ms >= 0 && elapsed_ms(started) >= timeout_ms) return Status::idle;
                continue;
            }
            if (take(*message)) {
                // A bad record ends the block so that it is reported in offset order.
                if (lines_.empty()) return hand_out_bad(block);
                return hand_out(block);
            }
            if (used_ >= block_bytes || lines_.size() >= block_lines) return hand_out(block);
        }
    }

    const std::string& name() const override { return name_; }
    const std::string& error() const override { return error_; }
    std::uint64_t position() const override { return bytes_; }

    bool commit_due() const override {
        return !endpoint_.group.empty() && uncommitted_ && elapsed_ms(last_commit_) >= commit_interval_ms_;
    }

    void commit() override { commit_partitions(nullptr, false); }

    void on_revoke(std::function<void(const RevokedPartitions&)> handler) override {
        revoke_handler_ = std::move(handler);
    }

    void close() override {
        if (closed_) return;
        closed_ = true;
        if (endpoint_.group.empty()) {
            rd_kafka_consumer_close(rk_.get());
            return;
        }
        commit_partitions(nullptr, true);
        // Leaves the group; the rebalance callback sees the final revocation (nothing left to
        // commit by then).
        if (const auto err = rd_kafka_consumer_close(rk_.get()))
            report(std::string("closing the consumer: ") + rd_kafka_err2str(err));
    }

  private:
    static constexpr std::size_t initial_capacity = std::size_t{1} << 20;
    static constexpr std::size_t block_bytes = std::size_t{1} << 20;
    static constexpr std::size_t block_lines = 16384;
    static constexpr int slice_ms = 100;            // how often a waiting poll looks at signals and outages
    static constexpr std::size_t batch_size = 1024; // messages taken from librdkafka per call

    struct Partition {
        std::string topic;
        std::int32_t id = 0;
        std::string label; // `topic[id]`, the origin of its records
        bool assigned = false;
        bool done = false;
        std::int64_t end = -1;        // --exit-at-end: the first offset not to read
        std::int64_t handed_out = -1; // next offset after the last record handed out
        std::int64_t committed = -1;
        // s@TS when the broker could not look the time up (see assign_all).
        enum class Probe { none, probing, scanning } probe = Probe::none;
        std::int64_t low = 0;
    };
    struct Topic {
        std::string name;
        std::int32_t partition_count = 0;
        std::deque<Partition> partitions; // a deque, so labels stay put when it grows
    };
    struct PendingLine {
        Partition* partition;
        std::int64_t offset;
        std::optional<std::int64_t> time_ms;
        std::size_t text_begin, text_size; // in buffer_, without the newline
        std::size_t key_begin, key_size;   // in keys_
    };
    struct BadRecord {
        Partition* partition;
        std::int64_t offset;
        std::string text;
        std::string reason;
    };

    // --- setup ---

    void load_metadata() {
        const auto started = Clock::now();
        for (const auto& name : endpoint_.topics) {
            KafkaTopic topic(rd_kafka_topic_new(rk_.get(), name.c_str(), nullptr));
            for (;;) {
                const rd_kafka_metadata_t* raw = nullptr;
                const auto err = rd_kafka_metadata(rk_.get(), 0, topic.get(), &raw, 5000);
                KafkaMetadata metadata(raw);
                if (err == RD_KAFKA_RESP_ERR_NO_ERROR && metadata->topic_cnt == 1) {
                    const auto& info = metadata->topics[0];
                    if (info.err == RD_KAFKA_RESP_ERR_NO_ERROR && info.partition_cnt > 0) {
                        Topic& entry = topics_.emplace_back();
                        entry.name = name;
                        grow(entry, info.partition_cnt);
                        break;
                    }
                    if (info.err != RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE &&
                        info.err != RD_KAFKA_RESP_ERR_NO_ERROR)
                        throw RuntimeError(name_ + ": topic '" + name + "': " + rd_kafka_err2str(info.err));
                }
                if (std::chrono::nanoseconds(Clock::now() - started).count() > endpoint_.outage_limit)
                    throw RuntimeError(name_ + ": no Kafka broker answered for " +
                                       format_duration(endpoint_.outage_limit) +
                                       " (--kafka-outage-limit): " + rd_kafka_err2str(err));
                if (stop_requested()) throw RuntimeError(name_ + ": interrupted while connecting");
            }
        }
    }

    void grow(Topic& topic, std::int32_t count) {
        while (static_cast<std::int32_t>(topic.partitions.size()) < count) {
            Partition& partition = topic.partitions.emplace_back();
            partition.topic = topic.name;
            partition.id = static_cast<std::int32_t>(topic.partitions.size() - 1);
            partition.label = topic.name + "[" + std::to_string(partition.id) + "]";
        }
        topic.partition_count = std::max(topic.partition_count, count);
    }

    Partition* find(const char* topic_name, std::int32_t id) {
        for (auto& topic : topics_) {
            if (topic.name != topic_name) continue;
            if (id < 0) return nullptr;
            if (id >= static_cast<std::int32_t>(topic.partitions.size())) grow(topic, id + 1);
            return &topic.partitions[static_cast<std::size_t>(id)];
        }
        return nullptr;
    }

    /// --exit-at-end: the end offset of a partition now, the first offset it will not read.
    void snapshot_end(Partition& partition) {
        if (!endpoint_.exit_at_end) return;
        std::int64_t low = 0, high = 0;
        const auto started = Clock::now();
        for (;;) {
            const auto err = rd_kafka_query_watermark_offsets(rk_.get(), partition.topic.c_str(),
                                                              partition.id, &low, &high, 5000);
            if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
            if (std::chrono::nanoseconds(Clock::now() - started).count() > endpoint_.outage_limit)
                throw RuntimeError(name_ + ": cannot read the end offset of " + partition.label + ": " +
                                   rd_kafka_err2str(err));
        }
        partition.end = high;
        partition.low = low;
    }

    /// Without a group: every partition of every topic, from the requested offset.
    void assign_all() {
        using Kind = KafkaStart::Kind;
        const KafkaStart start = endpoint_.offsets.start.value_or(KafkaStart{Kind::beginning, 0});
        KafkaPartitionList list(rd_kafka_topic_partition_list_new(0));
        for (auto& topic : topics_) {
            for (auto& partition : topic.partitions) {
                partition.assigned = true;
                partitions_changed_ = true;
                snapshot_end(partition);
                std::int64_t offset = RD_KAFKA_OFFSET_BEGINNING;
                switch (start.kind) {
                case Kind::beginning:
                    offset = RD_KAFKA_OFFSET_BEGINNING;
                    break;
                case Kind::end:
                    offset = RD_KAFKA_OFFSET_END;
                    break;
                case Kind::absolute:
                    offset = start.value;
                    break;
                case Kind::from_end:
                    offset = RD_KAFKA_OFFSET_TAIL(start.value);
                    break;
                case Kind::time:
                    offset = start.value;
                    break; // resolved below
                case Kind::stored:
                    break; // refused in the constructor
                }
                rd_kafka_topic_partition_list_add(list.get(), topic.name.c_str(), partition.id)->offset =
                    offset;
            }
        }
        if (start.kind == Kind::time) resolve_times(list.get(), start.value);
        if (const auto err = rd_kafka_assign(rk_.get(), list.get()))
            throw RuntimeError(name_ + ": cannot assign partitions: " + rd_kafka_err2str(err));
    }

    /// s@TS: the broker's offsets-for-times lookup. It answers -1 both when every record is older
    /// than TS and when it cannot look times up (librdkafka's mock broker). The two are told
    /// apart by reading the last record: if it is not older than TS, the partition is read from
    /// its beginning and records older than TS are skipped here.
    void resolve_times(rd_kafka_topic_partition_list_t* list, std::int64_t time_ms) {
        const auto err = rd_kafka_offsets_for_times(rk_.get(), list, 10000);
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
            throw RuntimeError(name_ + ": cannot look up offsets for s@" + std::to_string(time_ms) + ": " +
                               rd_kafka_err2str(err));
        for (int i = 0; i < list->cnt; ++i) {
            auto& entry = list->elems[i];
            if (entry.err == RD_KAFKA_RESP_ERR_NO_ERROR && entry.offset >= 0) continue;
            Partition* partition = find(entry.topic, entry.partition);
            std::int64_t low = 0, high = 0;
            const auto werr =
                rd_kafka_query_watermark_offsets(rk_.get(), entry.topic, entry.partition, &low, &high, 10000);
            if (werr != RD_KAFKA_RESP_ERR_NO_ERROR)
                throw RuntimeError(name_ + ": cannot read the offsets of " + partition->label + ": " +
                                   rd_kafka_err2str(werr));
            entry.err = RD_KAFKA_RESP_ERR_NO_ERROR;
            if (high <= low) {
                entry.offset = RD_KAFKA_OFFSET_END;
                continue;
            }
            partition->probe = Partition::Probe::probing;
            partition->low = low;
            entry.offset = high - 1;
        }
    }

    // --- consuming ---

    /// Asked once per message: the answer is recomputed only after a partition was assigned,
    /// revoked or finished (256 partitions would otherwise be walked per message).
    bool all_done() {
        if (!endpoint_.exit_at_end && !endpoint_.offsets.stop_time_ms) return false;
        if (!partitions_changed_) return all_done_;
        partitions_changed_ = false;
        all_done_ = scan_all_done();
        return all_done_;
    }

    bool scan_all_done() const {
        bool any = false;
        for (const auto& topic : topics_)
            for (const auto& partition : topic.partitions) {
                if (!partition.assigned) continue;
                any = true;
                if (!partition.done) return false;
            }
        return any;
    }

    void finish_partition(Partition& partition) {
        if (partition.done) return;
        partition.done = true;
        partitions_changed_ = true;
        // Stop fetching what we would only throw away.
        KafkaPartitionList list(rd_kafka_topic_partition_list_new(1));
        rd_kafka_topic_partition_list_add(list.get(), partition.topic.c_str(), partition.id);
        rd_kafka_pause_partitions(rk_.get(), list.get());
    }

    /// Takes one message into the block; returns true when it is a bad record (set aside in
    /// pending_bad_).
    bool take(const rd_kafka_message_t& message) {
        if (message.err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            Partition* partition = find(rd_kafka_topic_name(message.rkt), message.partition);
            if (partition != nullptr && partition->end >= 0 && message.offset >= partition->end)
                finish_partition(*partition);
            outage_.contact();
            return false;
        }
        if (message.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            const std::string where =
                message.rkt != nullptr ? std::string(rd_kafka_topic_name(message.rkt)) + ": " : "";
            if (permanent_consumer_error(message.err)) error_ = where + rd_kafka_message_errstr(&message);
            return false; // transient: librdkafka retries
        }
        outage_.contact();
        Partition* partition = find(rd_kafka_topic_name(message.rkt), message.partition);
        if (partition == nullptr || partition->done || !partition->assigned) return false;
        const std::int64_t offset = message.offset;
        rd_kafka_timestamp_type_t type;
        const std::int64_t timestamp = rd_kafka_message_timestamp(&message, &type);
        std::optional<std::int64_t> time_ms;
        if (type != RD_KAFKA_TIMESTAMP_NOT_AVAILABLE) time_ms = timestamp;

        if (partition->probe == Partition::Probe::probing) {
            const auto start = endpoint_.offsets.start->value;
            if (time_ms && *time_ms >= start) {
                // The broker said "no record at or after TS", yet here is one: it cannot look
                // times up. Read from the beginning and skip older records ourselves.
                partition->probe = Partition::Probe::scanning;
                seek(*partition, partition->low);
                return false;
            }
            partition->probe = Partition::Probe::none; // the broker was right: start after it
            advance(*partition, offset);
            return false;
        }
        if (partition->end >= 0 && offset >= partition->end) {
            finish_partition(*partition);
            return false;
        }
        if (endpoint_.offsets.stop_time_ms && time_ms && *time_ms >= *endpoint_.offsets.stop_time_ms) {
            finish_partition(*partition);
            return false;
        }
        const bool last = partition->end >= 0 && offset + 1 >= partition->end;
        if (partition->probe == Partition::Probe::scanning && time_ms &&
            *time_ms < endpoint_.offsets.start->value) {
            advance(*partition, offset);
            if (last) finish_partition(*partition);
            return false;
        }

        std::string_view payload(static_cast<const char*>(message.payload),
                                 message.payload ? message.len : 0);
        bytes_ += payload.size();
        // One trailing newline is how some producers end a line; it is not part of the record.
        if (payload.ends_with('\n')) payload.remove_suffix(1);
        if (payload.ends_with('\r')) payload.remove_suffix(1);
        bool bad = false;
        if (payload.size() > max_line_) {
            set_bad(*partition, offset, payload.substr(0, 1024), too_long_reason(max_line_));
            bad = true;
        } else if (payload.find('\n') != std::string_view::npos) {
            set_bad(*partition, offset, payload,
                    "a Kafka message with a newline inside is not one NDJSON record");
            bad = true;
        } else if (payload.empty()) {
            advance(*partition, offset); // a tombstone or empty message: nothing to process
        } else {
            append(*partition, offset, time_ms, payload, message);
        }
        if (last) finish_partition(*partition);
        return bad;
    }

    void append(Partition& partition, std::int64_t offset, std::optional<std::int64_t> time_ms,
                std::string_view payload, const rd_kafka_message_t& message) {
        const std::size_t need = used_ + payload.size() + 1 + simdjson::SIMDJSON_PADDING;
        if (need > buffer_.size()) buffer_.resize(std::max(need, buffer_.size() * 2));
        std::memcpy(buffer_.data() + used_, payload.data(), payload.size());
        PendingLine line{&partition, offset, time_ms, used_, payload.size(), keys_.size(), message.key_len};
        used_ += payload.size();
        buffer_[used_++] = '\n';
        if (message.key != nullptr)
            keys_.append(static_cast<const char*>(message.key), message.key_len);
        else
            line.key_size = 0;
        lines_.push_back(line);
    }

    /// The next message: from the batch taken last, else a new batch of what librdkafka has
    /// ready; only when it has nothing, waits up to `wait_ms` for one message (a batch call with
    /// a timeout would wait for the whole batch to fill). Null when nothing came.
    rd_kafka_message_t* next_message(int wait_ms) {
        while (batch_next_ < batch_count_) {
            if (rd_kafka_message_t* message = std::exchange(batch_[batch_next_++], nullptr)) return message;
        }
        batch_next_ = batch_count_ = 0;
        ssize_t got = rd_kafka_consume_batch_queue(queue_.get(), 0, batch_.data(), batch_.size());
        if (got <= 0 && wait_ms > 0)
            got = rd_kafka_consume_batch_queue(queue_.get(), wait_ms, batch_.data(), 1);
        if (got <= 0) return nullptr;
        batch_count_ = static_cast<std::size_t>(got);
        batch_next_ = 1;
        return std::exchange(batch_[0], nullptr);
    }

    /// Destroys the messages of the current batch not yet taken for which `drop` is true.
    template <typename Pred> void drop_batch(Pred drop) {
        for (std::size_t i = batch_next_; i < batch_count_; ++i) {
            if (batch_[i] == nullptr || !drop(*batch_[i])) continue;
            rd_kafka_message_destroy(batch_[i]);
            batch_[i] = nullptr;
        }
    }

    void set_bad(Partition& partition, std::int64_t offset, std::string_view text, std::string reason) {
        pending_bad_ = BadRecord{&partition, offset, std::string(text), std::move(reason)};
    }

    /// Offsets of messages that need no processing (skipped, empty) still count as processed
    /// once the block they were read with is handed out.
    void advance(Partition& partition, std::int64_t offset) { advances_.emplace_back(&partition, offset); }

    void seek(Partition& partition, std::int64_t offset) {
        // What the last batch still holds of this partition was fetched before the seek.
        drop_batch([&](const rd_kafka_message_t& message) {
            return message.partition == partition.id && message.rkt != nullptr &&
                   partition.topic == rd_kafka_topic_name(message.rkt);
        });
        KafkaPartitionList list(rd_kafka_topic_partition_list_new(1));
        rd_kafka_topic_partition_list_add(list.get(), partition.topic.c_str(), partition.id)->offset = offset;
        KafkaError error(rd_kafka_seek_partitions(rk_.get(), list.get(), 10000));
        if (error)
            throw RuntimeError(name_ + ": cannot seek " + partition.label + ": " +
                               rd_kafka_error_string(error.get()));
    }

    void mark(Partition& partition, std::int64_t offset) {
        if (offset + 1 > partition.handed_out) {
            partition.handed_out = offset + 1;
            uncommitted_ = true;
        }
    }

    Status hand_out(Block& block) {
        metas_.resize(lines_.size());
        for (std::size_t i = 0; i < lines_.size(); ++i) {
            const PendingLine& line = lines_[i];
            metas_[i] = LineMeta{line.partition->label, static_cast<std::uint64_t>(line.offset), line.time_ms,
                                 std::string_view(keys_.data() + line.key_begin, line.key_size)};
            mark(*line.partition, line.offset);
        }
        for (const auto& [partition, offset] : advances_)
            mark(*partition, offset);
        advances_.clear();
        // Zero the padding: simdjson may read it, and it must not look like a continuation.
        std::memset(buffer_.data() + used_, 0, simdjson::SIMDJSON_PADDING);
        block.text = std::string_view(buffer_.data(), used_);
        block.lines = std::span<const LineMeta>(metas_.data(), lines_.size());
        lines_.clear();
        keys_.clear();
        ++blocks_out_;
        return Status::block;
    }

    Status hand_out_bad(Block& block) {
        BadRecord& bad = *pending_bad_;
        bad_text_ = std::move(bad.text);
        block.text = bad_text_;
        block.origin = Origin{bad.partition->label, static_cast<std::uint64_t>(bad.offset)};
        block.reason = std::move(bad.reason);
        mark(*bad.partition, bad.offset);
        for (const auto& [partition, offset] : advances_)
            mark(*partition, offset);
        advances_.clear();
        pending_bad_.reset();
        return Status::bad_record;
    }

    // --- groups ---

    /// Commits what was handed out. Asynchronous commits are only counted as done when the
    /// broker confirms them (on_commit_cb): one that fails in a rebalance is sent again, and a
    /// synchronous commit (revocation, close) sends every partition's position regardless.
    void commit_partitions(const std::vector<Partition*>* only, bool sync) {
        if (endpoint_.group.empty()) return;
        KafkaPartitionList list(rd_kafka_topic_partition_list_new(0));
        auto consider = [&](Partition& partition) {
            if (partition.handed_out < 0) return;
            if (!sync && partition.handed_out <= partition.committed) return;
            rd_kafka_topic_partition_list_add(list.get(), partition.topic.c_str(), partition.id)->offset =
                partition.handed_out;
        };
        if (only != nullptr) {
            for (Partition* partition : *only)
                consider(*partition);
        } else {
            for (auto& topic : topics_)
                for (auto& partition : topic.partitions)
                    if (partition.assigned) consider(partition);
        }
        last_commit_ = Clock::now();
        if (only == nullptr) uncommitted_ = false;
        if (list->cnt == 0) return;
        const auto err = rd_kafka_commit(rk_.get(), list.get(), sync ? 0 : 1);
        if (!sync) return; // the outcome arrives in on_commit_cb
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
            report(std::string("committing offsets: ") + rd_kafka_err2str(err));
        confirm(list.get());
    }

    /// Marks the partitions of a finished commit that succeeded as committed; a failure leaves
    /// the partition due, so the next commit covers it.
    void confirm(const rd_kafka_topic_partition_list_t* offsets) {
        for (int i = 0; i < offsets->cnt; ++i) {
            const auto& entry = offsets->elems[i];
            Partition* partition = find(entry.topic, entry.partition);
            if (partition == nullptr) continue;
            if (entry.err == RD_KAFKA_RESP_ERR_NO_ERROR) {
                partition->committed = std::max(partition->committed, entry.offset);
            } else {
                uncommitted_ = true;
            }
        }
    }

    static void on_commit_cb(rd_kafka_t*, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* offsets,
                             void* opaque) {
        auto* self = static_cast<KafkaSource*>(opaque);
        if (offsets == nullptr) return;
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
            self->uncommitted_ = true;
        self->confirm(offsets);
    }

    static void on_rebalance_cb(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                                rd_kafka_topic_partition_list_t* partitions, void* opaque) {
        static_cast<KafkaSource*>(opaque)->on_rebalance(rk, err, partitions);
    }

    void on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* partitions) {
        const bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
        if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
            for (int i = 0; i < partitions->cnt; ++i) {
                Partition* partition = find(partitions->elems[i].topic, partitions->elems[i].partition);
                if (partition == nullptr) continue;
                partition->assigned = true;
                partition->done = false;
                partitions_changed_ = true;
                partition->handed_out = -1;
                partition->committed = -1;
                snapshot_end(*partition);
            }
            KafkaError error;
            if (cooperative)
                error.reset(rd_kafka_incremental_assign(rk, partitions));
            else if (const auto aerr = rd_kafka_assign(rk, partitions))
                error_ = rd_kafka_err2str(aerr);
            if (error) error_ = rd_kafka_error_string(error.get());
            return;
        }
        if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
            revoke(partitions, !rd_kafka_assignment_lost(rk));
            KafkaError error;
            if (cooperative)
                error.reset(rd_kafka_incremental_unassign(rk, partitions));
            else
                rd_kafka_assign(rk, nullptr);
            return;
        }
        report(std::string("rebalance failed: ") + rd_kafka_err2str(err));
        rd_kafka_assign(rk, nullptr);
    }

    /// Partitions are going: records of theirs read but not handed out are dropped (their new
    /// owner reads them), the caller writes out what it holds, and what was handed out is
    /// committed (unless the partitions are already lost to another member).
    void revoke(rd_kafka_topic_partition_list_t* partitions, bool commit_them) {
        std::vector<Partition*> revoked;
        for (int i = 0; i < partitions->cnt; ++i)
            if (Partition* partition = find(partitions->elems[i].topic, partitions->elems[i].partition))
                revoked.push_back(partition);
        if (revoked.empty()) return;
        auto is_revoked = [&](const Partition* p) {
            return std::find(revoked.begin(), revoked.end(), p) != revoked.end();
        };
        drop_pending(is_revoked);
        if (revoke_handler_) {
            for (const auto& topic : topics_) {
                std::vector<std::int32_t> ids;
                for (Partition* partition : revoked)
                    if (partition->topic == topic.name) ids.push_back(partition->id);
                if (!ids.empty()) revoke_handler_(RevokedPartitions{topic.name, ids, topic.partition_count});
            }
        }
        if (commit_them && commits_ == KafkaCommits::on_commit_and_revoke) commit_partitions(&revoked, true);
        for (Partition* partition : revoked) {
            partition->assigned = false;
            partitions_changed_ = true;
            partition->handed_out = -1;
            partition->committed = -1;
        }
    }

    /// Removes the lines of the block being assembled that belong to `drop`.
    template <typename Pred> void drop_pending(Pred drop) {
        if (pending_bad_ && drop(pending_bad_->partition)) pending_bad_.reset();
        std::erase_if(advances_, [&](const auto& entry) { return drop(entry.first); });
        std::size_t write = 0;
        std::size_t kept = 0;
        std::string keys;
        for (const PendingLine& line : lines_) {
            if (drop(line.partition)) continue;
            PendingLine moved = line;
            std::memmove(buffer_.data() + write, buffer_.data() + line.text_begin, line.text_size + 1);
            moved.text_begin = write;
            write += line.text_size + 1;
            moved.key_begin = keys.size();
            keys.append(keys_, line.key_begin, line.key_size);
            lines_[kept++] = moved;
        }
        lines_.resize(kept);
        keys_ = std::move(keys);
        used_ = write;
    }

    // --- errors ---

    static void on_error_cb(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
        auto* self = static_cast<KafkaSource*>(opaque);
        if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
            self->outage_.all_brokers_down();
        } else if (err == RD_KAFKA_RESP_ERR__FATAL) {
            char text[512];
            rd_kafka_fatal_error(rk, text, sizeof text);
            self->error_ = std::string("fatal Kafka consumer error: ") + text;
        }
        (void)reason; // librdkafka's own log line already says it
    }

    void report(const std::string& message) const {
        // Not a data error: the offsets are committed again with the next commit.
        std::fprintf(stderr, "%s: warning: %s\n", name_.c_str(), message.c_str());
    }

    KafkaEndpoint endpoint_;
    std::string name_;
    std::size_t max_line_;
    KafkaCommits commits_;
    OutageClock outage_;
    KafkaHandle rk_;
    KafkaQueue queue_; // after rk_: released before it
    std::vector<rd_kafka_message_t*> batch_;
    std::size_t batch_next_ = 0, batch_count_ = 0;
    std::vector<Topic> topics_;
    std::function<void(const RevokedPartitions&)> revoke_handler_;

    std::vector<char> buffer_;
    std::size_t used_ = 0;
    std::string keys_;
    std::vector<PendingLine> lines_;
    std::vector<LineMeta> metas_;
    std::vector<std::pair<Partition*, std::int64_t>> advances_;
    std::optional<BadRecord> pending_bad_;
    std::string bad_text_;

    std::uint64_t bytes_ = 0;
    std::uint64_t blocks_out_ = 0;
    int commit_interval_ms_ = 5000;
    Clock::time_point last_commit_;
    bool uncommitted_ = false;
    bool partitions_changed_ = true;
    bool all_done_ = false;
    bool finished_ = false;
    bool closed_ = false;
    std::string error_;
};

} // namespace

void check_kafka_input(const KafkaEndpoint& endpoint) {
    using Kind = KafkaStart::Kind;
    const bool group = !endpoint.group.empty();
    const auto& start = endpoint.offsets.start;
    if (group && start && start->kind != Kind::beginning && start->kind != Kind::end &&
        start->kind != Kind::stored)
        throw UsageError("'" + endpoint.spec +
                         "': with a consumer group, committed offsets decide where each partition starts; "
                         "--offset can only say where partitions without one start (beginning or end)");
    if (!group && start && start->kind == Kind::stored)
        throw UsageError("'" + endpoint.spec +
                         "': --offset stored needs a consumer group (-G GROUP or ?group=)");
}

std::unique_ptr<RecordSource> open_kafka_source(const KafkaEndpoint& endpoint, std::size_t max_line_bytes,
                                                KafkaCommits commits) {
    return std::make_unique<KafkaSource>(endpoint, max_line_bytes, commits);
}

} // namespace cep::io
