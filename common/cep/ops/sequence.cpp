#include "cep/ops/sequence.hpp"

#include "cep/errors.hpp"
#include "cep/json_writer.hpp"
#include "cep/leading_field.hpp"
#include "cep/sequence/expect.hpp"
#include "cep/sequence/loader.hpp"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <simdjson.h>
#include <sstream>
#include <sys/stat.h>

namespace cep::ops {
namespace {

// SIGHUP only sets this flag; the record loop reloads (as kcat's handler only clears `run`).
volatile std::sig_atomic_t hangup = 0;
extern "C" void on_hangup(int) {
    hangup = 1;
}

/// Two automata run the same way, so partial matches of one are valid in the other.
bool same_shape(const sequence::CompiledRule& a, const sequence::CompiledRule& b, const sequence::Program& pa,
                const sequence::Program& pb) {
    if (a.spec.kind != b.spec.kind) return false;
    if (pa.key_groups[a.key_group].paths != pb.key_groups[b.key_group].paths) return false;
    if (a.spec.kind != sequence::RuleKind::sequence) {
        if (a.parts.size() != b.parts.size()) return false;
        for (std::size_t i = 0; i < a.parts.size(); ++i)
            if (a.parts[i].name != b.parts[i].name || a.parts[i].count != b.parts[i].count) return false;
        return true;
    }
    if (a.stage_names != b.stage_names || a.nfa.states.size() != b.nfa.states.size()) return false;
    for (std::size_t i = 0; i < a.nfa.states.size(); ++i) {
        const auto& sa = a.nfa.states[i];
        const auto& sb = b.nfa.states[i];
        if (sa.type != sb.type || sa.stage != sb.stage || sa.edges.size() != sb.edges.size()) return false;
        for (std::size_t e = 0; e < sa.edges.size(); ++e)
            if (sa.edges[e].action != sb.edges[e].action || sa.edges[e].target != sb.edges[e].target)
                return false;
    }
    return true;
}

} // namespace

Sequence::Sequence(SequenceOptions options, Schema& schema)
    : options_(std::move(options)), times_(options_.time, schema), tracker_(options_.time.max_delay),
      schema_(schema) {
    program_ = std::make_unique<sequence::Program>(std::move(options_.rules), schema);
    engine_ = std::make_unique<sequence::Engine>(*program_, times_);
    engine_->set_topic_filter(options_.topic_filter);
    engine_->set_key_ttl(options_.key_ttl);
    engine_->set_max_partials(options_.max_partials);
    // Count and all-of rules share one log per condition and key, unless their partial
    // matches must time out with a record (--timeouts) or be traced (--explain).
    engine_->set_shared_counting(options_.timeouts.empty() && !options_.explain);
    if (const auto key = leading_key(times_.path_text()); key && !times_.from_source()) leading_key_ = *key;
    build_time_only();
    if (!options_.timeouts.empty()) timeouts_ = io::open_sink(options_.timeouts);
    if (!options_.time.late_output.empty()) late_ = io::open_sink(options_.time.late_output);
    if (!options_.expect.empty()) {
        std::ifstream in(options_.expect);
        if (!in) throw UsageError("--expect: cannot open '" + options_.expect + "'");
        std::stringstream text;
        text << in.rdbuf();
        expected_text_ = text.str();
        expect_ = std::make_unique<Collector>();
    }
    if (options_.explain) {
        if (!options_.explain_out.empty()) explain_out_ = io::open_sink(options_.explain_out);
        engine_->set_explain(*options_.explain, [this](std::string_view line) {
            if (explain_out_) {
                explain_out_->write(line);
                return;
            }
            std::fwrite(line.data(), 1, line.size(), stderr);
            std::fputc('\n', stderr);
        });
    }
    if (!options_.rules_files.empty()) {
        // Without a handler SIGHUP would end the process; with rules files it reloads them.
        struct sigaction action {};
        action.sa_handler = on_hangup;
        sigemptyset(&action.sa_mask);
        action.sa_flags = SA_RESTART;
        sigaction(SIGHUP, &action, nullptr);
        rules_files_changed(); // remember the files as loaded
    }
}

bool Sequence::rules_files_changed() {
    std::vector<FileStamp> now;
    for (const auto& path : options_.rules_files) {
        FileStamp stamp;
        struct stat st {};
        if (::stat(path.c_str(), &st) == 0) {
            stamp.mtime_ns =
                static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
            stamp.size = static_cast<std::int64_t>(st.st_size);
            stamp.inode = static_cast<std::uint64_t>(st.st_ino);
        }
        now.push_back(stamp);
    }
    const bool changed = now != stamps_;
    stamps_ = std::move(now);
    return changed;
}

bool Sequence::maybe_reload(bool idle) {
    if (options_.rules_files.empty()) return false;
    bool wanted = false;
    if (hangup) {
        hangup = 0;
        wanted = true;
    }
    // stat() costs a system call: every 4096 records, and whenever the input is idle.
    if (options_.watch && (idle || ++since_watch_check_ % 4096 == 0) && rules_files_changed()) wanted = true;
    return wanted && reload();
}

bool Sequence::reload() {
    rules_files_changed(); // a rejected file is not retried until it changes again
    std::vector<sequence::RuleSpec> specs;
    std::unique_ptr<sequence::Program> next;
    try {
        specs = sequence::load_rules_files(options_.rules_files);
        if (options_.no_events)
            for (auto& rule : specs)
                rule.emit_events = false;
        next = std::make_unique<sequence::Program>(specs, schema_, program_->captures.slots());
    } catch (const UsageError& e) {
        std::fprintf(stderr,
                     "cep-sequence: rules not reloaded: %s\ncep-sequence: the previous rules keep running\n",
                     e.what());
        return false;
    }
    std::size_t unchanged = 0, kept = 0, reset = 0, removed = 0, added = 0;
    std::vector<std::uint32_t> old_to_new(program_->rules.size(), sequence::none);
    std::vector<bool> matched(next->rules.size(), false);
    for (const auto& old : program_->rules) {
        const auto it =
            std::find_if(next->rules.begin(), next->rules.end(),
                         [&](const sequence::CompiledRule& r) { return r.spec.id == old.spec.id; });
        if (it == next->rules.end()) {
            ++removed;
            continue;
        }
        matched[it->index] = true;
        const bool same = sequence::fingerprint(old.spec) == sequence::fingerprint(it->spec);
        const bool keep = same || (it->spec.on_change == sequence::OnChange::keep &&
                                   same_shape(old, *it, *program_, *next));
        if (same)
            ++unchanged;
        else if (keep)
            ++kept;
        else
            ++reset;
        if (!same && !keep && it->spec.on_change == sequence::OnChange::keep)
            std::fprintf(
                stderr,
                "cep-sequence: rule '%s' changed its key, stages or parts: its partial matches start over\n",
                it->spec.id.c_str());
        if (keep) old_to_new[old.index] = it->index;
    }
    for (bool m : matched)
        added += !m;
    engine_->rebind(*next, old_to_new);
    program_ = std::move(next);
    build_time_only();
    std::fprintf(
        stderr,
        "cep-sequence: rules reloaded: %zu unchanged, %zu changed and kept, %zu changed and reset, %zu "
        "removed, %zu added\n",
        unchanged, kept, reset, removed, added);
    return true;
}

Sequence::~Sequence() = default;

void Sequence::push(const Record& record, Emitter& out) {
    maybe_reload(false);
    const auto time = times_.extract(record, reason_);
    if (!time) {
        out.reject(record, reason_);
        return;
    }
    if (!admit(record.origin, *time)) return;
    if (tracker_.is_late(*time)) {
        late(record.raw, record.origin, *time, &record);
        return;
    }
    const bool advanced = tracker_.observe(*time);
    if (tracker_.max_delay() == 0 && heap_.empty()) {
        // In order (no reordering allowed): a record at the newest time can be matched at once,
        // since every later record has a time >= it.
        engine_->process(record, *time, outputs(out));
    } else {
        if (options_.explain && engine_->explains(record))
            explain(record, *time, "held for reordering until the watermark passes it");
        hold(record, *time);
        if (advanced) release(out);
    }
    if (advanced) out.watermark(tracker_.watermark());
}

bool Sequence::admit(const Origin& origin, Timestamp time) {
    if (options_.backfill.empty()) return true;
    // History first, then live: a live record no later than the history's last event was
    // counted there (the history is taken as complete up to that time).
    const bool history = std::find(options_.backfill.begin(), options_.backfill.end(), origin.source) !=
                         options_.backfill.end();
    if (history) {
        backfill_until_ = std::max(backfill_until_, time);
        ++backfill_records_;
    } else if (time <= backfill_until_) {
        ++backfill_overlap_;
        return false;
    }
    return true;
}

void Sequence::build_time_only() {
    time_only_ = RawPrefilter();
    // Off where a record's fields matter beyond the rules' conditions: --explain traces every
    // record of its key, and rules that see every event (strict contiguity, not_next, count
    // windows, conditions on earlier stages) or start on any event.
    if (leading_key_.empty() || options_.explain || !program_->always_start.empty()) return;
    std::vector<std::uint32_t> conditions;
    for (const auto& starter : program_->starters)
        conditions.push_back(starter.condition);
    for (const auto& group : program_->key_groups) {
        if (group.sees_every_event) return;
        conditions.insert(conditions.end(), group.relevant_conditions.begin(),
                          group.relevant_conditions.end());
    }
    std::sort(conditions.begin(), conditions.end());
    conditions.erase(std::unique(conditions.begin(), conditions.end()), conditions.end());
    std::vector<std::vector<std::string>> alternatives;
    for (std::uint32_t id : conditions) {
        auto needles = program_->conditions.expression(id).required_bytes();
        if (needles.empty()) return; // a condition that any record might satisfy
        alternatives.push_back(std::move(needles));
    }
    if (!alternatives.empty()) time_only_ = RawPrefilter::any_of(std::move(alternatives));
}

bool Sequence::push_time_only(std::string_view raw, const Origin& origin,
                              std::optional<Timestamp> source_time, Emitter& out) {
    (void)source_time;
    // A reload here changes the test the record failed: under the new rules it may be needed.
    if (maybe_reload(false) && (time_only_.empty() || time_only_.may_match(raw))) return false;
    const auto value = leading_field(raw, leading_key_);
    if (!value) {
        // Input whose time is not the first field: stop, so that its records are parsed a
        // block at a time again rather than one by one.
        if (++leading_misses_ >= 1024 && time_only_records_ == 0) time_only_ = RawPrefilter();
        return false;
    }
    const auto time = times_.extract_value(*value, reason_);
    if (!time) return false; // parsed and rejected with its reason
    ++time_only_records_;
    if (!admit(origin, *time)) return true;
    if (tracker_.is_late(*time)) {
        late(raw, origin, *time, nullptr);
        return true;
    }
    const bool advanced = tracker_.observe(*time);
    if (tracker_.max_delay() == 0 && heap_.empty()) {
        engine_->pass(*time, outputs(out));
    } else {
        // Kept in the reordering heap as a time only: it moves event time on where it belongs.
        hold_time_only(*time);
        if (advanced) release(out);
    }
    if (advanced) out.watermark(tracker_.watermark());
    return true;
}

std::uint32_t Sequence::new_held() {
    std::uint32_t index;
    if (!free_held_.empty()) {
        index = free_held_.back();
        free_held_.pop_back();
    } else {
        index = static_cast<std::uint32_t>(held_.size());
        held_.emplace_back();
    }
    return index;
}

void Sequence::hold_time_only(Timestamp time) {
    const std::uint32_t index = new_held();
    Held& h = held_[index];
    h.time = time;
    h.arrival = ++arrivals_;
    h.time_only = true;
    h.bytes.clear();
    h.raw_size = 0;
    h.slots.clear();
    h.source.clear();
    h.line = 0;
    heap_.push_back(index);
    std::push_heap(heap_.begin(), heap_.end(),
                   [this](std::uint32_t a, std::uint32_t b) { return held_later(a, b); });
}

void Sequence::hold(const Record& record, Timestamp time) {
    const std::uint32_t index = new_held();
    Held& h = held_[index];
    h.time = time;
    h.arrival = ++arrivals_;
    h.time_only = false;
    h.source.assign(record.origin.source);
    h.line = record.origin.line;
    // One buffer: the raw bytes, then the decoded text of slots that point elsewhere (the
    // parser's string buffer). Views are made when the record is released: held_ may move the
    // buffer (a short string lives inside the Held object) before then.
    const char* raw_begin = record.raw.data();
    const char* raw_end = raw_begin + record.raw.size();
    h.bytes.assign(record.raw);
    h.raw_size = record.raw.size();
    h.slots.assign(record.slots.begin(), record.slots.end());
    h.offsets.resize(h.slots.size());
    for (std::size_t i = 0; i < h.slots.size(); ++i) {
        const std::string_view text = h.slots[i].text;
        if (text.empty()) {
            h.offsets[i] = 0;
        } else if (text.data() >= raw_begin && text.data() + text.size() <= raw_end) {
            h.offsets[i] = static_cast<std::size_t>(text.data() - raw_begin);
        } else {
            h.offsets[i] = h.bytes.size();
            h.bytes.append(text);
        }
    }
    heap_.push_back(index);
    std::push_heap(heap_.begin(), heap_.end(),
                   [this](std::uint32_t a, std::uint32_t b) { return held_later(a, b); });
}

void Sequence::release(Emitter& out) {
    const Timestamp watermark = tracker_.watermark();
    const auto later = [this](std::uint32_t a, std::uint32_t b) { return held_later(a, b); };
    while (!heap_.empty() && held_[heap_.front()].time <= watermark) {
        std::pop_heap(heap_.begin(), heap_.end(), later);
        const std::uint32_t index = heap_.back();
        heap_.pop_back();
        Held& h = held_[index];
        if (h.time_only) {
            engine_->pass(h.time, outputs(out));
            free_held_.push_back(index);
            continue;
        }
        const std::string_view raw(h.bytes.data(), h.raw_size);
        if (h.slots.size() < schema_.slot_count()) {
            // Held before a reload added fields: parse it again for the new rules.
            if (!reparser_) reparser_ = std::make_unique<RecordParser>(schema_);
            reparse_buffer_.assign(raw);
            reparse_buffer_.append(simdjson::SIMDJSON_PADDING, ' ');
            ParseFailure failure;
            const std::string_view line(reparse_buffer_.data(), raw.size());
            if (reparser_->parse(line, failure)) {
                engine_->process(Record{line, reparser_->slots(), Origin{h.source, h.line}}, h.time,
                                 outputs(out));
                free_held_.push_back(index);
                continue;
            }
        }
        for (std::size_t i = 0; i < h.slots.size(); ++i)
            h.slots[i].text = std::string_view(h.bytes.data() + h.offsets[i], h.slots[i].text.size());
        const Record record{raw, h.slots, Origin{h.source, h.line}};
        engine_->process(record, h.time, outputs(out));
        free_held_.push_back(index);
    }
    engine_->advance(watermark, outputs(out));
}

void Sequence::explain(const Record& record, Timestamp time, const std::string& what) {
    auto text = [this](Timestamp t) {
        std::string s;
        times_.append_json(s, t);
        return s.size() >= 2 && s.front() == '"' ? s.substr(1, s.size() - 2) : s;
    };
    std::string line = "[" + *options_.explain + "] " + text(time) + " " + std::string(record.origin.source) +
                       ":" + std::to_string(record.origin.line) + " " + what;
    line += " (newest event time " + text(tracker_.max_seen()) + ", --max-delay " +
            format_duration(tracker_.max_delay()) + ")";
    engine_->explain_line(line);
}

void Sequence::late(std::string_view raw, const Origin& origin, Timestamp time, const Record* record) {
    ++late_count_;
    if (record && options_.explain && engine_->explains(*record))
        explain(*record, time,
                "late: " + format_duration(tracker_.max_seen() - time) +
                    " behind the newest event, more than --max-delay; not matched");
    if (!late_) return;
    // How far behind the newest event the record was, next to what --max-delay allowed.
    line_ = "{\"reason\":\"late\",\"behind\":";
    append_json_string(line_, format_duration(tracker_.max_seen() - time));
    line_ += ",\"max_delay\":";
    append_json_string(line_, format_duration(tracker_.max_delay()));
    line_ += ",\"source\":";
    append_json_string(line_, origin.source);
    line_ += ",\"line\":" + std::to_string(origin.line) + ",\"record\":";
    line_ += raw;
    line_ += '}';
    late_->write(line_);
}

void Sequence::on_watermark(Timestamp watermark, Emitter& out) {
    if (!tracker_.advance_to(watermark)) return;
    release(out);
    out.watermark(tracker_.watermark());
}

void Sequence::on_progress(Timestamp time, Emitter& out) {
    if (!tracker_.observe(time)) return;
    release(out);
    out.watermark(tracker_.watermark());
}

void Sequence::on_idle(Duration idle_for, Emitter& out) {
    (void)idle_for;
    maybe_reload(true);
    // The input went quiet: nothing older than the newest record is still on its way.
    if (tracker_.max_seen() == min_timestamp || !tracker_.advance_to(tracker_.max_seen())) return;
    release(out);
    out.watermark(tracker_.watermark());
}

void Sequence::finish(Emitter& out) {
    // End of input is the end of event time: everything held is matched, partial matches with
    // `within` time out and trailing not_followed_by matches complete (as Flink does at the
    // final watermark of a bounded input).
    if (options_.explain)
        engine_->explain_line("[" + *options_.explain + "] end of input: event time runs to its end");
    tracker_.advance_to(max_timestamp);
    release(out);
    if (options_.explain) engine_->explain_open_state();
    std::uint64_t dropped = 0;
    std::string by_rule;
    for (const auto& [rule, n] : engine_->dropped_partials()) {
        dropped += n;
        by_rule += (by_rule.empty() ? "" : ", ") + rule + ": " + std::to_string(n);
    }
    if (dropped > 0)
        std::fprintf(stderr, "cep-sequence: --max-partials dropped %llu partial matches (%s)\n",
                     static_cast<unsigned long long>(dropped), by_rule.c_str());
    if (timeouts_) timeouts_->close();
    if (late_) late_->close();
    if (explain_out_) explain_out_->close();
    if (expect_) check_expectation();
}

void Sequence::check_expectation() {
    const auto result = sequence::compare_expected(expected_text_, expect_->lines, options_.expect);
    if (result.equal) {
        std::fprintf(stderr, "cep-sequence: %zu match records, as expected in %s\n", result.got,
                     options_.expect.c_str());
        return;
    }
    std::fputs(result.diff.c_str(), stdout);
    std::fflush(stdout);
    throw RuntimeError("the match records differ from " + options_.expect + " (" +
                       std::to_string(result.expected) + " expected, " + std::to_string(result.got) +
                       " produced; diff on standard output)");
}

std::string Sequence::stats_fields() const {
    std::uint64_t dropped = 0;
    for (const auto& [rule, n] : engine_->dropped_partials())
        dropped += n;
    char buf[256];
    std::snprintf(
        buf, sizeof buf,
        "\"rules\":%zu,\"keys\":%llu,\"partial_matches\":%llu,\"held_records\":%zu,\"memory_bytes\":%zu,"
        "\"expired_keys\":%llu,\"max_partials_dropped\":%llu,\"backfill_records\":%llu,"
        "\"backfill_overlap\":%llu,\"time_only_records\":%llu",
        program_->rules.size(), static_cast<unsigned long long>(engine_->keys()),
        static_cast<unsigned long long>(engine_->partial_matches()), heap_.size(), engine_->memory(),
        static_cast<unsigned long long>(engine_->expired_keys()), static_cast<unsigned long long>(dropped),
        static_cast<unsigned long long>(backfill_records_),
        static_cast<unsigned long long>(backfill_overlap_),
        static_cast<unsigned long long>(time_only_records_));
    return buf;
}

std::uint64_t Sequence::state_size() const {
    return engine_->partial_matches() + heap_.size();
}

} // namespace cep::ops
