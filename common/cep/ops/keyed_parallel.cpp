#include "cep/ops/keyed_parallel.hpp"

#include "cep/cli/driver.hpp"
#include "cep/errors.hpp"
#include "cep/io/kafka_source.hpp"
#include "cep/io/kafka_url.hpp"
#include "cep/io/line_reader.hpp"
#include "cep/record_parser.hpp"
#include "cep/stats.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char** environ;

namespace cep::ops {

void UniqueFd::reset(int fd) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
}

namespace {

struct Pipe {
    UniqueFd read, write;
};

/// A close-on-exec pipe whose ends are never 0, 1 or 2: dup2 onto the child's stdin/stdout
/// must clear close-on-exec, which it does not when source and target are the same fd
/// (possible when we were started with stdin or stdout closed).
Pipe make_pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0)
        throw RuntimeError(std::string("cannot create a pipe: ") + std::strerror(errno));
    Pipe pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
    for (UniqueFd* end : {&pipe.read, &pipe.write}) {
        if (end->get() > 2) continue;
        const int moved = ::fcntl(end->get(), F_DUPFD_CLOEXEC, 3);
        if (moved < 0) throw RuntimeError(std::string("cannot create a pipe: ") + std::strerror(errno));
        end->reset(moved);
    }
    return pipe;
}

/// Bigger pipes mean fewer wake-ups per record; the default 64 KiB is fine if refused.
void widen(int fd) {
    (void)::fcntl(fd, F_SETPIPE_SZ, 1 << 20);
}

std::string quote_word(const std::string& word) {
    const bool plain = !word.empty() && std::all_of(word.begin(), word.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) ||
               (c != '\0' && std::strchr("-_./=:,+@%", c) != nullptr);
    });
    if (plain) return word;
    std::string out = "'";
    for (char c : word)
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

std::string describe_status(int status) {
    if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status))
        return "was killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
               strsignal(WTERMSIG(status)) + ")";
    return "ended with wait status " + std::to_string(status);
}

bool failed(int status) {
    return !WIFEXITED(status) || WEXITSTATUS(status) != 0;
}

/// posix_spawn's attribute objects, destroyed on every path.
struct SpawnSetup {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attributes;
    SpawnSetup() {
        posix_spawn_file_actions_init(&actions);
        posix_spawnattr_init(&attributes);
    }
    ~SpawnSetup() {
        posix_spawn_file_actions_destroy(&actions);
        posix_spawnattr_destroy(&attributes);
    }
    SpawnSetup(const SpawnSetup&) = delete;
    SpawnSetup& operator=(const SpawnSetup&) = delete;
};

} // namespace

struct JobPool::Job {
    std::uint32_t index = 0;
    pid_t pid = -1;
    UniqueFd input;  // our end of the copy's stdin
    UniqueFd output; // our end of the copy's stdout
    Output* sink = nullptr;
    std::string pending; // queued lines for the copy
    bool input_closed = false;
    std::uint64_t undelivered = 0; // lines dropped after the copy stopped reading
    std::thread reader;
    bool reaped = false;
    int status = 0;
    // Latest event time the copy reported; guarded by sink->mutex.
    Timestamp watermark = min_timestamp;
    Timestamp progress = min_timestamp;
};

struct JobPool::Output {
    std::unique_ptr<io::RecordSink> sink;
    std::mutex mutex;
    std::vector<Job*> jobs;
    Timestamp watermark_written = min_timestamp;
    Timestamp progress_written = min_timestamp;
};

JobPool::JobPool(Options options, std::vector<std::unique_ptr<io::RecordSink>> outputs)
    : options_(std::move(options)) {
    if (options_.argv.empty()) throw UsageError("-j needs a command after --");
    if (options_.jobs == 0 || outputs.empty()) throw UsageError("-j needs at least one job");
    for (const auto& word : options_.argv) {
        if (!command_text_.empty()) command_text_ += ' ';
        command_text_ += quote_word(word);
    }
    for (auto& sink : outputs) {
        auto output = std::make_unique<Output>();
        output->sink = std::move(sink);
        outputs_.push_back(std::move(output));
    }
    Pipe cancel = make_pipe();
    cancel_read_ = std::move(cancel.read);
    cancel_write_ = std::move(cancel.write);

    try {
        // A signal ignored when a program is started stays ignored in it (a caught one does not).
        struct sigaction ignore {};
        struct sigaction interrupt {};
        ignore.sa_handler = SIG_IGN;
        if (options_.ignore_interrupt) ::sigaction(SIGINT, &ignore, &interrupt);
        // Every copy is started before any thread, so no copy is forked from a busy process.
        for (std::uint32_t i = 0; i < options_.jobs; ++i) {
            auto job = std::make_unique<Job>();
            job->index = i;
            job->sink = outputs_[i % outputs_.size()].get();
            job->sink->jobs.push_back(job.get());
            try {
                spawn(*job);
            } catch (...) {
                if (options_.ignore_interrupt) ::sigaction(SIGINT, &interrupt, nullptr);
                throw;
            }
            jobs_.push_back(std::move(job));
        }
        if (options_.ignore_interrupt) ::sigaction(SIGINT, &interrupt, nullptr);
        // The copies run one program: whether it reads control records is the same for all.
        control_input_ = resolve_control_output(options_.control_input, jobs_.front()->input.get());
        for (auto& job : jobs_)
            job->reader = std::thread([this, raw = job.get()] { read_output(*raw); });
    } catch (...) {
        abort();
        throw;
    }
}

JobPool::~JobPool() {
    if (!finished_) abort();
}

void JobPool::spawn(Job& job) {
    Pipe stdin_pipe = make_pipe();
    Pipe stdout_pipe = make_pipe();
    widen(stdin_pipe.write.get());
    widen(stdout_pipe.read.get());

    SpawnSetup setup;
    posix_spawn_file_actions_adddup2(&setup.actions, stdin_pipe.read.get(), STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&setup.actions, stdout_pipe.write.get(), STDOUT_FILENO);
    // We ignore SIGPIPE (a closed pipe must end us with exit 0, not a signal); the copies get
    // the default back, so `head` downstream of them ends them as it would in a shell.
    sigset_t defaults;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    posix_spawnattr_setsigdefault(&setup.attributes, &defaults);
    sigset_t mask;
    sigemptyset(&mask);
    posix_spawnattr_setsigmask(&setup.attributes, &mask);
    posix_spawnattr_setflags(&setup.attributes, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

    std::vector<char*> argv;
    for (auto& word : options_.argv)
        argv.push_back(word.data());
    argv.push_back(nullptr);
    const int error =
        ::posix_spawnp(&job.pid, argv[0], &setup.actions, &setup.attributes, argv.data(), environ);
    if (error != 0) {
        job.pid = -1;
        throw UsageError("-j: cannot run '" + options_.argv[0] + "': " + std::strerror(error));
    }
    job.input = std::move(stdin_pipe.write);
    job.output = std::move(stdout_pipe.read);
    // The copy's ends close here, so the copy sees EOF once we close ours.
}

void JobPool::send(std::uint32_t job_index, std::string_view line) {
    if (stopping_.load(std::memory_order_relaxed)) rethrow_if_stopped();
    Job& job = *jobs_[job_index];
    if (job.input_closed) {
        ++job.undelivered;
        return;
    }
    job.pending.append(line);
    job.pending += '\n';
    pending_bytes_ += line.size() + 1;
    if (job.pending.size() >= block_bytes) write_pending(job);
}

void JobPool::send_control(const ControlRecord& control) {
    if (!control_input_) return;
    const std::string line = format_control(control);
    for (std::uint32_t i = 0; i < jobs(); ++i)
        if (!jobs_[i]->input_closed) send(i, line); // a closed copy: not an undelivered record
}

void JobPool::flush() {
    for (auto& job : jobs_)
        write_pending(*job);
}

void JobPool::write_pending(Job& job) {
    const char* data = job.pending.data();
    std::size_t left = job.pending.size();
    while (left > 0) {
        const ssize_t put = ::write(job.input.get(), data, left);
        if (put >= 0) {
            data += put;
            left -= static_cast<std::size_t>(put);
            continue;
        }
        if (errno == EINTR) continue;
        if (errno == EPIPE) {
            // Stopped because we are shutting down, or the copy closed its input early.
            rethrow_if_stopped();
            job.input_closed = true;
            job.undelivered += static_cast<std::uint64_t>(std::count(data, data + left, '\n'));
            job.input.reset();
            break;
        }
        throw RuntimeError("writing to job " + std::to_string(job.index) + " (" + command_text_ +
                           "): " + std::strerror(errno));
    }
    pending_bytes_ -= job.pending.size();
    job.pending.clear();
}

void JobPool::read_output(Job& job) noexcept {
    try {
        std::vector<char> chunk(std::size_t{64} << 10);
        std::string partial; // a line the copy has not finished yet
        pollfd fds[2] = {{job.output.get(), POLLIN, 0}, {cancel_read_.get(), POLLIN, 0}};
        for (;;) {
            if (::poll(fds, 2, -1) < 0) {
                if (errno == EINTR) continue;
                throw RuntimeError(std::string("poll: ") + std::strerror(errno));
            }
            if (fds[1].revents != 0) return; // stopping: nobody wants the rest
            if (fds[0].revents == 0) continue;
            const ssize_t got = ::read(job.output.get(), chunk.data(), chunk.size());
            if (got < 0) {
                if (errno == EINTR || errno == EAGAIN) continue;
                throw RuntimeError("reading the output of job " + std::to_string(job.index) + ": " +
                                   std::strerror(errno));
            }
            deliver(job, partial, std::string_view(chunk.data(), static_cast<std::size_t>(got)), got == 0);
            if (got == 0) return;
        }
    } catch (const BrokenPipe&) {
        stop(nullptr, true);
    } catch (...) {
        // Not swallowed: finish() or the next send() rethrows it on the main thread.
        stop(std::current_exception(), false);
    }
}

void JobPool::deliver(Job& job, std::string& partial, std::string_view chunk, bool at_end) {
    Output& output = *job.sink;
    const std::lock_guard lock(output.mutex);
    std::uint64_t lines = 0;
    const auto write_line = [&](std::string_view line) {
        if (is_control(line)) {
            if (const auto control = parse_control(line)) {
                merge_control(output, job, &*control);
                return;
            }
        }
        output.sink->write(line);
        ++lines;
    };
    std::size_t start = 0;
    for (;;) {
        const std::size_t newline = chunk.find('\n', start);
        if (newline == std::string_view::npos) break;
        const std::string_view piece = chunk.substr(start, newline - start);
        if (partial.empty()) {
            write_line(piece);
        } else {
            partial += piece;
            write_line(partial);
            partial.clear();
        }
        start = newline + 1;
    }
    partial.append(chunk.substr(start));
    if (at_end) {
        // A last line without a newline is still a line.
        if (!partial.empty()) write_line(partial);
        partial.clear();
        merge_control(output, job, nullptr);
    }
    // Whole lines leave at once, so the reader of a live stream sees them without delay.
    output.sink->flush();
    lines_out_.fetch_add(lines, std::memory_order_relaxed);
}

void JobPool::merge_control(Output& output, Job& job, const ControlRecord* control) {
    if (control == nullptr) {
        // The copy ended: it holds nothing back any more.
        job.watermark = job.progress = max_timestamp;
    } else if (control->type == ControlRecord::Type::watermark) {
        job.watermark = std::max(job.watermark, control->time);
    } else {
        job.progress = std::max(job.progress, control->time);
    }
    if (!options_.control_output) return;
    // The merged stream has seen time t only when every copy writing into it has.
    Timestamp watermark = max_timestamp, progress = max_timestamp;
    for (const Job* other : output.jobs) {
        watermark = std::min(watermark, other->watermark);
        progress = std::min(progress, other->progress);
    }
    if (progress > output.progress_written && progress != max_timestamp) {
        output.progress_written = progress;
        output.sink->write(format_control({ControlRecord::Type::progress, progress}));
    }
    if (watermark > output.watermark_written && watermark != max_timestamp) {
        output.watermark_written = watermark;
        output.sink->write(format_control({ControlRecord::Type::watermark, watermark}));
    }
}

void JobPool::stop(std::exception_ptr error, bool broken_pipe) noexcept {
    {
        const std::lock_guard lock(error_mutex_);
        if (error && !error_) error_ = std::move(error);
        if (broken_pipe) broken_pipe_ = true;
    }
    if (stopping_.exchange(true)) return;
    // Wake every output thread, and end the copies: a copy blocked writing output nobody reads
    // would otherwise block us writing its input.
    cancel_write_.reset();
    for (const auto& job : jobs_)
        if (job->pid > 0 && !job->reaped) ::kill(job->pid, SIGTERM);
}

void JobPool::rethrow_if_stopped() {
    if (!stopping_.load()) return;
    const std::lock_guard lock(error_mutex_);
    if (error_) std::rethrow_exception(error_);
    if (broken_pipe_) throw BrokenPipe();
    throw RuntimeError("stopped");
}

std::vector<std::string> JobPool::finish() {
    flush();
    for (auto& job : jobs_)
        job->input.reset(); // EOF: the copies finish their work
    for (auto& job : jobs_)
        if (job->reader.joinable()) job->reader.join();
    for (auto& job : jobs_) {
        while (::waitpid(job->pid, &job->status, 0) < 0 && errno == EINTR) {
        }
        job->reaped = true;
    }
    finished_ = true;
    rethrow_if_stopped();
    for (auto& output : outputs_)
        output->sink->close();

    std::vector<std::string> failures;
    for (const auto& job : jobs_) {
        if (!failed(job->status)) continue;
        std::string message = "job " + std::to_string(job->index) + " of " + std::to_string(jobs()) + " (" +
                              command_text_ + ") " + describe_status(job->status);
        if (job->undelivered > 0)
            message += "; it stopped reading its input and " + std::to_string(job->undelivered) +
                       " records for it were not delivered";
        failures.push_back(std::move(message));
    }
    return failures;
}

void JobPool::abort() noexcept {
    stop(nullptr, false);
    for (auto& job : jobs_)
        job->input.reset();
    for (auto& job : jobs_)
        if (job->reader.joinable()) job->reader.join();
    // Give the copies a moment to exit on SIGTERM; a copy that ignores it is killed.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    for (auto& job : jobs_) {
        if (job->pid <= 0 || job->reaped) continue;
        for (;;) {
            const pid_t done = ::waitpid(job->pid, &job->status, WNOHANG);
            if (done == job->pid || (done < 0 && errno != EINTR)) break;
            if (std::chrono::steady_clock::now() >= deadline) {
                ::kill(job->pid, SIGKILL);
                while (::waitpid(job->pid, &job->status, 0) < 0 && errno == EINTR) {
                }
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        job->reaped = true;
    }
    finished_ = true;
}

namespace {

/// Routes what KeyBy emits to the copy that owns the key (KeyBy runs with partitions = jobs).
class JobEmitter final : public Emitter {
  public:
    JobEmitter(JobPool& pool, Diagnostics& diagnostics) : pool_(pool), diagnostics_(diagnostics) {}

    void emit(const Record& record, const Route& route) override { pool_.send(*route.partition, record.raw); }
    void emit_new(std::string_view json, const Origin&, const Route& route) override {
        pool_.send(*route.partition, json);
    }
    void reject(const Record& record, std::string_view reason) override {
        diagnostics_.data_error(record.origin, 0, reason, record.raw);
    }
    void watermark(Timestamp time) override { pool_.send_control({ControlRecord::Type::watermark, time}); }
    void progress(Timestamp time) override { pool_.send_control({ControlRecord::Type::progress, time}); }

  private:
    JobPool& pool_;
    Diagnostics& diagnostics_;
};

/// One line of a Kafka block (a record or a control record): keyed and queued for its copy.
void feed_line(std::string_view text, const Origin& origin, std::optional<Timestamp> source_time, KeyBy& op,
               RecordParser& parser, JobPool& pool, JobEmitter& out, Diagnostics& diagnostics,
               Counters& counters) {
    ParseFailure failure;
    if (is_control(text)) {
        if (auto control = parse_control(text)) {
            parser.skip_in_batch(text);
            if (control->type == ControlRecord::Type::watermark)
                op.on_watermark(control->time, out);
            else
                op.on_progress(control->time, out);
            return;
        }
    }
    ++counters.records_in;
    if (!parser.parse_in_batch(text, failure)) {
        diagnostics.data_error(origin, failure.column, failure.reason, text);
        return;
    }
    op.push(Record{text, parser.slots(), origin, source_time}, out);
    counters.records_out = pool.lines_out();
    counters.errors = diagnostics.errors();
}

/// A Kafka input: blocks of messages, each parsed in one pass. Its offsets are not committed
/// here: what was queued for the copies is written downstream only once they have exited
/// (see run_keyed_parallel), so the caller commits at the end.
void feed_kafka(std::unique_ptr<io::RecordSource>& source, Diagnostics& diagnostics, KeyBy& op,
                RecordParser& parser, JobPool& pool, JobEmitter& out, Counters& counters,
                StatsReporter& reporter) {
    const std::string& name = source->name();
    io::Block block;
    for (;;) {
        // With records queued, ask without waiting: when nothing is there the copies get what is
        // queued. Otherwise wake up now and then to notice SIGINT/SIGTERM.
        const auto status = source->next_block(block, pool.has_pending() ? 0 : 200);
        if (status == io::RecordSource::Status::end) break;
        if (status == io::RecordSource::Status::idle) {
            pool.flush();
            continue;
        }
        if (status == io::RecordSource::Status::source_error) {
            diagnostics.input_error(name, source->error());
            break;
        }
        if (status == io::RecordSource::Status::bad_record) {
            ++counters.records_in;
            diagnostics.data_error(block.origin, 0, block.reason, block.text);
            continue;
        }
        parser.begin_batch(block.text);
        std::string_view rest = block.text;
        for (const io::LineMeta& line : block.lines) {
            const std::size_t newline = rest.find('\n');
            const std::string_view text = rest.substr(0, newline);
            rest.remove_prefix(newline == std::string_view::npos ? rest.size() : newline + 1);
            std::optional<Timestamp> source_time;
            if (line.time_ms) source_time = *line.time_ms * nanos_per_milli;
            feed_line(text, Origin{line.source, line.line}, source_time, op, parser, pool, out, diagnostics,
                      counters);
        }
        reporter.tick(counters, source->position(), std::nullopt);
    }
    counters.bytes_in += source->position();
}

/// Reads every input like the shared driver and pushes each record through KeyBy to its copy.
/// Kafka inputs are kept open in `kafka_inputs`, to be committed once the copies are done.
void feed(const cli::CommonOptions& common, Diagnostics& diagnostics, KeyBy& op, RecordParser& parser,
          JobPool& pool, JobEmitter& out, Counters& counters, StatsReporter& reporter,
          std::vector<std::unique_ptr<io::RecordSource>>& kafka_inputs) {
    std::vector<std::string> inputs = common.inputs;
    if (inputs.empty()) inputs.emplace_back("-");
    ParseFailure failure;
    io::install_stop_handlers();
    for (const auto& input : inputs) {
        if (io::stop_requested()) break;
        if (io::is_kafka_spec(input)) {
            std::unique_ptr<io::RecordSource> source;
            try {
                source = io::open_kafka_source(io::resolve_kafka_endpoint(input, common.kafka),
                                               common.max_line_bytes, io::KafkaCommits::on_commit_only);
            } catch (const RuntimeError& e) {
                diagnostics.input_error(input, e.what());
                continue;
            }
            feed_kafka(source, diagnostics, op, parser, pool, out, counters, reporter);
            kafka_inputs.push_back(std::move(source));
            continue;
        }
        std::unique_ptr<io::ByteSource> source;
        try {
            source = io::open_byte_source(input);
        } catch (const RuntimeError& e) {
            diagnostics.input_error(input, e.what());
            continue;
        }
        io::LineReader reader(std::move(source), common.max_line_bytes);
        const std::string& name = reader.source().name();
        io::LineReader::Line line;
        for (;;) {
            // SIGINT/SIGTERM: stop reading; the copies finish what they were given.
            if (io::stop_requested()) break;
            // With records queued, ask for input without waiting: when none is there the
            // copies get what is queued, so a live stream is not held back in our buffers. A
            // quiet input wakes up now and then to notice a stop signal.
            const auto status = reader.next(line, pool.has_pending() ? 0 : 200);
            if (status == io::LineReader::Status::end) break;
            if (status == io::LineReader::Status::idle) {
                pool.flush();
                reporter.poll(counters, reader.source().position(), reader.source().size());
                continue;
            }
            if (status == io::LineReader::Status::source_error) {
                diagnostics.input_error(name, reader.error());
                break;
            }
            if (is_control(line.text)) {
                if (auto control = parse_control(line.text)) {
                    if (control->type == ControlRecord::Type::watermark)
                        op.on_watermark(control->time, out);
                    else
                        op.on_progress(control->time, out);
                    continue;
                }
            }
            ++counters.records_in;
            const Origin origin{name, line.number};
            if (status == io::LineReader::Status::too_long) {
                diagnostics.data_error(origin, 0,
                                       "line longer than --max-line-bytes (" +
                                           std::to_string(common.max_line_bytes) + "); raw text truncated",
                                       line.text);
                continue;
            }
            if (!parser.parse(line.text, failure)) {
                diagnostics.data_error(origin, failure.column, failure.reason, line.text);
                continue;
            }
            op.push(Record{line.text, parser.slots(), origin}, out);
            counters.records_out = pool.lines_out();
            counters.errors = diagnostics.errors();
            reporter.tick(counters, reader.source().position(), reader.source().size());
        }
        counters.bytes_in += reader.source().position();
    }
    op.finish(out);
}

} // namespace

int run_keyed_parallel(const std::string& program, const cli::CommonOptions& common, Diagnostics& diagnostics,
                       KeyByOptions keyby, std::vector<std::string> command, std::uint32_t jobs) {
    Schema schema;
    keyby.partitions = jobs;
    KeyBy op(std::move(keyby), schema);
    RecordParser parser(schema, common.strict);

    // `-o 'out-{p}.ndjson'` gives each copy its own file; otherwise their lines are merged.
    const bool per_job = common.output.find("{p}") != std::string::npos;
    JobPool::Options options;
    options.argv = std::move(command);
    options.jobs = jobs;
    options.control_input = common.watermarks;
    options.control_output =
        resolve_control_output(common.watermarks, common.output == "-" ? STDOUT_FILENO : -1);
    // As in the shared driver, SIGINT/SIGTERM end the input (feed() installs the handlers once
    // the copies run); the copies finish, then a Kafka input commits.
    const bool kafka = std::any_of(common.inputs.begin(), common.inputs.end(), io::is_kafka_spec) ||
                       io::is_kafka_spec(common.output) || io::is_kafka_spec(common.dead_letter);
    options.ignore_interrupt = kafka;
    Counters counters;
    StatsReporter reporter = cli::make_stats_reporter(program, common);

    std::vector<std::string> failures;
    std::vector<std::unique_ptr<io::RecordSource>> kafka_inputs;
    try {
        JobPool pool(std::move(options), cli::open_outputs(common.output, per_job ? jobs : 0, common.kafka));
        JobEmitter out(pool, diagnostics);
        try {
            feed(common, diagnostics, op, parser, pool, out, counters, reporter, kafka_inputs);
        } catch (const RuntimeError&) {
            // --on-error=fail: the copies still finish the records before the bad one, as a
            // single tool would have written them. A failing pool itself is only stopped.
            if (!pool.stopping())
                for (const auto& failure : pool.finish())
                    diagnostics.warn("error: " + failure);
            throw;
        }
        failures = pool.finish();
        counters.records_out = pool.lines_out();
        // The copies have exited and their output is written (delivered, for Kafka): only now
        // are the records they were fed done. If a copy failed, nothing is committed and a
        // restart reads those records again.
        if (failures.empty())
            for (auto& source : kafka_inputs)
                source->close();
    } catch (const BrokenPipe&) {
        // Our reader left (`| head`): the pool's destructor stopped and reaped the copies.
        reporter.finish_metrics(counters);
        return exit_code::ok;
    }
    for (const auto& failure : failures)
        diagnostics.warn("error: " + failure);
    counters.errors = diagnostics.errors();
    counters.dead_lettered = diagnostics.dead_lettered();
    reporter.finish(counters);
    return !failures.empty() || diagnostics.errors() > 0 ? exit_code::data_error : exit_code::ok;
}

} // namespace cep::ops
