#pragma once
// The aggregate library behind cep-agg and cep-window: an aggregate list compiled once into an
// AggregateSet, which lays out one flat, fixed-size state per group and updates, merges,
// prints and serializes such states.
//
//   Schema schema;
//   agg::AggregateSet set("count(), avg(price), p99(price)", schema);
//   agg::AggregateState state(set);            // or set.init() on bytes you own
//   set.add(state.data(), record);             // per record (slots parsed with `schema`)
//   std::string json = "{";
//   set.append_results(state.data(), json);    // "count":3,"avg_price":1.5,"p99_price":2.98
//   json += '}';
//
// States are raw bytes laid out by the set: plain counters and sums inline (count() alone is
// 8 bytes), sketches behind a pointer allocated on the first value. Adding a record does not
// allocate for count/sum/avg/min/max/first/last/stddev once a state has seen its values.
// Functions over the same path share state: p50(x) and p99(x) use one digest, sum(x) and
// avg(x) one sum. An AggregateSet is not thread-safe (it keeps scratch space and an arrival
// counter); use one per thread.

#include "cep/agg/spec.hpp"
#include "cep/record.hpp"
#include "cep/schema.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cep::agg {

struct AggOptions {
    int hll_precision = 14;   ///< distinct(): m = 2^hll_precision registers (4..18)
    double compression = 200; ///< pNN(): t-digest compression (10..10000)
};

class Unit; // one accumulator; private to the implementation

class AggregateSet {
  public:
    /// Parses `spec` (see spec.hpp) and registers the paths it reads in `schema`.
    /// Throws SyntaxError (with a column) or UsageError.
    AggregateSet(std::string_view spec, Schema& schema, const AggOptions& options = {});
    AggregateSet(std::vector<AggSpec> specs, Schema& schema, const AggOptions& options = {});
    ~AggregateSet();
    AggregateSet(AggregateSet&&) noexcept;
    AggregateSet& operator=(AggregateSet&&) noexcept;

    const std::vector<AggSpec>& specs() const { return specs_; }
    /// The list in canonical form (every item with `as NAME`); what sketches record.
    const std::string& canonical() const { return canonical_; }
    const AggOptions& options() const { return options_; }

    /// Bytes and alignment of one state.
    std::size_t state_size() const { return size_; }
    std::size_t state_align() const { return align_; }
    /// Constructs an empty state in `state_size()` bytes; destroy() must follow.
    void init(std::byte* state) const;
    void destroy(std::byte* state) const noexcept;

    /// Adds one record. Records are ordered by the calls (first/last use that order).
    void add(std::byte* state, const Record& record);
    /// Adds `from` into `into`. first/last keep the value with the earlier/later arrival stamp
    /// (the add() order; see shift_sequence for states from other runs).
    void merge(std::byte* into, const std::byte* from) const;
    /// Appends `"name":value` pairs, comma-separated, in spec order (no braces, no leading comma).
    void append_results(const std::byte* state, std::string& json) const;

    /// Binary form of a state, for operator snapshots; read_state() into a fresh init()ed state
    /// restores it exactly. Throws RuntimeError when the bytes are corrupt.
    void write_state(const std::byte* state, std::string& out) const;
    void read_state(std::byte* state, std::string_view bytes) const;

    /// Appends `"_sketches":{"spec":...,"hll_precision":P,"state":"<base64>"}`: everything a
    /// later merge needs, including the exact sums and counts behind avg and stddev.
    void write_sketch(const std::byte* state, std::string& json) const;
    /// Reads the base64 `state` of such a field. The caller checks that spec and precision match.
    void read_sketch(std::byte* state, std::string_view base64) const;

    /// Adds `base` to the arrival stamps of first/last in `state`. Stamps count add() calls
    /// from 0 in every run, so when merging results of several runs, shift each run's states
    /// by a base above the previous run's stamps (cep-agg --merge: input file index << 40).
    void shift_sequence(std::byte* state, std::uint64_t base) const;

    /// Bytes used by one state, inline and on the heap (for --stats and memory limits).
    std::size_t memory(const std::byte* state) const;

    /// The arrival counter, saved and restored with operator snapshots.
    std::uint64_t sequence() const { return sequence_; }
    void set_sequence(std::uint64_t sequence) { sequence_ = sequence; }

  private:
    void compile(Schema& schema);

    std::vector<AggSpec> specs_;
    AggOptions options_;
    std::string canonical_;
    std::vector<std::unique_ptr<Unit>> units_;
    std::vector<std::size_t> unit_of_spec_; // specs_[i] reads units_[unit_of_spec_[i]]
    std::size_t size_ = 0;
    std::size_t align_ = 1;
    std::uint64_t sequence_ = 0;
    std::string scratch_;
};

/// An owning, movable state of one AggregateSet (which must outlive it).
class AggregateState {
  public:
    AggregateState() = default;
    explicit AggregateState(const AggregateSet& set);
    ~AggregateState() { reset(); }
    AggregateState(AggregateState&& other) noexcept
        : set_(std::exchange(other.set_, nullptr)), bytes_(std::move(other.bytes_)) {}
    AggregateState& operator=(AggregateState&& other) noexcept {
        if (this != &other) {
            reset();
            set_ = std::exchange(other.set_, nullptr);
            bytes_ = std::move(other.bytes_);
        }
        return *this;
    }

    std::byte* data() { return bytes_.get(); }
    const std::byte* data() const { return bytes_.get(); }
    explicit operator bool() const { return set_ != nullptr; }

  private:
    void reset() noexcept;
    const AggregateSet* set_ = nullptr;
    std::unique_ptr<std::byte[]> bytes_;
};

} // namespace cep::agg
