#include "cep/cli/commands.hpp"
#include "cep/cli/driver.hpp"
#include "cep/errors.hpp"
#include "cep/io/kafka_config.hpp"
#include "cep/io/kafka_source.hpp"
#include "cep/io/kafka_url.hpp"
#include "cep/replay/archive.hpp"
#include "cep/replay/replay.hpp"

#include <unistd.h>

namespace cep::cli {
namespace {

class ReplayCommand final : public Command {
  public:
    void add_options(CLI::App& app) override {
        app.add_option("--from", from_, "Replay only records at or after T (RFC 3339 or epoch ms)")
            ->type_name("T");
        app.add_option("--until", until_, "Replay only records before T (RFC 3339 or epoch ms)")
            ->type_name("T");
        app.add_option("--speed", speed_,
                       "Pace: max (as fast as possible), or event time at Nx the wall clock (1x, 60x)")
            ->type_name("max|Nx")
            ->default_str("max");
        app.add_option("--follow", follow_, "After the archive, keep reading FILE as it grows (as tail -F)")
            ->type_name("FILE");
        app.add_option("--then", then_,
                       "After the archive, continue with a Kafka topic (kafka://BROKERS/TOPIC)")
            ->type_name("KAFKA");
        app.add_option("--archive", archive_,
                       "Write the input as time-partitioned .zst files under DIR instead of replaying")
            ->type_name("DIR");
        app.add_option("--archive-every", every_, "With --archive: the period of one file (10m, 1h, 1d)")
            ->type_name("DURATION")
            ->default_str("1h");
    }

    bool uses_event_time() const override { return true; }

    void configure(CommonOptions& common) override {
        if (!archive_.empty()) {
            for (const auto& [flag, value] :
                 {std::pair{"--from", from_}, {"--until", until_}, {"--follow", follow_}, {"--then", then_}})
                if (!value.empty())
                    throw UsageError(std::string(flag) + " is for replaying, not with --archive");
            if (speed_ != "max") throw UsageError("--speed is for replaying, not with --archive");
            const auto every = parse_duration(every_);
            if (!every)
                throw UsageError("--archive-every: not a duration: '" + every_ + "' (try 1h, 1d, 10m)");
            if (auto problem = replay::check_archive_every(*every))
                throw UsageError("--archive-every " + every_ + ": " + *problem);
            every_ns_ = *every;
            return;
        }
        if (every_ != "1h") throw UsageError("--archive-every needs --archive DIR");
        const auto bound = [](const std::string& text, const char* flag) -> std::optional<Timestamp> {
            if (text.empty()) return std::nullopt;
            if (auto time = replay::parse_time_bound(text)) return time;
            throw UsageError(std::string(flag) + ": not an RFC 3339 time or epoch milliseconds: '" + text +
                             "'");
        };
        options_.from = bound(from_, "--from");
        options_.until = bound(until_, "--until");
        if (options_.from && options_.until && *options_.until <= *options_.from)
            throw UsageError("--until must be after --from");
        const auto speed = replay::parse_speed(speed_);
        if (!speed)
            throw UsageError("--speed: expected max or a factor such as 1x, 60x, 0.5x: '" + speed_ + "'");
        options_.speed = *speed;
        if (!follow_.empty() && !then_.empty())
            throw UsageError("--follow and --then both continue the archive: choose one");
        if (!then_.empty()) {
            if (!io::is_kafka_spec(then_))
                throw UsageError("--then: expected a Kafka name (kafka://BROKERS/TOPIC): '" + then_ + "'");
            io::check_kafka_input(io::resolve_kafka_endpoint(then_, common.kafka));
        }
        if (common.output != "-" && common.output == follow_)
            throw UsageError("--follow: the output is the followed file");
    }

    std::unique_ptr<Operator> make_operator(Schema& schema, const CommonOptions& common) override {
        replay::ArchiveOptions options{archive_, every_ns_, common.time};
        return std::make_unique<replay::Archive>(std::move(options), schema);
    }

    std::optional<int> run_directly(const CommonOptions& common, Diagnostics& diagnostics) override {
        if (!archive_.empty()) return std::nullopt; // the shared driver feeds the Archive operator
        options_.inputs = common.inputs;
        options_.time = common.time;
        options_.follow = follow_;
        options_.then = then_;
        options_.max_line_bytes = common.max_line_bytes;
        options_.strict = common.strict;
        options_.kafka = common.kafka;

        Counters counters;
        const bool control_output =
            resolve_control_output(common.watermarks, common.output == "-" ? STDOUT_FILENO : -1);
        SinkEmitter out(open_outputs(common.output, 0, common.kafka), counters, diagnostics, control_output);
        StatsReporter reporter = make_stats_reporter(diagnostics.tool(), common);
        reporter.on_refresh([&out](Counters& c) {
            c.watermark = out.last_watermark();
            c.blocked_out_ns = out.blocked_ns();
        });
        replay::Replayer replayer(
            options_, out, [&out] { out.flush(); }, diagnostics, counters, reporter);
        try {
            replayer.run();
            out.close();
        } catch (const BrokenPipe&) {
            reporter.finish_metrics(counters);
            return exit_code::ok; // the reader left (`| head`)
        }
        counters.errors = diagnostics.errors();
        counters.dead_lettered = diagnostics.dead_lettered();
        counters.late = replayer.stats().late;
        counters.extra = replayer.stats_fields();
        diagnostics.finish();
        reporter.finish(counters);
        return diagnostics.errors() > 0 ? exit_code::data_error : exit_code::ok;
    }

  private:
    std::string from_, until_, speed_ = "max", follow_, then_, archive_, every_ = "1h";
    Duration every_ns_ = 3600 * nanos_per_second;
    replay::ReplayOptions options_;
};

} // namespace

std::unique_ptr<Command> make_replay_command() {
    return std::make_unique<ReplayCommand>();
}

} // namespace cep::cli
