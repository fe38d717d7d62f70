// Fused mode: every node's operator in this process. A node's emitter hands each record to the
// next nodes, which parse it with their own schema (the simple, always-correct way: a node may
// read paths its upstream never parsed); watermarks travel as on_watermark calls; finish()
// runs in topological order, so everything a node holds back reaches its readers.
//
// What the standalone driver does to avoid parsing, fused mode does per node: a filter drops the
// records its raw prefilter rules out without parsing them, and when its readers work in event
// time, it reads the times of the records it drops (from the bytes when the time is the line's
// first field) and passes them on as progress, as cep-filter writes progress records into a
// pipe. Lines are parsed where they lie in the input block (padded), not copied.

#include "cep/cli/driver.hpp"
#include "cep/cli/tool_app.hpp"
#include "cep/control.hpp"
#include "cep/diagnostics.hpp"
#include "cep/drop_times.hpp"
#include "cep/manifest/merge.hpp"
#include "cep/manifest/metrics.hpp"
#include "cep/manifest/runner.hpp"
#include "cep/record_parser.hpp"
#include "cep/testing/golden.hpp"

#include <algorithm>
#include <simdjson.h>

namespace cep::manifest {
namespace {

class FusedPipeline;

struct FusedNode {
    const Node* spec = nullptr;
    std::size_t index = 0;
    std::unique_ptr<cli::ToolInstance> tool;
    Schema schema;
    std::unique_ptr<Operator> op;
    std::unique_ptr<RecordParser> parser;
    std::unique_ptr<Diagnostics> diagnostics;
    std::unique_ptr<Emitter> emitter;
    std::unique_ptr<EventTimeMerge> merge; // when records come from more than one place
    std::vector<std::unique_ptr<io::RecordSink>> sinks;
    std::string padded; // the record being pushed, with simdjson's padding, when it is copied
    /// Records it rules out are not parsed: they cannot make the operator emit anything.
    const RawPrefilter* prefilter = nullptr;
    std::size_t max_line_bytes = 0;
    /// For an operator that does not work in event time and has readers that do: the time of
    /// each record it drops goes to them as progress (what cep-filter writes to a cep tool).
    std::optional<DropTimes> drop_time;
    /// Ask the operator for records it needs only the time of (cep-sequence): when it has no
    /// prefilter, drops nothing for readers and is not --strict, as in the driver.
    bool time_only = false;
    std::uint64_t in = 0, out = 0;
    std::optional<Timestamp> watermark; // the latest one the node emitted
    // Event time reaches the readers thinned out as through a pipe (see ControlThinning).
    ControlThinning watermarks, progress;
    std::uint64_t waiting_ns = 0; // reading the node's own inputs
};

class FusedPipeline {
  public:
    FusedPipeline(const Manifest& manifest) : manifest_(manifest), nodes_(manifest.nodes.size()) {}

    void build() {
        for (std::size_t i = 0; i < nodes_.size(); ++i) {
            FusedNode& node = nodes_[i];
            node.spec = &manifest_.nodes[i];
            node.index = i;
            node.tool = cli::parse_tool(*cli::find_tool(node.spec->tool), node.spec->args);
            const cli::CommonOptions& common = node.tool->common;
            node.op = node.tool->command->make_operator(node.schema, common);
            node.max_line_bytes = common.max_line_bytes;
            // Where processes mode gives the tool --watermarks always (its readers are cep tools
            // reading it alone, and it has no output of its own), unless the args say never.
            const auto& down = manifest_.downstream[i];
            const bool time_readers = !down.empty() && node.spec->outputs.empty() &&
                                      std::all_of(down.begin(), down.end(), [this](std::size_t d) {
                                          return manifest_.input_count(d) == 1;
                                      });
            if (time_readers && !node.tool->command->uses_event_time() &&
                common.watermarks != ControlOutput::never)
                node.drop_time.emplace(common.time, node.schema);
            // Not with --strict (every record is validated in full), nor when the times of
            // dropped records can only come from the parser, as in the driver.
            if (!common.strict && (!node.drop_time || node.drop_time->reads_bytes()))
                node.prefilter = node.op->raw_prefilter();
            node.time_only = !common.strict && !node.prefilter && !node.drop_time;
            node.parser = std::make_unique<RecordParser>(node.schema, common.strict);
            std::unique_ptr<io::RecordSink> dead_letter;
            if (!common.dead_letter.empty()) dead_letter = cli::open_output(common.dead_letter, common.kafka);
            node.diagnostics = std::make_unique<Diagnostics>("cep run: " + node.spec->name + " (cep-" +
                                                                 node.spec->tool + ")",
                                                             common.on_error, std::move(dead_letter));
            for (const auto& output : node.spec->outputs)
                node.sinks.push_back(cli::open_output(output, common.kafka));
            if (manifest_.writes_stdout(i)) node.sinks.push_back(cli::open_output("-", common.kafka));
            node.emitter = std::make_unique<NodeEmitter>(*this, node);
            if (manifest_.input_count(i) > 1)
                node.merge = std::make_unique<EventTimeMerge>(
                    manifest_.input_count(i), common.time, [this, &node](std::string_view line) {
                        push_line(node, line, Origin{node.spec->name, 0}, Bytes::copied);
                    });
        }
    }

    int run(MetricsWriter& metrics) {
        struct Source {
            FusedNode* node;
            std::size_t port;
            std::unique_ptr<io::RecordSource> source;
        };
        std::vector<Source> sources;
        for (auto& node : nodes_)
            for (std::size_t p = 0; p < node.spec->inputs.size(); ++p) {
                try {
                    sources.push_back({&node, p, cli::open_input(node.spec->inputs[p], node.tool->common)});
                } catch (const RuntimeError& e) {
                    node.diagnostics->input_error(node.spec->inputs[p], e.what());
                    if (node.merge) node.merge->close(p);
                }
            }
        // Kafka inputs are committed after write, as the tools do: a rebalance or a due commit
        // first flushes every output (delivers, for Kafka), and at the end they are closed
        // (final commit, leave the group) only after every output is.
        for (auto& source : sources) {
            FusedNode* node = source.node;
            source.source->on_revoke([this, node](const io::RevokedPartitions& revoked) {
                node->op->on_partitions_revoked(revoked.topic, revoked.partitions, revoked.partition_count,
                                                *node->emitter);
                flush_outputs();
            });
        }
        std::vector<std::unique_ptr<io::RecordSource>> finished;
        try {
            // Round robin, a block at a time, so merged inputs advance together and the merge
            // holds little.
            io::Block block;
            // A quiet input wakes up now and then: to notice SIGINT/SIGTERM, and with --metrics to
            // write the lines on time.
            int wait_ms = 200;
            if (metrics.enabled())
                wait_ms = static_cast<int>(std::clamp<std::int64_t>(
                    std::chrono::duration_cast<std::chrono::milliseconds>(metrics.interval()).count(), 1,
                    200));
            io::install_stop_handlers();
            while (!sources.empty()) {
                if (io::stop_requested()) {
                    // Stop reading; everything read so far is processed and flushed below.
                    for (auto& source : sources)
                        if (io::is_kafka_spec(source.node->spec->inputs[source.port]))
                            finished.push_back(std::move(source.source));
                    sources.clear();
                    break;
                }
                for (auto it = sources.begin(); it != sources.end();) {
                    const auto asked = std::chrono::steady_clock::now();
                    const auto status = it->source->next_block(block, wait_ms);
                    it->node->waiting_ns += static_cast<std::uint64_t>(
                        std::chrono::nanoseconds(std::chrono::steady_clock::now() - asked).count());
                    // A quiet input: the event time held back reaches the readers, and what was
                    // written so far the outputs, now (as the tools do when their input idles).
                    if (status == io::RecordSource::Status::idle) {
                        flush_time();
                        flush_outputs();
                    }
                    const bool more = take_block(*it->node, it->port, *it->source, status, block);
                    block_ = {};
                    if (more) {
                        if (it->source->commit_due()) {
                            flush_outputs();
                            it->source->commit();
                        }
                        ++it;
                        continue;
                    }
                    if (it->node->merge) it->node->merge->close(it->port);
                    if (io::is_kafka_spec(it->node->spec->inputs[it->port]))
                        finished.push_back(std::move(it->source));
                    it = sources.erase(it);
                }
                if (metrics.due()) metrics.tick(snapshot());
            }
            for (std::size_t i : manifest_.order) {
                FusedNode& node = nodes_[i];
                if (node.merge)
                    for (std::size_t p = 0; p < manifest_.input_count(i); ++p)
                        node.merge->close(p);
                node.op->finish(*node.emitter);
                for (auto& sink : node.sinks)
                    sink->close();
            }
            for (auto& source : finished) {
                source->on_revoke(nullptr); // the outputs are closed; nothing is left to write
                source->close();
            }
        } catch (const BrokenPipe&) {
            // The reader left (`| head`): a normal end.
            for (auto& node : nodes_)
                node.diagnostics->finish();
            return exit_code::ok;
        }
        metrics.finish(snapshot());
        bool errors = false;
        for (auto& node : nodes_) {
            node.diagnostics->finish();
            errors = errors || node.diagnostics->errors() > 0;
        }
        return errors ? exit_code::data_error : exit_code::ok;
    }

  private:
    /// Passes on the event time each node held back, upstream first, so that what it fires on
    /// the way is passed on too.
    void flush_time() {
        for (std::size_t i : manifest_.order) {
            FusedNode& node = nodes_[i];
            if (const auto time = node.progress.take_pending()) forward_time(node, *time, false);
            if (const auto time = node.watermarks.take_pending()) forward_time(node, *time, true);
        }
    }

    void flush_outputs() {
        for (auto& node : nodes_)
            for (auto& sink : node.sinks)
                sink->flush();
    }

    class NodeEmitter final : public Emitter {
      public:
        NodeEmitter(FusedPipeline& pipeline, FusedNode& node) : pipeline_(pipeline), node_(node) {}
        void emit(const Record& record, const Route& route) override {
            pipeline_.deliver(node_, record.raw, record.origin, route);
        }
        void emit_new(std::string_view json, const Origin& origin, const Route& route) override {
            pipeline_.deliver(node_, json, origin, route);
        }
        void reject(const Record& record, std::string_view reason) override {
            node_.diagnostics->data_error(record.origin, 0, reason, record.raw);
        }
        void watermark(Timestamp time) override {
            if (!node_.watermark || time > *node_.watermark) node_.watermark = time;
            if (node_.watermarks.note(time)) pipeline_.forward_time(node_, time, true);
        }
        void progress(Timestamp time) override {
            if (node_.progress.note(time)) pipeline_.forward_time(node_, time, false);
        }

      private:
        FusedPipeline& pipeline_;
        FusedNode& node_;
    };

    /// What next_block() gave; false at the end of the input.
    bool take_block(FusedNode& node, std::size_t port, io::RecordSource& source,
                    io::RecordSource::Status status, io::Block& block) {
        switch (status) {
        case io::RecordSource::Status::end:
            return false;
        case io::RecordSource::Status::source_error:
            node.diagnostics->input_error(source.name(), source.error());
            return false;
        case io::RecordSource::Status::idle:
            return true;
        case io::RecordSource::Status::bad_record:
            ++node.in;
            node.diagnostics->data_error(block.origin, 0, block.reason, block.text);
            return true;
        case io::RecordSource::Status::block:
            break;
        }
        block_ = block.text;
        // One simdjson pass over the whole block, unless the lines go to a merge first, or a
        // prefilter or time-only test will leave most of them unparsed (those it keeps are
        // parsed one by one, where they lie). The time-only test is asked per block, since a
        // rules reload may change it.
        const bool batched =
            !node.merge && !node.prefilter && !(node.time_only && node.op->time_only_prefilter());
        if (batched) node.parser->begin_batch(block.text);
        const Bytes bytes = batched ? Bytes::batched : Bytes::padded;
        const std::uint64_t line_number = io::for_each_block_line(
            block, source.name(),
            [&](std::string_view text, const Origin& origin, std::optional<Timestamp> source_time) {
                if (node.merge)
                    node.merge->push(port, text);
                else
                    push_line(node, text, origin, bytes, source_time);
            });
        source.lines_consumed(line_number - block.first_line);
        return true;
    }

    /// How push_line() finds a record's bytes followed by simdjson's padding.
    enum class Bytes {
        batched, ///< a line of the block given to the node's parser.begin_batch()
        padded,  ///< a line of an input block, where padding follows: parsed in place
        copied,  ///< anything else: copied into the node's buffer first
    };

    /// One line into a node: a control record becomes a call, anything else is parsed and pushed.
    void push_line(FusedNode& node, std::string_view line, const Origin& origin, Bytes bytes,
                   std::optional<Timestamp> source_time = std::nullopt) {
        if (is_control(line)) {
            if (auto control = parse_control(line)) {
                if (bytes == Bytes::batched) node.parser->skip_in_batch(line);
                if (control->type == ControlRecord::Type::watermark)
                    node.op->on_watermark(control->time, *node.emitter);
                else
                    node.op->on_progress(control->time, *node.emitter);
                return;
            }
        }
        ++node.in;
        if (node.prefilter && bytes != Bytes::batched && line.size() <= node.max_line_bytes &&
            node.prefilter->rules_out(line)) {
            if (!node.drop_time) return;
            std::optional<Timestamp> time;
            if (node.drop_time->read_unparsed(line, source_time, time)) {
                if (time) node.emitter->progress(*time);
                return;
            }
            // The time is not the line's leading field: the parser finds it below.
        }
        if (node.time_only && bytes != Bytes::batched && line.size() <= node.max_line_bytes) {
            const RawPrefilter* time_filter = node.op->time_only_prefilter();
            if (time_filter && time_filter->rules_out(line) &&
                node.op->push_time_only(line, origin, source_time, *node.emitter))
                return;
        }
        std::string_view text = line;
        if (bytes == Bytes::copied) {
            // Not re-entered, since a node never feeds itself.
            node.padded.assign(line);
            node.padded.append(simdjson::SIMDJSON_PADDING, '\0');
            text = std::string_view(node.padded.data(), line.size());
        }
        ParseFailure failure;
        const bool parsed = bytes == Bytes::batched ? node.parser->parse_in_batch(text, failure)
                                                    : node.parser->parse(text, failure);
        if (!parsed) {
            node.diagnostics->data_error(origin, failure.column, failure.reason, line);
            return;
        }
        const Record record{text, node.parser->slots(), origin, source_time};
        const std::uint64_t out_before = node.out;
        node.op->push(record, *node.emitter);
        // A record the operator dropped still moves event time on for the readers.
        if (node.drop_time && node.out == out_before)
            if (auto time = node.drop_time->parsed(record)) node.emitter->progress(*time);
    }

    void deliver(FusedNode& from, std::string_view bytes, const Origin& origin, const Route& route) {
        ++from.out;
        if (!from.sinks.empty()) {
            const std::size_t index = route.partition ? *route.partition % from.sinks.size() : 0;
            (void)index; // every output of a node gets every record (fan-out), as in processes mode
            for (auto& sink : from.sinks)
                sink->write(bytes, route.key);
        }
        for (std::size_t d : manifest_.downstream[from.index]) {
            FusedNode& to = nodes_[d];
            if (to.merge) {
                to.merge->push(port_of(to, from), bytes);
            } else {
                // A record passed on unchanged still lies in the input block, padded; what an
                // operator built lives in its own buffer, which `to` copies before parsing.
                const bool in_block = !block_.empty() && bytes.data() >= block_.data() &&
                                      bytes.data() + bytes.size() <= block_.data() + block_.size();
                push_line(to, bytes, origin, in_block ? Bytes::padded : Bytes::copied);
            }
        }
    }

    void forward_time(FusedNode& from, Timestamp time, bool watermark) {
        // As processes mode: event time reaches a reader that has only this one input.
        for (std::size_t d : manifest_.downstream[from.index]) {
            FusedNode& to = nodes_[d];
            if (to.merge) continue;
            if (watermark)
                to.op->on_watermark(time, *to.emitter);
            else
                to.op->on_progress(time, *to.emitter);
        }
    }

    std::size_t port_of(const FusedNode& to, const FusedNode& from) const {
        const auto& up = manifest_.upstream[to.index];
        return to.spec->inputs.size() +
               static_cast<std::size_t>(std::find(up.begin(), up.end(), from.index) - up.begin());
    }

    std::vector<NodeMetrics> snapshot() const {
        std::vector<NodeMetrics> out;
        for (const auto& node : nodes_) {
            NodeMetrics m;
            m.in = node.in;
            m.out = node.out;
            m.watermark = node.watermark;
            m.state = node.op->state_size();
            // Nodes hand records to each other by calls, which never block: only a node's own
            // inputs and outputs can make it wait.
            m.waiting_in_ns = node.waiting_ns;
            std::uint64_t blocked = 0;
            for (const auto& sink : node.sinks)
                blocked += sink->blocked_ns();
            m.blocked_out_ns = blocked;
            out.push_back(m);
        }
        return out;
    }

    const Manifest& manifest_;
    std::vector<FusedNode> nodes_;
    std::string_view block_; // the input block being read, followed by simdjson's padding
};

} // namespace

int run_fused(const Manifest& manifest, const RunOptions& options) {
    for (const auto& node : manifest.nodes)
        if (!node.is_tool())
            throw UsageError("--mode fused: node '" + node.name +
                             "' runs a foreign command; use --mode processes");
    if (options.dry_run) {
        std::printf("# fused: one process, operators chained in this order\n");
        for (std::size_t i : manifest.order) {
            const Node& node = manifest.nodes[i];
            std::printf("%s: cep-%s", node.name.c_str(), node.tool.c_str());
            for (const auto& arg : node.args)
                std::printf(" %s", testing::quote_shell_word(arg).c_str());
            std::printf("\n");
        }
        return exit_code::ok;
    }
    FusedPipeline pipeline(manifest);
    pipeline.build();
    MetricsWriter metrics(manifest, options);
    return pipeline.run(metrics);
}

} // namespace cep::manifest
