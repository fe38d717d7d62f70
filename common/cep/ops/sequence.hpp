#pragma once
// cep-sequence: complex event patterns over keyed records in event time. Records are held
// back and put in event-time order up to the watermark (--max-delay), then matched against
// every rule (count, all-of and sequence rules, see man cep-sequence); each match is written as
// one JSON record, timed-out partial matches go to --timeouts, late records to --late.

#include "cep/event_time.hpp"
#include "cep/io/sink.hpp"
#include "cep/operator.hpp"
#include "cep/record_parser.hpp"
#include "cep/sequence/engine.hpp"
#include "cep/sequence/program.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace cep::ops {

struct SequenceOptions {
    std::vector<sequence::RuleSpec> rules;
    TimeOptions time;
    std::string timeouts; ///< --timeouts FILE; empty: timed-out partial matches are dropped
    /// Several inputs: rules with a topic see only the records of the input named like it.
    bool topic_filter = false;
    /// --expect FILE: compare the match records with FILE instead of writing them.
    std::string expect;
    /// --explain KEY: trace that key's records and partial matches to --explain-out (stderr).
    std::optional<std::string> explain;
    std::string explain_out;
    /// Where the rules came from, for reloading (empty with --pattern).
    std::vector<std::string> rules_files;
    /// --watch: reload when a rules file changes (checked when idle and every few thousand records).
    bool watch = false;
    /// --no-events, applied again to reloaded rules.
    bool no_events = false;
    /// --backfill: inputs read first, as history; live records at or before the latest event
    /// time seen in them were counted there and are skipped.
    std::vector<std::string> backfill;
    Duration key_ttl = 0;         ///< --key-ttl; 0: keys are kept
    std::size_t max_partials = 0; ///< --max-partials; 0: no cap
};

class Sequence final : public Operator {
  public:
    Sequence(SequenceOptions options, Schema& schema);
    ~Sequence() override;

    void push(const Record& record, Emitter& out) override;
    void on_watermark(Timestamp watermark, Emitter& out) override;
    void on_progress(Timestamp time, Emitter& out) override;
    void on_idle(Duration idle_for, Emitter& out) override;
    void finish(Emitter& out) override;
    std::uint64_t state_size() const override;
    std::uint64_t late_records() const override { return late_count_; }
    std::string stats_fields() const override;
    /// Records no rule's condition can accept (by their bytes) are used only for their time.
    const RawPrefilter* time_only_prefilter() const override {
        return time_only_.empty() ? nullptr : &time_only_;
    }
    bool push_time_only(std::string_view raw, const Origin& origin, std::optional<Timestamp> source_time,
                        Emitter& out) override;
    /// The rules' ids and definitions, the watermark, the records held for reordering and the
    /// engine's partial matches. A snapshot restores into an operator with other rules as a
    /// reload would: unchanged rules continue, changed or removed rules start over or go.
    void snapshot(std::ostream& out) const override;
    void restore(std::istream& in) override;

    const sequence::Program& program() const { return *program_; }

    /// Reloads the rules files now (what SIGHUP and --watch trigger). Unchanged rules keep
    /// their partial matches; changed ones keep them with `on_change: keep` when their shape
    /// (key, stages and quantifiers, or parts) is the same, else start over; removed rules drop
    /// their state; new rules start empty. A file that does not load or compile is rejected
    /// with its file:line:col error and the running rules stay. Returns whether it reloaded.
    bool reload();

  private:
    /// A record held until the watermark passes its time: its bytes and slots, copied.
    struct Held {
        Timestamp time = 0;
        std::uint64_t arrival = 0;
        std::string bytes; ///< the raw record, then the text of slots that did not point into it
        std::size_t raw_size = 0;
        std::vector<Value> slots; ///< text views are set from `offsets` when released
        std::vector<std::size_t> offsets;
        std::string source;
        std::uint64_t line = 0;
        bool time_only = false; ///< a record no rule can use: it only moves event time on
    };

    void hold(const Record& record, Timestamp time);
    void hold_time_only(Timestamp time);
    std::uint32_t new_held();
    /// Backfill bookkeeping for a record at `time`: false when it was counted in the history.
    bool admit(const Origin& origin, Timestamp time);
    /// The byte test for records no rule's condition can accept, rebuilt with the rules.
    void build_time_only();
    /// Heap order of held records: by event time, then arrival (a min-heap through std heaps).
    bool held_later(std::uint32_t a, std::uint32_t b) const {
        if (held_[a].time != held_[b].time) return held_[a].time > held_[b].time;
        return held_[a].arrival > held_[b].arrival;
    }
    /// Matches held records up to the watermark, in event-time order, then fires timeouts.
    void release(Emitter& out);
    /// `record` is the parsed record when there is one (for --explain).
    void late(std::string_view raw, const Origin& origin, Timestamp time, const Record* record);
    /// Reloads when SIGHUP arrived or (--watch) a rules file changed; true when it did.
    bool maybe_reload(bool idle);
    bool rules_files_changed();
    void explain(const Record& record, Timestamp time, const std::string& what);
    sequence::Outputs outputs(Emitter& out) {
        return {expect_ ? static_cast<Emitter*>(expect_.get()) : &out, timeouts_.get()};
    }
    void check_expectation();

    /// Collects match records for --expect.
    class Collector final : public Emitter {
      public:
        void emit(const Record& record, const Route&) override { lines.emplace_back(record.raw); }
        void emit_new(std::string_view json, const Origin&, const Route&) override {
            lines.emplace_back(json);
        }
        void reject(const Record&, std::string_view) override {}
        std::vector<std::string> lines;
    };

    SequenceOptions options_;
    TimeExtractor times_;
    WatermarkTracker tracker_;
    std::unique_ptr<sequence::Program> program_;
    std::unique_ptr<sequence::Engine> engine_;
    std::unique_ptr<io::RecordSink> timeouts_;
    std::unique_ptr<io::RecordSink> late_;
    std::unique_ptr<Collector> expect_;
    std::unique_ptr<io::RecordSink> explain_out_;
    std::string expected_text_;
    std::vector<Held> held_;
    std::vector<std::uint32_t> heap_; ///< indices into held_, min-heap by (time, arrival)
    std::vector<std::uint32_t> free_held_;
    std::uint64_t arrivals_ = 0;
    std::uint64_t late_count_ = 0;
    Timestamp backfill_until_ = min_timestamp; ///< latest event time read from --backfill inputs
    std::uint64_t backfill_records_ = 0;
    std::uint64_t backfill_overlap_ = 0;  ///< live records skipped as already counted
    std::uint64_t time_only_records_ = 0; ///< records read only for their time (not parsed)
    std::uint64_t leading_misses_ = 0;    ///< records whose time was not their first field
    Schema& schema_;
    struct FileStamp {
        std::int64_t mtime_ns = 0;
        std::int64_t size = -1;
        std::uint64_t inode = 0;
        bool operator==(const FileStamp&) const = default;
    };
    std::vector<FileStamp> stamps_;
    std::uint64_t since_watch_check_ = 0;
    std::unique_ptr<RecordParser> reparser_; ///< for held records after a reload added fields
    std::string reparse_buffer_;
    std::string reason_;
    std::string line_;
    RawPrefilter time_only_;
    std::string leading_key_; ///< the time field, when it is a plain top-level name
};

} // namespace cep::ops
