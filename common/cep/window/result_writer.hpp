#pragma once
// Formats window results as JSON records:
//
//   {<key fields under their paths>,"window":{"start":S,"end":E},<aggregates>,"events":[...],
//    "update":true,"early":true,"replaces":[{"start":S,"end":E}]}
//
// Key fields are written back where they were read (`-k member.playerId` ->
// `"member":{"playerId":"p1"}`); times are in the input's format.

#include "cep/agg/aggregate.hpp"
#include "cep/event_time.hpp"
#include "cep/path.hpp"
#include "cep/window/engine.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace cep::window {

class ResultWriter {
  public:
    /// Throws UsageError when key paths overlap (`a` and `a.b`) or a top-level name is taken
    /// twice (a key field, an aggregate, or one of the fields the window adds).
    ResultWriter(const std::vector<Path>& key_paths, const agg::AggregateSet* aggs, bool collect,
                 const TimeExtractor& time);

    void append(std::string& out, const Result& result);
    /// `"window":{"start":S,"end":E}`.
    void append_window(std::string& out, const Bounds& bounds) const;

  private:
    struct Node {
        std::string name;
        int field = -1; // leaf: index of the key path; else an object of children
        std::vector<Node> children;
    };
    void append_node(std::string& out, const Node& node) const;
    void append_bounds(std::string& out, const Bounds& bounds) const;

    std::vector<Node> key_tree_;
    std::size_t key_fields_;
    const agg::AggregateSet* aggs_;
    bool collect_;
    const TimeExtractor& time_;
    std::vector<std::string_view> values_; // the current result's key fields as JSON text
    std::string scratch_;
};

} // namespace cep::window
