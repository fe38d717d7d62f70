#pragma once
// Fan-in: several record streams into one, in event-time order. Each input is assumed to be
// (roughly) in event-time order already, as a stream from one source or one cep tool is; the
// merge emits the earliest head once every open input has one, so no input is ever read ahead
// of the others by more than what it has buffered. Used by both run modes, so they agree.

#include "cep/event_time.hpp"
#include "cep/record_parser.hpp"
#include "cep/schema.hpp"

#include <cstddef>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace cep::manifest {

class EventTimeMerge {
  public:
    /// `out` gets each line (without its newline) in merged order.
    using Output = std::function<void(std::string_view line)>;
    EventTimeMerge(std::size_t inputs, const TimeOptions& time, Output out);

    /// One line from input `port`. Control records are dropped: the merged stream's watermark is
    /// the reader's to derive from the merged event times.
    void push(std::size_t port, std::string_view line);
    /// Input `port` ended: nothing more will come from it.
    void close(std::size_t port);
    bool all_closed() const;

  private:
    struct Pending {
        Timestamp time;
        std::string line;
    };
    struct Port {
        std::deque<Pending> queue;
        bool open = true;
    };
    void drain();
    Timestamp time_of(std::string_view line);

    std::vector<Port> ports_;
    Output out_;
    Schema schema_;
    TimeExtractor time_;
    RecordParser parser_;
    std::string padded_, reason_;
    Timestamp last_ = min_timestamp;
};

} // namespace cep::manifest
