#pragma once
// Runs a validated manifest, either as one process with the operators chained (fused) or as
// one process per node connected by pipes (processes). Both modes give the same records.

#include "cep/manifest/manifest.hpp"

#include <string>

namespace cep::manifest {

struct RunOptions {
    std::string mode = "auto"; ///< auto, fused, processes
    bool dry_run = false;
    std::string metrics;          ///< NDJSON file of per-node counters
    std::string metrics_interval; ///< default 1s
    bool status = false;          ///< live per-node counters on a terminal
};

/// Whether `mode` (auto resolved) runs fused: auto fuses when every node is a cep tool that runs
/// as one operator (no foreign command, no parallel:, no cep-keyby -j).
bool runs_fused(const Manifest& manifest, const std::string& mode);

/// Runs the pipeline; returns the exit code (0 ok, 1 data or runtime errors).
int run(const Manifest& manifest, const RunOptions& options);

int run_fused(const Manifest& manifest, const RunOptions& options);
int run_processes(const Manifest& manifest, const RunOptions& options);

} // namespace cep::manifest
