// cep-sequence's Operator::snapshot and restore: the watermark, the records held for
// reordering, and every partial match, so that a restored operator continues exactly where the
// one that wrote the snapshot stopped.

#include "cep/agg/binary.hpp"
#include "cep/errors.hpp"
#include "cep/ops/sequence.hpp"
#include "cep/sequence/loader.hpp"

#include <algorithm>
#include <istream>
#include <iterator>
#include <ostream>
#include <simdjson.h>

namespace cep::ops {
namespace {

constexpr std::string_view snapshot_magic = "cep-sequence/2\n";

} // namespace

void Sequence::snapshot(std::ostream& out) const {
    std::string bytes(snapshot_magic);
    agg::ByteWriter writer(bytes);
    writer.bytes(times_.path_text());
    // Rules by id with their definitions: a restore keeps the state of the rules still defined
    // the same way.
    writer.varint(program_->rules.size());
    for (const auto& rule : program_->rules) {
        writer.bytes(rule.spec.id);
        writer.bytes(sequence::fingerprint(rule.spec));
    }
    // The fields stored events captured, by path, since another program numbers them otherwise.
    const auto& captures = program_->captures.slots();
    writer.varint(captures.size());
    for (Slot slot : captures)
        writer.bytes(schema_.path(slot).to_string());

    writer.svarint(tracker_.max_seen());
    writer.svarint(tracker_.watermark());
    writer.varint(late_count_);
    writer.varint(arrivals_);
    writer.svarint(backfill_until_);
    writer.varint(backfill_records_);
    writer.varint(backfill_overlap_);
    const TimeExtractor::Learned learned = times_.learned();
    writer.u8(static_cast<std::uint8_t>((learned.seen ? 1 : 0) | (learned.numeric ? 2 : 0) |
                                        (learned.style.zulu ? 4 : 0)));
    writer.svarint(learned.style.fraction_digits);
    writer.svarint(learned.style.offset_minutes);

    // Held records as their bytes; restore parses them again for their fields.
    writer.varint(heap_.size());
    for (std::uint32_t index : heap_) {
        const Held& h = held_[index];
        writer.svarint(h.time);
        writer.varint(h.arrival);
        writer.u8(h.time_only ? 1 : 0);
        if (h.time_only) continue;
        writer.bytes(std::string_view(h.bytes.data(), h.raw_size));
        writer.bytes(h.source);
        writer.varint(h.line);
    }
    engine_->snapshot(writer);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw RuntimeError("cep-sequence: cannot write the snapshot");
}

void Sequence::restore(std::istream& in) {
    const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    if (!std::string_view(bytes).starts_with(snapshot_magic))
        throw RuntimeError("not a cep-sequence snapshot");
    agg::ByteReader reader(std::string_view(bytes).substr(snapshot_magic.size()));
    if (reader.bytes() != times_.path_text())
        throw RuntimeError("the cep-sequence snapshot was taken with another --time field");

    std::vector<std::uint32_t> old_to_new(reader.count(2), sequence::none);
    for (std::uint32_t& mapped : old_to_new) {
        const std::string_view id = reader.bytes();
        const std::string_view definition = reader.bytes();
        const auto it = std::find_if(program_->rules.begin(), program_->rules.end(),
                                     [&](const auto& rule) { return rule.spec.id == id; });
        if (it != program_->rules.end() && sequence::fingerprint(it->spec) == definition) mapped = it->index;
    }
    std::vector<std::string> snapshot_captures(reader.count(1));
    for (std::string& path : snapshot_captures)
        path = reader.bytes();
    const auto& captures = program_->captures.slots();
    std::vector<std::uint32_t> capture_from(captures.size(), sequence::none);
    for (std::size_t j = 0; j < captures.size(); ++j) {
        const auto it = std::find(snapshot_captures.begin(), snapshot_captures.end(),
                                  schema_.path(captures[j]).to_string());
        if (it != snapshot_captures.end())
            capture_from[j] = static_cast<std::uint32_t>(it - snapshot_captures.begin());
    }

    const Timestamp max_seen = reader.svarint();
    const Timestamp watermark = reader.svarint();
    tracker_ = WatermarkTracker(options_.time.max_delay);
    tracker_.observe(max_seen);
    tracker_.advance_to(watermark);
    late_count_ = reader.varint();
    const std::uint64_t arrivals = reader.varint();
    backfill_until_ = reader.svarint();
    backfill_records_ = reader.varint();
    backfill_overlap_ = reader.varint();
    TimeExtractor::Learned learned;
    const std::uint8_t flags = reader.u8();
    learned.seen = (flags & 1) != 0;
    learned.numeric = (flags & 2) != 0;
    learned.style.zulu = (flags & 4) != 0;
    learned.style.fraction_digits = static_cast<int>(reader.svarint());
    learned.style.offset_minutes = static_cast<int>(reader.svarint());
    times_.relearn(learned);

    held_.clear();
    heap_.clear();
    free_held_.clear();
    RecordParser parser(schema_);
    std::string buffer;
    ParseFailure failure;
    for (std::uint64_t n = reader.count(4); n > 0; --n) {
        const Timestamp time = reader.svarint();
        const std::uint64_t arrival = reader.varint();
        if (reader.u8() != 0) {
            hold_time_only(time);
            held_[heap_.back()].arrival = arrival;
            continue;
        }
        const std::string_view raw = reader.bytes();
        const std::string source(reader.bytes());
        const std::uint64_t line = reader.varint();
        buffer.assign(raw);
        buffer.append(simdjson::SIMDJSON_PADDING, ' ');
        if (!parser.parse(std::string_view(buffer.data(), raw.size()), failure))
            throw RuntimeError("corrupt cep-sequence snapshot: a held record does not parse");
        hold(Record{std::string_view(buffer.data(), raw.size()), parser.slots(), Origin{source, line}}, time);
        held_[heap_.back()].arrival = arrival;
    }
    // hold() numbered them anew: order the heap by the arrivals they had.
    std::make_heap(heap_.begin(), heap_.end(),
                   [this](std::uint32_t a, std::uint32_t b) { return held_later(a, b); });
    arrivals_ = arrivals;

    engine_->restore(reader, old_to_new, capture_from);
    if (!reader.done()) throw RuntimeError("corrupt cep-sequence snapshot: trailing bytes");
}

} // namespace cep::ops
