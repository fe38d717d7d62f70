#pragma once
// The set of field paths that the operators of a pipeline read. Records are parsed once per
// pipeline: the parser walks each record a single time and fills one slot per registered path,
// so adding an operator that reads `level` costs one slot, not another parse.

#include "cep/path.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace cep {

using Slot = std::uint32_t;

class Schema {
  public:
    struct Node {
        std::vector<std::pair<std::string, std::uint32_t>> keys;   // child node by object key
        std::vector<std::pair<std::size_t, std::uint32_t>> items;  // child node by array index
        std::int64_t slot = -1;                                      // slot of the path ending here
    };

    Schema() : nodes_(1) {}

    /// Registers `path` (idempotent) and returns its slot. An empty path means the whole record.
    Slot add(const Path& path);
    Slot add(std::string_view path_text) { return add(parse_path(path_text)); }

    std::size_t slot_count() const { return paths_.size(); }
    const Path& path(Slot slot) const { return paths_[slot]; }
    const std::vector<Node>& nodes() const { return nodes_; }

  private:
    std::vector<Node> nodes_; // nodes_[0] is the record root
    std::vector<Path> paths_;
};

} // namespace cep
