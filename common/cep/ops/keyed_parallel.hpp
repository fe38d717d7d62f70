#pragma once
// cep-keyby -j N -- COMMAND ARGS...: N copies of COMMAND, each fed the records of the keys it
// owns and nothing else. Copy i gets exactly Kafka partition i of N (murmur2 of the key), so
// per-key state in the copies is complete, per-key order is kept, and a file split or a topic
// with N partitions divides the keys the same way. Their outputs are merged line by line.

#include "cep/cli/command.hpp"
#include "cep/control.hpp"
#include "cep/diagnostics.hpp"
#include "cep/io/sink.hpp"
#include "cep/ops/keyby.hpp"
#include "cep/time.hpp"

#include <atomic>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <utility>
#include <vector>

namespace cep::ops {

/// A file descriptor that closes itself.
class UniqueFd {
  public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) : fd_(fd) {}
    UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    UniqueFd& operator=(UniqueFd&& other) noexcept {
        if (this != &other) reset(std::exchange(other.fd_, -1));
        return *this;
    }
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    ~UniqueFd() { reset(); }

    int get() const { return fd_; }
    explicit operator bool() const { return fd_ >= 0; }
    void reset(int fd = -1);

  private:
    int fd_ = -1;
};

/// N running copies of one command, each with its own stdin and stdout pipe; stderr is ours.
///
/// Lines for a copy are queued and written in blocks (blocking writes from the caller's
/// thread). One thread per copy reads its stdout and writes whole lines to the output under a
/// lock, so lines from different copies never interleave, and a copy that writes a lot while
/// we are still feeding it always has a reader: no deadlock. Those threads only touch our
/// pipes and the output; the copies are separate processes started with posix_spawn.
class JobPool {
  public:
    struct Options {
        std::vector<std::string> argv; ///< the command; argv[0] is looked up in PATH
        std::uint32_t jobs = 1;
        /// Whether to send event-time control records to the copies: resolved like a tool's
        /// own output (`auto` sends them when the copies are cep tools).
        ControlOutput control_input = ControlOutput::automatic;
        /// Whether our output takes control records: the copies' ones are merged (a copy's
        /// watermark holds the merged one back until it advances) instead of dropped.
        bool control_output = false;
        /// Start the copies with SIGINT ignored, so that a Ctrl-C on the terminal (sent to the
        /// whole process group) stops only our input: with Kafka, the copies then finish their
        /// records instead of dying with them. (Not a process group of their own: that would
        /// hide the pipes between us from the control-record reader check.)
        bool ignore_interrupt = false;
    };

    /// Starts the copies. Copy i writes to outputs[i % outputs.size()]. Throws UsageError when
    /// the command cannot be started.
    JobPool(Options options, std::vector<std::unique_ptr<io::RecordSink>> outputs);
    /// Without a completed finish(): stops the copies (SIGTERM, SIGKILL after a grace period)
    /// and reaps them.
    ~JobPool();
    JobPool(const JobPool&) = delete;
    JobPool& operator=(const JobPool&) = delete;

    /// Queues `line` (without its newline) for copy `job`. A copy that stopped reading its input
    /// gets nothing more (like `producer | head`); its exit status decides whether that was a
    /// failure. Throws BrokenPipe once our own reader is gone, or what an output thread hit.
    void send(std::uint32_t job, std::string_view line);
    /// Queues an event-time control record for every copy (when they take them).
    void send_control(const ControlRecord& control);
    /// Writes everything queued. Called when the input goes idle, so live streams flow.
    void flush();
    bool has_pending() const { return pending_bytes_ > 0; }
    /// True once the pool is being stopped (our reader left, or an output thread failed).
    bool stopping() const { return stopping_.load(); }

    /// End of input: closes the copies' stdin, drains their output, waits for them and closes
    /// the outputs. Returns one message per copy that failed (exit status, signal).
    std::vector<std::string> finish();

    std::uint64_t lines_out() const { return lines_out_.load(std::memory_order_relaxed); }
    std::uint32_t jobs() const { return static_cast<std::uint32_t>(jobs_.size()); }

    /// Bytes queued per copy before they are written.
    static constexpr std::size_t block_bytes = std::size_t{64} << 10;

  private:
    struct Job;
    struct Output;

    void spawn(Job& job);
    void write_pending(Job& job);
    void read_output(Job& job) noexcept;
    void deliver(Job& job, std::string& partial, std::string_view chunk, bool at_end);
    void merge_control(Output& output, Job& job, const ControlRecord* control);
    /// Called from any thread: stops the copies and wakes the output threads.
    void stop(std::exception_ptr error, bool broken_pipe) noexcept;
    void rethrow_if_stopped();
    void abort() noexcept;

    Options options_;
    std::string command_text_;
    std::vector<std::unique_ptr<Job>> jobs_;
    std::vector<std::unique_ptr<Output>> outputs_;
    bool control_input_ = false;
    std::size_t pending_bytes_ = 0;
    bool finished_ = false;

    UniqueFd cancel_read_, cancel_write_; // closing the write end wakes every output thread
    std::atomic<bool> stopping_{false};
    std::atomic<bool> broken_pipe_{false};
    std::mutex error_mutex_;
    std::exception_ptr error_;
    std::atomic<std::uint64_t> lines_out_{0};
};

/// Runs `cep-keyby -j`: reads the inputs like the shared driver, keys every record with KeyBy
/// (bad records and missing keys go to the dead letter) and feeds it to the copy that owns
/// its key. Returns the exit code: 1 when a copy failed or a record was bad, 0 otherwise,
/// also when our reader went away (then the copies are stopped).
int run_keyed_parallel(const std::string& program, const cli::CommonOptions& common, Diagnostics& diagnostics,
                       KeyByOptions keyby, std::vector<std::string> command, std::uint32_t jobs);

} // namespace cep::ops
