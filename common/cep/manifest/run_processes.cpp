// Processes mode: each node its own process (cep-TOOL, cep-keyby -j for parallel:, or a foreign
// command through /bin/sh), connected by pipes. This process only wires: a tee thread copies a
// node's output to several readers (fan-out, or outputs a tool cannot write itself), a merge
// merges several inputs by event time (fan-in), and stderr is forwarded with a tail kept for the
// failure report. Children share one process group, so signals reach all of them and none is
// left behind.

#include "cep/cli/driver.hpp"
#include "cep/cli/front.hpp"
#include "cep/cli/tool_app.hpp"
#include "cep/control.hpp"
#include "cep/io/byte_source.hpp"
#include "cep/io/record_source.hpp"
#include "cep/manifest/merge.hpp"
#include "cep/manifest/metrics.hpp"
#include "cep/manifest/runner.hpp"
#include "cep/testing/golden.hpp"

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <spawn.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char** environ;

namespace cep::manifest {
namespace {

std::atomic<int> received_signal{0};
std::atomic<bool> alarm_rang{false};

extern "C" void on_stop_signal(int sig) {
    received_signal.store(sig);
}

extern "C" void on_alarm(int) {
    alarm_rang.store(true);
}

/// How long the nodes have to end after cep run stopped them for a failure, before SIGKILL.
constexpr unsigned stop_grace_seconds = 10;

/// An owned file descriptor.
class Fd {
  public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    Fd& operator=(Fd&& other) noexcept {
        if (this != &other) {
            reset();
            fd_ = std::exchange(other.fd_, -1);
        }
        return *this;
    }
    ~Fd() { reset(); }
    int get() const { return fd_; }
    void reset() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }

  private:
    int fd_ = -1;
};

struct Pipe {
    Fd read, write;
};

Pipe make_pipe() {
    int fds[2];
    // Close-on-exec: a child gets only what posix_spawn dup2s onto its 0, 1 and 2, so no stray
    // write end keeps a reader from seeing the end of its input.
    if (pipe2(fds, O_CLOEXEC) != 0) throw RuntimeError(std::string("pipe: ") + std::strerror(errno));
    return {Fd(fds[0]), Fd(fds[1])};
}

/// Writes all of `bytes`; false when the reader is gone (EPIPE) or writing fails.
bool write_all(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
        const ssize_t n = ::write(fd, bytes.data(), bytes.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

/// Calls `line` for each line read from `fd` until its end (without the newline), and after
/// each read `chunk_done(drained)`, drained when the read found the pipe emptied (the writer is
/// quiet for now).
template <typename F, typename G> void for_each_line(int fd, F&& line, G&& chunk_done) {
    std::string buffer;
    char chunk[65536];
    for (;;) {
        const ssize_t n = ::read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        buffer.append(chunk, static_cast<std::size_t>(n));
        std::size_t start = 0;
        for (std::size_t nl; (nl = buffer.find('\n', start)) != std::string::npos; start = nl + 1)
            line(std::string_view(buffer).substr(start, nl - start));
        buffer.erase(0, start);
        chunk_done(static_cast<std::size_t>(n) < sizeof chunk);
    }
    if (!buffer.empty()) line(std::string_view(buffer));
}

template <typename F> void for_each_line(int fd, F&& line) {
    for_each_line(fd, std::forward<F>(line), [](bool) {});
}

/// Where a node's records go when it has more than one reader or a reader it cannot write to.
struct Consumer {
    Fd fd;            // a pipe to a node or a merge
    std::string spec; // or an output (file, .zst, kafka:, -)
    std::string label;
    std::atomic<std::uint64_t>* count = nullptr; // records passed, for a foreign node's metrics
};

/// The descriptor a cep tool node writes its metrics lines to (--metrics-fd).
constexpr int metrics_fd = 3;

/// The latest metrics line of one process of a node (a parallel: node has one per copy).
struct ProcessReport {
    std::uint64_t in = 0, out = 0, state = 0, waiting_ns = 0, blocked_ns = 0;
    std::optional<Timestamp> watermark;
};

struct Plan {
    std::vector<std::string> argv;
    std::string stdin_from; // for the dry-run and reports
    std::string stdout_to;
    Fd stdin_fd;  // -1: inherit
    Fd stdout_fd; // -1: inherit
    bool stdin_null = false;
    std::vector<Consumer> tee; // non-empty: stdout goes to a tee thread
    // Fan-in: the merge's ports (files, then upstream pipes) and where it writes.
    bool merged = false;
    std::vector<std::string> merge_files;
    std::vector<Fd> merge_pipes;
    Fd merge_out;
    Pipe err;
    pid_t pid = -1;
    std::string tail; // last bytes of stderr
    std::mutex tail_mutex;
    // --metrics: a cep tool's lines, by pid; a foreign command's records, as cep run passed them.
    Pipe metrics;
    std::mutex report_mutex;
    std::map<long, ProcessReport> reports;
    std::atomic<std::uint64_t> seen_in{0}, seen_out{0};
    bool counts_in = false, counts_out = false;
};

/// Words the runner adds to a node's arguments go before a `--` (cep-keyby -j ... -- COMMAND),
/// where the tool, not the command after it, reads them.
void add_args(std::vector<std::string>& args, const std::vector<std::string>& extra) {
    const auto end = std::find(args.begin(), args.end(), "--");
    args.insert(end, extra.begin(), extra.end());
}

void take_report(Plan& plan, std::string_view line) {
    try {
        const auto json = nlohmann::json::parse(line);
        ProcessReport report;
        report.in = json.value("records_in", std::uint64_t{0});
        report.out = json.value("records_out", std::uint64_t{0});
        report.state = json.value("state", std::uint64_t{0});
        report.waiting_ns = json.value("waiting_in_ns", std::uint64_t{0});
        report.blocked_ns = json.value("blocked_out_ns", std::uint64_t{0});
        if (json.contains("watermark") && json["watermark"].is_number_integer())
            report.watermark = json["watermark"].get<Timestamp>();
        std::lock_guard lock(plan.report_mutex);
        plan.reports[json.value("pid", 0L)] = report;
    } catch (const nlohmann::json::exception& e) {
        std::fprintf(stderr, "cep run: a node's metrics line is not JSON (%s): %.*s\n", e.what(),
                     static_cast<int>(std::min<std::size_t>(line.size(), 200)), line.data());
    }
}

NodeMetrics node_metrics(const Node& node, Plan& plan) {
    NodeMetrics m;
    if (!node.is_tool()) {
        m.reporting = false;
        if (plan.counts_in) m.in = plan.seen_in.load();
        if (plan.counts_out) m.out = plan.seen_out.load();
        return m;
    }
    std::lock_guard lock(plan.report_mutex);
    m.in = 0;
    m.out = 0;
    if (plan.reports.empty()) return m; // no line yet
    std::uint64_t state = 0, waiting = 0, blocked = 0;
    for (const auto& [pid, report] : plan.reports) {
        *m.in += report.in;
        *m.out += report.out;
        state += report.state;
        waiting += report.waiting_ns;
        blocked += report.blocked_ns;
        // A parallel: node's watermark is its slowest copy's.
        if (report.watermark && (!m.watermark || *report.watermark < *m.watermark))
            m.watermark = report.watermark;
    }
    m.state = state;
    m.waiting_in_ns = waiting / plan.reports.size();
    m.blocked_out_ns = blocked / plan.reports.size();
    return m;
}

bool has_flag(const std::vector<std::string>& args, std::string_view flag) {
    for (const auto& arg : args)
        if (arg == flag || arg.starts_with(std::string(flag) + "=")) return true;
    return false;
}

std::string describe(const std::vector<std::string>& argv) {
    std::string out;
    for (const auto& word : argv) {
        // Our own tools by name, so the listing does not depend on where the build is.
        const std::filesystem::path path(word);
        const std::string shown = path.is_absolute() && path.filename().string().starts_with("cep-")
                                      ? path.filename().string()
                                      : word;
        out += (out.empty() ? "" : " ") + testing::quote_shell_word(shown);
    }
    return out;
}

} // namespace

int run_processes(const Manifest& manifest, const RunOptions& options) {
    const std::size_t n = manifest.nodes.size();
    std::optional<MetricsWriter> metrics;
    if (!options.dry_run) metrics.emplace(manifest, options);
    const bool metered = metrics && metrics->enabled();
    std::vector<std::unique_ptr<Plan>> plans;
    for (std::size_t i = 0; i < n; ++i)
        plans.push_back(std::make_unique<Plan>());

    // A node reads a pipe of its own when records come from exactly one node; through a merge
    // when from several places (or a foreign command reads a file); else its input directly.
    auto single_upstream = [&](std::size_t i) {
        return manifest.upstream[i].size() == 1 && manifest.nodes[i].inputs.empty();
    };
    auto uses_merge = [&](std::size_t i) {
        const Node& node = manifest.nodes[i];
        if (manifest.input_count(i) > 1) return true;
        return !node.is_tool() && node.inputs.size() == 1 && node.inputs.front() != "-";
    };
    std::vector<Fd> node_stdin_write(n);        // write end of each node's stdin pipe
    std::vector<std::vector<Fd>> port_write(n); // write ends of each merge's upstream ports
    for (std::size_t i = 0; i < n; ++i) {
        Plan& plan = *plans[i];
        const Node& node = manifest.nodes[i];
        if (uses_merge(i)) {
            plan.merged = true;
            plan.merge_files = node.inputs;
            for (std::size_t u = 0; u < manifest.upstream[i].size(); ++u) {
                Pipe pipe = make_pipe();
                plan.merge_pipes.push_back(std::move(pipe.read));
                port_write[i].push_back(std::move(pipe.write));
            }
            Pipe in = make_pipe();
            plan.stdin_fd = std::move(in.read);
            plan.merge_out = std::move(in.write);
            std::string from;
            for (const auto& f : node.inputs)
                from += (from.empty() ? "" : ", ") + f;
            for (std::size_t u : manifest.upstream[i])
                from += (from.empty() ? "" : ", ") + manifest.nodes[u].name;
            plan.stdin_from = "merge by event time of " + from;
            plan.counts_in = metered && !node.is_tool();
        } else if (single_upstream(i)) {
            Pipe in = make_pipe();
            plan.stdin_fd = std::move(in.read);
            node_stdin_write[i] = std::move(in.write);
            plan.stdin_from = manifest.nodes[manifest.upstream[i].front()].name;
        } else if (node.inputs.front() == "-") {
            plan.stdin_from = "stdin";
        } else {
            plan.stdin_null = true;
        }
    }

    for (std::size_t i = 0; i < n; ++i) {
        Plan& plan = *plans[i];
        const Node& node = manifest.nodes[i];
        std::vector<Consumer> consumers;
        bool all_cep_pipes = !manifest.downstream[i].empty() && node.outputs.empty();
        for (std::size_t d : manifest.downstream[i]) {
            const auto& up = manifest.upstream[d];
            const std::size_t port =
                static_cast<std::size_t>(std::find(up.begin(), up.end(), i) - up.begin());
            if (plans[d]->merged) {
                consumers.push_back(
                    {std::move(port_write[d][port]), {}, "merge into " + manifest.nodes[d].name});
                all_cep_pipes = false;
            } else {
                consumers.push_back({std::move(node_stdin_write[d]), {}, manifest.nodes[d].name});
                all_cep_pipes = all_cep_pipes && manifest.nodes[d].is_tool();
                // A foreign command does not count its records: with --metrics they pass
                // through the tee, which does.
                if (metered && !manifest.nodes[d].is_tool()) {
                    consumers.back().count = &plans[d]->seen_in;
                    plans[d]->counts_in = true;
                }
            }
        }
        for (const auto& output : node.outputs)
            consumers.push_back({Fd(), output, output});
        if (manifest.writes_stdout(i)) consumers.push_back({Fd(), "-", "stdout"});

        std::vector<std::string> extra; // -o for a tool writing its one output itself
        plan.counts_out = metered && !node.is_tool();
        // With --metrics, a foreign command's records pass through the tee, which counts them.
        const bool counted =
            plan.counts_out || std::any_of(consumers.begin(), consumers.end(),
                                           [](const Consumer& c) { return c.count != nullptr; });
        if (!counted && consumers.size() == 1 && consumers.front().fd.get() >= 0) {
            plan.stdout_fd = std::move(consumers.front().fd);
            plan.stdout_to = consumers.front().label;
        } else if (!counted && consumers.size() == 1 && consumers.front().spec == "-") {
            plan.stdout_to = "stdout";
        } else if (!counted && consumers.size() == 1 && node.is_tool() &&
                   !(node.parallel > 1 && io::is_kafka_spec(consumers.front().spec))) {
            // (cep-keyby -j does not take the node's Kafka flags: a parallel: node's topic is
            // written by the tee.)
            extra = {"-o", consumers.front().spec};
            plan.stdout_to = consumers.front().spec;
        } else {
            Pipe out = make_pipe();
            plan.stdout_fd = std::move(out.write);
            // tee[0]: what the tee reads
            plan.tee.push_back({std::move(out.read), {}, {}, plan.counts_out ? &plan.seen_out : nullptr});
            for (auto& consumer : consumers) {
                plan.stdout_to += (plan.stdout_to.empty() ? "tee to " : ", ") + consumer.label;
                plan.tee.push_back(std::move(consumer));
            }
        }

        if (node.is_tool()) {
            const std::string tool = cli::sibling_program("cep-" + node.tool).string();
            std::vector<std::string> tool_args = node.args;
            std::vector<std::string> added;
            // Event time travels as control records only to cep tools reading our output alone.
            if (!has_flag(node.args, "--watermarks"))
                added = {"--watermarks", all_cep_pipes ? "always" : "never"};
            if (metered) {
                // Every process of the node (each copy of a parallel: one) writes its counters
                // to the pipe cep run reads.
                plan.metrics = make_pipe();
                const std::string every = options.metrics_interval.empty() ? "1s" : options.metrics_interval;
                added.insert(added.end(),
                             {"--metrics-fd", std::to_string(metrics_fd), "--metrics-interval", every});
            }
            add_args(tool_args, added);
            std::vector<std::string> inputs;
            if (!plan.merged && !single_upstream(i)) inputs = node.inputs;
            if (node.parallel > 1) {
                plan.argv = {cli::sibling_program("cep-keyby").string(), "-k", node.key, "-j",
                             std::to_string(node.parallel)};
                plan.argv.insert(plan.argv.end(), extra.begin(), extra.end());
                plan.argv.insert(plan.argv.end(), inputs.begin(), inputs.end());
                plan.argv.push_back("--");
                plan.argv.push_back(tool);
                plan.argv.insert(plan.argv.end(), tool_args.begin(), tool_args.end());
            } else {
                add_args(tool_args, extra);
                add_args(tool_args, inputs);
                plan.argv = {tool};
                plan.argv.insert(plan.argv.end(), tool_args.begin(), tool_args.end());
            }
        } else {
            for (const auto& input : node.inputs)
                if (io::is_kafka_spec(input))
                    throw UsageError("node '" + node.name +
                                     "': a command: node reads files, stdin or nodes, not " + input);
            plan.argv = {"/bin/sh", "-c", node.command};
        }
    }

    if (options.dry_run) {
        std::printf("# processes: one process per node, started together\n");
        for (std::size_t i : manifest.order) {
            const Plan& plan = *plans[i];
            std::printf("%s: %s", manifest.nodes[i].name.c_str(), describe(plan.argv).c_str());
            if (!plan.stdin_from.empty()) std::printf("  < %s", plan.stdin_from.c_str());
            if (!plan.stdout_to.empty()) std::printf("  > %s", plan.stdout_to.c_str());
            std::printf("\n");
        }
        return exit_code::ok;
    }

    // Outputs the tee threads write are opened before anything starts, so a bad name fails early;
    // a kafka: output with the node's own Kafka flags (-b, -X, ...), as its tool would open it.
    std::vector<std::vector<std::unique_ptr<io::RecordSink>>> tee_sinks(n);
    for (std::size_t i = 0; i < n; ++i) {
        const Node& node = manifest.nodes[i];
        io::KafkaOptions kafka;
        if (node.is_tool()) kafka = cli::parse_tool(*cli::find_tool(node.tool), node.args)->common.kafka;
        for (std::size_t c = 1; c < plans[i]->tee.size(); ++c)
            tee_sinks[i].push_back(
                plans[i]->tee[c].spec.empty() ? nullptr : cli::open_output(plans[i]->tee[c].spec, kafka));
    }

    struct sigaction action {};
    action.sa_handler = on_stop_signal; // no SA_RESTART: waitpid returns EINTR to forward it
    sigemptyset(&action.sa_mask);
    struct sigaction old_int {
    }, old_term{};
    sigaction(SIGINT, &action, &old_int);
    sigaction(SIGTERM, &action, &old_term);
    struct sigaction ring {
    }, old_alarm{};
    ring.sa_handler = on_alarm;
    sigemptyset(&ring.sa_mask);
    sigaction(SIGALRM, &ring, &old_alarm);
    // Set on SIGINT/SIGTERM: the runner's own readers of input files (the merges) stop.
    std::atomic<bool> stop_reading{false};

    pid_t group = 0;
    std::size_t running = 0;
    std::string spawn_error;
    for (std::size_t i : manifest.order) {
        Plan& plan = *plans[i];
        plan.err = make_pipe();
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        if (plan.stdin_fd.get() >= 0)
            posix_spawn_file_actions_adddup2(&actions, plan.stdin_fd.get(), STDIN_FILENO);
        else if (plan.stdin_null)
            posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        if (plan.stdout_fd.get() >= 0)
            posix_spawn_file_actions_adddup2(&actions, plan.stdout_fd.get(), STDOUT_FILENO);
        posix_spawn_file_actions_adddup2(&actions, plan.err.write.get(), STDERR_FILENO);
        if (plan.metrics.write.get() >= 0)
            posix_spawn_file_actions_adddup2(&actions, plan.metrics.write.get(), metrics_fd);
        posix_spawnattr_t attr;
        posix_spawnattr_init(&attr);
        // One process group for all nodes; signal dispositions as a shell would leave them
        // (we ignore SIGPIPE, but a foreign `head` relies on it).
        sigset_t defaults;
        sigemptyset(&defaults);
        for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGHUP})
            sigaddset(&defaults, sig);
        posix_spawnattr_setsigdefault(&attr, &defaults);
        sigset_t none;
        sigemptyset(&none);
        posix_spawnattr_setsigmask(&attr, &none);
        posix_spawnattr_setpgroup(&attr, group);
        posix_spawnattr_setflags(&attr,
                                 POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
        std::vector<char*> argv;
        for (auto& word : plan.argv)
            argv.push_back(word.data());
        argv.push_back(nullptr);
        const int error = posix_spawnp(&plan.pid, argv[0], &actions, &attr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        posix_spawnattr_destroy(&attr);
        // The child has its copies; ours would keep pipes open.
        plan.stdin_fd.reset();
        plan.stdout_fd.reset();
        plan.err.write.reset();
        plan.metrics.write.reset();
        if (error != 0) {
            plan.pid = -1;
            spawn_error = "node '" + manifest.nodes[i].name + "': cannot run " + plan.argv.front() + ": " +
                          std::strerror(error);
            break;
        }
        if (group == 0) group = plan.pid;
        ++running;
    }

    for (auto& plan : plans) { // nodes never started, after a failure to spawn, too
        plan->stdin_fd.reset();
        plan->stdout_fd.reset();
        plan->err.write.reset();
        plan->metrics.write.reset();
    }
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < n; ++i) {
        Plan& plan = *plans[i];
        if (plan.err.read.get() >= 0)
            threads.emplace_back([&plan, &metrics] {
                char chunk[4096];
                for (;;) {
                    const ssize_t got = ::read(plan.err.read.get(), chunk, sizeof chunk);
                    if (got < 0 && errno == EINTR) continue;
                    if (got <= 0) break;
                    {
                        // Not into the middle of the --status table.
                        std::unique_lock<std::mutex> shown;
                        if (metrics) {
                            shown = std::unique_lock(metrics->stderr_mutex());
                            metrics->clear_status();
                        }
                        (void)write_all(STDERR_FILENO,
                                        std::string_view(chunk, static_cast<std::size_t>(got)));
                    }
                    std::lock_guard lock(plan.tail_mutex);
                    plan.tail.append(chunk, static_cast<std::size_t>(got));
                    if (plan.tail.size() > 8192) plan.tail.erase(0, plan.tail.size() - 8192);
                }
            });
        if (plan.metrics.read.get() >= 0)
            threads.emplace_back([&plan] {
                for_each_line(plan.metrics.read.get(), [&](std::string_view line) {
                    if (!line.empty()) take_report(plan, line);
                });
            });
        if (!plan.tee.empty())
            threads.emplace_back([&plan, &sinks = tee_sinks[i]] {
                std::vector<bool> alive(plan.tee.size(), true);
                // Lines for each pipe, written once per read: one write per line per reader made
                // the tee the pipeline's bottleneck (its writer blocked 70% of the time).
                std::vector<std::string> pending(plan.tee.size());
                std::vector<std::uint64_t> pending_records(plan.tee.size(), 0);
                auto write_pending = [&] {
                    for (std::size_t c = 1; c < plan.tee.size(); ++c) {
                        if (pending[c].empty()) continue;
                        if (alive[c] && !write_all(plan.tee[c].fd.get(), pending[c])) {
                            alive[c] = false; // that reader left; the others still get everything
                            plan.tee[c].fd.reset();
                        } else if (alive[c] && plan.tee[c].count) {
                            *plan.tee[c].count += pending_records[c];
                        }
                        pending[c].clear();
                        pending_records[c] = 0;
                    }
                };
                try {
                    for_each_line(
                        plan.tee[0].fd.get(),
                        [&](std::string_view line) {
                            const bool record = !line.empty() && !is_control(line);
                            if (record && plan.tee[0].count) ++*plan.tee[0].count;
                            for (std::size_t c = 1; c < plan.tee.size(); ++c) {
                                if (!alive[c]) continue;
                                if (sinks[c - 1]) {
                                    sinks[c - 1]->write(line);
                                } else {
                                    pending[c].append(line);
                                    pending[c].push_back('\n');
                                    if (record) ++pending_records[c];
                                }
                            }
                        },
                        [&](bool drained) {
                            write_pending();
                            // A live stream's files show what came so far, as the tools' own do.
                            if (drained)
                                for (std::size_t c = 1; c < plan.tee.size(); ++c)
                                    if (alive[c] && sinks[c - 1]) sinks[c - 1]->flush();
                        });
                    write_pending(); // a last line without its newline
                    for (auto& sink : sinks)
                        if (sink) sink->close();
                } catch (const std::exception& e) {
                    std::fprintf(stderr, "cep run: writing an output: %s\n", e.what());
                }
                for (auto& consumer : plan.tee)
                    consumer.fd.reset();
            });
        if (plan.merged) {
            // One reader per input, so none is left unread while the merge waits on another (a
            // diamond would otherwise deadlock); the merge buffers what is ahead.
            const Node& node = manifest.nodes[i];
            const std::size_t ports = plan.merge_files.size() + plan.merge_pipes.size();
            auto shared = std::make_shared<std::pair<std::mutex, std::unique_ptr<EventTimeMerge>>>();
            TimeOptions time;
            if (node.is_tool()) time = cli::parse_tool(*cli::find_tool(node.tool), node.args)->common.time;
            shared->second = std::make_unique<EventTimeMerge>(ports, time, [&plan](std::string_view line) {
                if (plan.merge_out.get() < 0) return;
                if (!write_all(plan.merge_out.get(), line) || !write_all(plan.merge_out.get(), "\n"))
                    plan.merge_out.reset();
                else if (plan.counts_in)
                    ++plan.seen_in;
            });
            auto remaining = std::make_shared<std::atomic<std::size_t>>(ports);
            auto finish_port = [&plan, shared, remaining](std::size_t port) {
                std::lock_guard lock(shared->first);
                shared->second->close(port);
                if (--*remaining == 0) plan.merge_out.reset(); // the node sees the end of its input
            };
            for (std::size_t p = 0; p < ports; ++p) {
                threads.emplace_back([&plan, shared, finish_port, p, &stop_reading] {
                    auto push = [&](std::string_view line) {
                        if (line.empty()) return;
                        std::lock_guard lock(shared->first);
                        shared->second->push(p, line);
                    };
                    if (p < plan.merge_files.size()) {
                        try {
                            io::LineRecordSource source(io::open_byte_source(plan.merge_files[p]),
                                                        std::size_t{128} << 20);
                            io::Block block;
                            for (;;) {
                                if (stop_reading.load()) break;
                                // Wakes up now and then to notice a stop (a FIFO may stay quiet).
                                const auto status = source.next_block(block, 200);
                                if (status == io::RecordSource::Status::end ||
                                    status == io::RecordSource::Status::source_error)
                                    break;
                                if (status != io::RecordSource::Status::block) continue;
                                std::uint64_t lines = 0;
                                std::string_view rest = block.text;
                                while (!rest.empty()) {
                                    const std::size_t nl = rest.find('\n');
                                    push(rest.substr(0, nl));
                                    ++lines;
                                    rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
                                }
                                source.lines_consumed(lines);
                            }
                        } catch (const std::exception& e) {
                            std::fprintf(stderr, "cep run: %s: %s\n", plan.merge_files[p].c_str(), e.what());
                        }
                    } else {
                        for_each_line(plan.merge_pipes[p - plan.merge_files.size()].get(), push);
                    }
                    finish_port(p);
                });
            }
        }
    }

    // --metrics and --status: every interval, what the nodes last reported.
    auto snapshot = [&] {
        std::vector<NodeMetrics> all;
        for (std::size_t i = 0; i < n; ++i)
            all.push_back(node_metrics(manifest.nodes[i], *plans[i]));
        return all;
    };
    std::mutex ticker_mutex;
    std::condition_variable ticker_wake;
    bool ticker_done = false;
    std::thread ticker;
    if (metered)
        ticker = std::thread([&] {
            std::unique_lock lock(ticker_mutex);
            while (!ticker_wake.wait_for(lock, metrics->interval(), [&] { return ticker_done; }))
                metrics->tick(snapshot());
        });

    // Reap every child. The first that dies of a signal it was not sent, or exits with a usage or
    // worse status, stops the pipeline; exit 1 (data errors seen) lets the others finish.
    std::string first_failure;
    std::size_t failed_node = n;
    bool any_error = !spawn_error.empty();
    bool stopping = !spawn_error.empty();
    unsigned signals = 0;
    // A failure stops every node at once; those still running after the grace period are killed.
    auto stop_all = [&] {
        stopping = true;
        if (group != 0) kill(-group, SIGTERM);
        alarm(stop_grace_seconds);
    };
    // SIGINT/SIGTERM drain the pipeline: only the nodes that read inputs of their own are told to
    // stop (and our merges stop reading files); the others see the end of their input once
    // what was read has flowed through, so every result is written and every output closed.
    // A second signal kills every node.
    auto on_signal = [&] {
        if (received_signal.exchange(0) == 0) return;
        stopping = true;
        if (++signals > 1) {
            if (group != 0) kill(-group, SIGKILL);
            return;
        }
        stop_reading.store(true);
        for (std::size_t i = 0; i < n; ++i)
            if (plans[i]->pid > 0 && !manifest.nodes[i].inputs.empty() && !plans[i]->merged)
                kill(plans[i]->pid, SIGTERM);
    };
    if (stopping) stop_all();
    while (running > 0) {
        on_signal();
        if (alarm_rang.exchange(false) && group != 0) kill(-group, SIGKILL);
        int status = 0;
        const pid_t pid = waitpid(-1, &status, 0);
        if (pid < 0) {
            if (errno == EINTR) continue;
            break;
        }
        std::size_t i = 0;
        while (i < n && plans[i]->pid != pid)
            ++i;
        if (i == n) continue;
        --running;
        plans[i]->pid = -1;
        const bool signalled = WIFSIGNALED(status);
        const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        if (code == 0) continue;
        // Deaths we caused (SIGTERM to a node, SIGPIPE after a reader left) are not the cause.
        if (stopping && signalled) continue;
        any_error = true;
        if (failed_node == n) {
            failed_node = i;
            first_failure = signalled ? std::string("was killed by signal ") + strsignal(WTERMSIG(status))
                                      : "exited with status " + std::to_string(code);
        }
        if ((signalled || code >= 2) && !stopping) stop_all();
    }
    alarm(0);
    // The merges' readers may still wait on a FIFO whose node is gone.
    stop_reading.store(true);
    for (auto& thread : threads)
        thread.join();
    if (ticker.joinable()) {
        {
            std::lock_guard lock(ticker_mutex);
            ticker_done = true;
        }
        ticker_wake.notify_one();
        ticker.join();
    }
    // The nodes' final lines are all in: their pipes ended with them.
    if (metered) metrics->finish(snapshot());
    sigaction(SIGINT, &old_int, nullptr);
    sigaction(SIGTERM, &old_term, nullptr);
    sigaction(SIGALRM, &old_alarm, nullptr);

    if (!spawn_error.empty()) std::fprintf(stderr, "cep run: %s\n", spawn_error.c_str());
    if (failed_node < n) {
        const Node& node = manifest.nodes[failed_node];
        std::fprintf(stderr, "cep run: node '%s' (%s) %s\n", node.name.c_str(),
                     node.is_tool() ? ("cep-" + node.tool).c_str() : node.command.c_str(),
                     first_failure.c_str());
        std::string tail = plans[failed_node]->tail;
        // The last few lines, which say why.
        std::size_t cut = tail.size(), lines = 0;
        while (cut > 0 && lines < 11) {
            cut = tail.rfind('\n', cut - 1);
            if (cut == std::string::npos) {
                cut = 0;
                break;
            }
            ++lines;
        }
        tail.erase(0, cut == 0 ? 0 : cut + 1);
        if (!tail.empty()) {
            std::fprintf(stderr, "cep run: the end of its stderr:\n");
            for (auto line : testing::split_lines(tail))
                std::fprintf(stderr, "  | %.*s\n", static_cast<int>(line.size()), line.data());
        }
    }
    return any_error ? exit_code::data_error : exit_code::ok;
}

bool runs_fused(const Manifest& manifest, const std::string& mode) {
    if (mode == "fused") return true;
    if (mode == "processes") return false;
    for (const auto& node : manifest.nodes) {
        if (!node.is_tool() || node.parallel > 1) return false;
        if (node.tool == "keyby" && (has_flag(node.args, "-j") || has_flag(node.args, "--jobs")))
            return false;
    }
    return true;
}

int run(const Manifest& manifest, const RunOptions& options) {
    if (runs_fused(manifest, options.mode)) return run_fused(manifest, options);
    return run_processes(manifest, options);
}

} // namespace cep::manifest
