#pragma once
// --metrics FILE and --status of `cep run`: per-node counters, written as NDJSON lines every
// interval (and once at the end), and shown in place on a terminal.

#include "cep/manifest/manifest.hpp"

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <vector>

namespace cep::manifest {

struct RunOptions;

struct NodeCounters {
    std::uint64_t in = 0;
    std::uint64_t out = 0;
};

class MetricsWriter {
  public:
    MetricsWriter(const Manifest& manifest, const RunOptions& options);
    ~MetricsWriter();
    MetricsWriter(const MetricsWriter&) = delete;
    MetricsWriter& operator=(const MetricsWriter&) = delete;

    bool enabled() const { return file_ != nullptr || status_; }
    /// Cheap when not due: one clock read.
    void tick(const std::vector<NodeCounters>& counters);
    void finish(const std::vector<NodeCounters>& counters);

  private:
    void write(const std::vector<NodeCounters>& counters, bool final);

    const Manifest& manifest_;
    std::FILE* file_ = nullptr;
    bool status_ = false;
    std::size_t status_lines_ = 0;
    std::chrono::steady_clock::duration interval_;
    std::chrono::steady_clock::time_point start_, last_;
    std::vector<NodeCounters> previous_;
};

} // namespace cep::manifest
