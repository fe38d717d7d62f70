#include "cep/ops/sequence.hpp"

#include "cep/json_writer.hpp"

#include <algorithm>

namespace cep::ops {

Sequence::Sequence(SequenceOptions options, Schema& schema)
    : options_(std::move(options)), times_(options_.time, schema), tracker_(options_.time.max_delay) {
    program_ = std::make_unique<sequence::Program>(std::move(options_.rules), schema);
    engine_ = std::make_unique<sequence::Engine>(*program_, times_);
    engine_->set_topic_filter(options_.topic_filter);
    if (!options_.timeouts.empty()) timeouts_ = io::open_sink(options_.timeouts);
    if (!options_.time.late_output.empty()) late_ = io::open_sink(options_.time.late_output);
}

Sequence::~Sequence() = default;

void Sequence::push(const Record& record, Emitter& out) {
    const auto time = times_.extract(record, reason_);
    if (!time) {
        out.reject(record, reason_);
        return;
    }
    if (tracker_.is_late(*time)) {
        late(record, *time);
        return;
    }
    const bool advanced = tracker_.observe(*time);
    if (tracker_.max_delay() == 0 && heap_.empty()) {
        // In order (no reordering allowed): a record at the newest time can be matched at once,
        // since every later record has a time >= it.
        engine_->process(record, *time, outputs(out));
    } else {
        hold(record, *time);
        if (advanced) release(out);
    }
    if (advanced) out.watermark(tracker_.watermark());
}

void Sequence::hold(const Record& record, Timestamp time) {
    std::uint32_t index;
    if (!free_held_.empty()) {
        index = free_held_.back();
        free_held_.pop_back();
    } else {
        index = static_cast<std::uint32_t>(held_.size());
        held_.emplace_back();
    }
    Held& h = held_[index];
    h.time = time;
    h.arrival = ++arrivals_;
    h.source.assign(record.origin.source);
    h.line = record.origin.line;
    // One buffer: the raw bytes, then the decoded text of slots that point elsewhere (the
    // parser's string buffer); views are set after copying, when the buffer no longer moves.
    const char* raw_begin = record.raw.data();
    const char* raw_end = raw_begin + record.raw.size();
    h.bytes.assign(record.raw);
    h.raw_size = record.raw.size();
    h.slots.assign(record.slots.begin(), record.slots.end());
    offsets_.resize(h.slots.size());
    for (std::size_t i = 0; i < h.slots.size(); ++i) {
        const std::string_view text = h.slots[i].text;
        if (text.empty()) {
            offsets_[i] = 0;
        } else if (text.data() >= raw_begin && text.data() + text.size() <= raw_end) {
            offsets_[i] = static_cast<std::size_t>(text.data() - raw_begin);
        } else {
            offsets_[i] = h.bytes.size();
            h.bytes.append(text);
        }
    }
    for (std::size_t i = 0; i < h.slots.size(); ++i)
        h.slots[i].text = std::string_view(h.bytes.data() + offsets_[i], h.slots[i].text.size());
    heap_.push_back(index);
    std::push_heap(heap_.begin(), heap_.end(), [this](std::uint32_t a, std::uint32_t b) {
        if (held_[a].time != held_[b].time) return held_[a].time > held_[b].time;
        return held_[a].arrival > held_[b].arrival;
    });
}

void Sequence::release(Emitter& out) {
    const Timestamp watermark = tracker_.watermark();
    const auto later = [this](std::uint32_t a, std::uint32_t b) {
        if (held_[a].time != held_[b].time) return held_[a].time > held_[b].time;
        return held_[a].arrival > held_[b].arrival;
    };
    while (!heap_.empty() && held_[heap_.front()].time <= watermark) {
        std::pop_heap(heap_.begin(), heap_.end(), later);
        const std::uint32_t index = heap_.back();
        heap_.pop_back();
        const Held& h = held_[index];
        const Record record{std::string_view(h.bytes.data(), h.raw_size), h.slots, Origin{h.source, h.line}};
        engine_->process(record, h.time, outputs(out));
        free_held_.push_back(index);
    }
    engine_->advance(watermark, outputs(out));
}

void Sequence::late(const Record& record, Timestamp time) {
    ++late_count_;
    if (!late_) return;
    // How far behind the newest event the record was, next to what --max-delay allowed.
    line_ = "{\"reason\":\"late\",\"behind\":";
    append_json_string(line_, format_duration(tracker_.max_seen() - time));
    line_ += ",\"max_delay\":";
    append_json_string(line_, format_duration(tracker_.max_delay()));
    line_ += ",\"source\":";
    append_json_string(line_, record.origin.source);
    line_ += ",\"line\":" + std::to_string(record.origin.line) + ",\"record\":";
    line_ += record.raw;
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
    // The input went quiet: nothing older than the newest record is still on its way.
    if (tracker_.max_seen() == min_timestamp || !tracker_.advance_to(tracker_.max_seen())) return;
    release(out);
    out.watermark(tracker_.watermark());
}

void Sequence::finish(Emitter& out) {
    // End of input is the end of event time: everything held is matched, partial matches with
    // `within` time out and trailing not_followed_by matches complete (as Flink does at the
    // final watermark of a bounded input).
    tracker_.advance_to(max_timestamp);
    release(out);
    if (timeouts_) timeouts_->close();
    if (late_) late_->close();
}

std::uint64_t Sequence::state_size() const {
    return engine_->partial_matches() + heap_.size();
}

} // namespace cep::ops
