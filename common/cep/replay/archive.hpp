#pragma once
// cep-replay --archive DIR: a stream written as time-partitioned, zstd-compressed files,
// DIR/YYYY/MM/DD/HH.ndjson.zst by default, each closed (its zstd frame finished, then renamed
// from a .tmp name) once the watermark passes its end, so readers never see a partial file.
// Before a Kafka input commits, open files are flushed and fsynced (sync()); a later run turns
// what a killed one left in its .tmp files into archive files, so committed records are never
// lost.

#include "cep/event_time.hpp"
#include "cep/io/sink.hpp"
#include "cep/operator.hpp"

#include <map>
#include <memory>
#include <string>

namespace cep::replay {

struct ArchiveOptions {
    std::string dir;
    Duration every = 3600 * nanos_per_second; ///< a whole number of minutes that divides a day
    TimeOptions time;
};

/// The file a period starting at `start` goes to, relative to the archive directory:
/// `YYYY/MM/DD.ndjson.zst` (1d), `YYYY/MM/DD/HH.ndjson.zst` (1h), `YYYY/MM/DD/HH/MM.ndjson.zst`.
std::string archive_path(Timestamp start, Duration every);

/// Checks --archive-every; returns a reason when it cannot be used.
std::optional<std::string> check_archive_every(Duration every);

class Archive final : public Operator {
  public:
    Archive(ArchiveOptions options, Schema& schema);
    ~Archive() override;

    void push(const Record& record, Emitter& out) override;
    void on_watermark(Timestamp watermark, Emitter& out) override;
    void on_progress(Timestamp time, Emitter& out) override;
    void on_idle(Duration idle_for, Emitter& out) override;
    void finish(Emitter& out) override;
    void sync() override;
    std::uint64_t state_size() const override { return parts_.size(); }
    std::uint64_t late_records() const override { return late_; }
    std::string stats_fields() const override;

  private:
    struct Part {
        std::string path, tmp;
        std::unique_ptr<io::RecordSink> sink;
        std::uint64_t records = 0;
    };
    Part& part_for(Timestamp start);
    void close_due();
    void close(Part& part);
    void late(const Record& record, Timestamp time);
    /// Files of this period's path, `.ndjson.zst` or `.N.ndjson.zst`, that is not taken yet.
    static std::string free_name(const std::string& path);
    void recover_orphans();
    void recover(const std::string& tmp, const std::string& path);

    ArchiveOptions options_;
    TimeExtractor time_;
    WatermarkTracker tracker_;
    std::map<Timestamp, Part> parts_;         // open files by period start
    Timestamp closed_before_ = min_timestamp; // periods ending at or before this are closed
    std::unique_ptr<io::RecordSink> late_sink_;
    std::uint64_t late_ = 0, files_written_ = 0;
    std::string reason_, json_;
};

} // namespace cep::replay
