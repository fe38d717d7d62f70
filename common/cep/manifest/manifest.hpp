#pragma once
// Pipeline manifests (cep-manifest(5)): named nodes, each a cep tool with its arguments written
// as on the command line (or a foreign command), connected by name. Loading checks the structure
// and the graph; validate() also parses every node's arguments with the tool's own CLI11
// definition and builds its operator, so `cep check` finds what `cep-TOOL` would reject.

#include "cep/errors.hpp"

#include <cstddef>
#include <string>
#include <vector>

namespace cep::manifest {

/// 1-based position in the manifest file; 0 when unknown.
struct Mark {
    int line = 0;
    int column = 0;
};

struct Diagnostic {
    std::string file;
    Mark mark;
    std::string message;
};

/// `FILE:LINE:COL: message`, the form compilers use, so editors jump to it.
std::string format(const Diagnostic& diagnostic);

/// A manifest that cannot run: every problem found, in file order. Exit 2.
struct ManifestError : UsageError {
    explicit ManifestError(std::vector<Diagnostic> found);
    std::vector<Diagnostic> diagnostics;
};

struct Node {
    std::string name;
    Mark mark;
    std::string tool;    ///< a cep tool, without `cep-`; empty for a foreign command
    std::string command; ///< a foreign command line, run with /bin/sh -c
    std::vector<std::string> args;
    Mark args_mark;
    std::vector<std::string> from; ///< upstream nodes, by name
    std::vector<Mark> from_marks;
    std::vector<std::string> inputs; ///< files, `-`, `.zst`, kafka:// as tools take them
    Mark input_mark;
    std::vector<std::string> outputs; ///< the same for outputs
    Mark output_mark;
    unsigned parallel = 1; ///< with `key`: N copies, records partitioned by key
    std::string key;
    Mark parallel_mark;

    bool is_tool() const { return !tool.empty(); }
};

struct Manifest {
    std::string file;
    std::vector<Node> nodes; ///< in file order
    // Derived by load():
    std::vector<std::size_t> order;                 ///< topological: every node after its upstreams
    std::vector<std::vector<std::size_t>> upstream; ///< per node, in `from:` order
    std::vector<std::vector<std::size_t>> downstream;

    /// A node with no downstream node and no `output:` writes to standard output.
    bool writes_stdout(std::size_t node) const {
        return downstream[node].empty() && nodes[node].outputs.empty();
    }
    /// Records reach the node from more than one place: they are merged by event time.
    std::size_t input_count(std::size_t node) const {
        return nodes[node].inputs.size() + upstream[node].size();
    }
};

/// Reads a YAML or JSON manifest and checks its structure and graph (unknown keys, unknown
/// nodes in `from:`, cycles, nodes without input). Throws ManifestError.
Manifest load(const std::string& path);

/// The checks that need the tools: arguments parsed by each tool's CLI definition, operators
/// built (expressions, rules), inputs that exist, one writer per output. Throws ManifestError.
void validate(const Manifest& manifest);

/// The pipeline as a Graphviz digraph.
std::string to_dot(const Manifest& manifest);

/// Renders `dot` source to an SVG file with Graphviz; returns the exit code (1 when dot is
/// missing or fails).
int render_svg(const std::string& dot, const std::string& path);

} // namespace cep::manifest
