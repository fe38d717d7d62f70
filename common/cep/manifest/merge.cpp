#include "cep/manifest/merge.hpp"

#include "cep/control.hpp"

#include <simdjson.h>

namespace cep::manifest {

EventTimeMerge::EventTimeMerge(std::size_t inputs, const TimeOptions& time, Output out)
    : ports_(inputs), out_(std::move(out)), time_(time, schema_), parser_(schema_) {}

Timestamp EventTimeMerge::time_of(std::string_view line) {
    padded_.assign(line);
    padded_.append(simdjson::SIMDJSON_PADDING, '\0');
    const std::string_view text(padded_.data(), line.size());
    ParseFailure failure;
    // A record without a usable time goes out at the time of the last one, so it neither
    // waits nor jumps ahead; its reader reports it.
    if (!parser_.parse(text, failure)) return last_;
    const Record record{text, parser_.slots(), Origin{}};
    return time_.extract(record, reason_).value_or(last_);
}

void EventTimeMerge::push(std::size_t port, std::string_view line) {
    if (is_control(line) && parse_control(line)) return;
    const Timestamp time = time_of(line);
    ports_[port].queue.push_back({time, std::string(line)});
    drain();
}

void EventTimeMerge::close(std::size_t port) {
    ports_[port].open = false;
    drain();
}

bool EventTimeMerge::all_closed() const {
    for (const auto& port : ports_)
        if (port.open) return false;
    return true;
}

void EventTimeMerge::drain() {
    for (;;) {
        Port* earliest = nullptr;
        for (auto& port : ports_) {
            // An open input with nothing queued could still send something earlier: wait for it.
            if (port.queue.empty()) {
                if (port.open) return;
                continue;
            }
            // Ties go to the lower input, so the merge is deterministic.
            if (earliest == nullptr || port.queue.front().time < earliest->queue.front().time)
                earliest = &port;
        }
        if (earliest == nullptr) return;
        Pending next = std::move(earliest->queue.front());
        earliest->queue.pop_front();
        last_ = std::max(last_, next.time);
        out_(next.line);
    }
}

} // namespace cep::manifest
