#include "cep/agg/aggregate.hpp"

#include "cep/agg/binary.hpp"
#include "cep/agg/exact_sum.hpp"
#include "cep/agg/hash.hpp"
#include "cep/agg/hll.hpp"
#include "cep/agg/key_index.hpp"
#include "cep/agg/space_saving.hpp"
#include "cep/agg/tdigest.hpp"
#include "cep/agg/value_key.hpp"
#include "cep/errors.hpp"
#include "cep/json_writer.hpp"

#include <algorithm>
#include <cmath>
#include <new>

namespace cep::agg {

// One accumulator over one path (or over whole records, for count()). Its state lives at
// `offset` inside the group's state bytes; several output functions may read the same unit.
class Unit {
  public:
    virtual ~Unit() = default;
    virtual std::size_t size() const = 0;
    virtual std::size_t align() const = 0;
    virtual void init(std::byte* state) const = 0;
    virtual void destroy(std::byte* state) const noexcept = 0;
    virtual void add(std::byte* state, const Record& record, std::uint64_t sequence,
                     std::string& scratch) const = 0;
    virtual void merge(std::byte* into, const std::byte* from) const = 0;
    virtual void write(const std::byte* state, ByteWriter& out) const = 0;
    virtual void read(std::byte* state, ByteReader& in) const = 0;
    /// Heap bytes beyond the inline state.
    virtual std::size_t heap(const std::byte* state) const = 0;
    virtual void shift_sequence(std::byte* state, std::uint64_t base) const {
        (void)state;
        (void)base;
    }

    std::size_t offset = 0;
};

namespace {

template <class S> class UnitOf : public Unit {
  public:
    std::size_t size() const final { return sizeof(S); }
    std::size_t align() const final { return alignof(S); }
    void init(std::byte* state) const final { new (state) S(); }
    void destroy(std::byte* state) const noexcept final { get(state).~S(); }

    static S& get(std::byte* state) { return *std::launder(reinterpret_cast<S*>(state)); }
    static const S& get(const std::byte* state) { return *std::launder(reinterpret_cast<const S*>(state)); }
};

// --- count ---------------------------------------------------------------------------------

struct CountState {
    std::uint64_t n = 0;
};

class CountUnit final : public UnitOf<CountState> {
  public:
    explicit CountUnit(std::optional<Slot> slot) : slot_(slot) {}
    void add(std::byte* state, const Record& record, std::uint64_t, std::string&) const override {
        if (slot_) {
            const Kind kind = record[*slot_].kind;
            if (kind == Kind::missing || kind == Kind::null) return;
        }
        ++get(state).n;
    }
    void merge(std::byte* into, const std::byte* from) const override { get(into).n += get(from).n; }
    void write(const std::byte* state, ByteWriter& out) const override { out.varint(get(state).n); }
    void read(std::byte* state, ByteReader& in) const override { get(state).n = in.varint(); }
    std::size_t heap(const std::byte*) const override { return 0; }

  private:
    std::optional<Slot> slot_;
};

// --- sum / avg -----------------------------------------------------------------------------

struct SumState {
    std::uint64_t n = 0;   // numeric values seen
    std::int64_t isum = 0; // exact integer part
    DoubleDouble fsum;     // floats, and integer sums that overflowed int64
    bool floating = false; // the result is a float: a float was seen, or the integers overflowed

    void add_int(std::int64_t v) {
        if (__builtin_add_overflow(isum, v, &isum)) {
            // isum was left wrapped; recover the two operands' exact sum in double-double.
            fsum.add(DoubleDouble::of(
                static_cast<std::int64_t>(static_cast<std::uint64_t>(isum) - static_cast<std::uint64_t>(v))));
            fsum.add(DoubleDouble::of(v));
            isum = 0;
            floating = true;
        }
    }
    DoubleDouble total() const {
        DoubleDouble t = fsum;
        t.add(DoubleDouble::of(isum));
        return t;
    }
};

class SumUnit final : public UnitOf<SumState> {
  public:
    explicit SumUnit(Slot slot) : slot_(slot) {}
    void add(std::byte* state, const Record& record, std::uint64_t, std::string&) const override {
        const Value& v = record[slot_];
        SumState& s = get(state);
        if (v.kind == Kind::integer) {
            ++s.n;
            s.add_int(v.integer);
        } else if (v.kind == Kind::floating) {
            ++s.n;
            s.fsum.add(v.floating);
            s.floating = true;
        }
    }
    void merge(std::byte* into, const std::byte* from) const override {
        SumState& a = get(into);
        const SumState& b = get(from);
        a.n += b.n;
        a.add_int(b.isum);
        a.fsum.add(b.fsum);
        a.floating = a.floating || b.floating;
    }
    void write(const std::byte* state, ByteWriter& out) const override {
        const SumState& s = get(state);
        out.varint(s.n);
        out.svarint(s.isum);
        out.f64(s.fsum.hi);
        out.f64(s.fsum.lo);
        out.u8(s.floating ? 1 : 0);
    }
    void read(std::byte* state, ByteReader& in) const override {
        SumState& s = get(state);
        s.n = in.varint();
        s.isum = in.svarint();
        s.fsum.hi = in.f64();
        s.fsum.lo = in.f64();
        s.floating = in.u8() != 0;
    }
    std::size_t heap(const std::byte*) const override { return 0; }

    static void append_sum(const SumState& s, std::string& json) {
        if (s.n == 0)
            json += "null";
        else if (!s.floating)
            append_json_number(json, s.isum);
        else
            append_json_number(json, s.total().value());
    }
    static void append_avg(const SumState& s, std::string& json) {
        if (s.n == 0) {
            json += "null";
            return;
        }
        append_json_number(json, s.total().divided_by(static_cast<double>(s.n)).value());
    }

  private:
    Slot slot_;
};

// --- stddev --------------------------------------------------------------------------------

struct MomentsState {
    std::uint64_t n = 0;
    DoubleDouble sum;
    DoubleDouble squares;
};

class MomentsUnit final : public UnitOf<MomentsState> {
  public:
    explicit MomentsUnit(Slot slot) : slot_(slot) {}
    void add(std::byte* state, const Record& record, std::uint64_t, std::string&) const override {
        const Value& v = record[slot_];
        if (!v.is_number()) return;
        MomentsState& s = get(state);
        const double x = v.as_double();
        ++s.n;
        s.sum.add(x);
        s.squares.add(DoubleDouble::square(x));
    }
    void merge(std::byte* into, const std::byte* from) const override {
        MomentsState& a = get(into);
        const MomentsState& b = get(from);
        a.n += b.n;
        a.sum.add(b.sum);
        a.squares.add(b.squares);
    }
    void write(const std::byte* state, ByteWriter& out) const override {
        const MomentsState& s = get(state);
        out.varint(s.n);
        out.f64(s.sum.hi);
        out.f64(s.sum.lo);
        out.f64(s.squares.hi);
        out.f64(s.squares.lo);
    }
    void read(std::byte* state, ByteReader& in) const override {
        MomentsState& s = get(state);
        s.n = in.varint();
        s.sum = {in.f64(), in.f64()};
        s.squares = {in.f64(), in.f64()};
    }
    std::size_t heap(const std::byte*) const override { return 0; }

    static void append_stddev(const MomentsState& s, std::string& json) {
        if (s.n < 2) {
            json += "null";
            return;
        }
        // Sample variance (sum(x^2) - sum(x)^2 / n) / (n - 1), in double-double so that the
        // subtraction keeps its precision when the mean is large against the spread.
        const double n = static_cast<double>(s.n);
        DoubleDouble deviations = s.squares;
        deviations.add(-s.sum.times(s.sum.divided_by(n)));
        const double variance = std::max(0.0, deviations.divided_by(n - 1).value());
        append_json_number(json, std::sqrt(variance));
    }

  private:
    Slot slot_;
};

// --- min / max -----------------------------------------------------------------------------

struct ExtremeState {
    std::uint8_t number = 0; // 0 none, 1 integer, 2 floating
    std::int64_t integer = 0;
    double floating = 0;
    std::unique_ptr<std::string> text; // the extreme string, allocated on the first string
};

int compare_numbers(const Value& a, const Value& b) {
    if (a.kind == Kind::integer && b.kind == Kind::integer)
        return (a.integer > b.integer) - (a.integer < b.integer);
    const long double x = a.kind == Kind::integer ? static_cast<long double>(a.integer) : a.floating;
    const long double y = b.kind == Kind::integer ? static_cast<long double>(b.integer) : b.floating;
    return (x > y) - (x < y);
}

class ExtremeUnit final : public UnitOf<ExtremeState> {
  public:
    ExtremeUnit(Slot slot, bool max) : slot_(slot), max_(max) {}
    void add(std::byte* state, const Record& record, std::uint64_t, std::string&) const override {
        offer(get(state), record[slot_]);
    }
    void merge(std::byte* into, const std::byte* from) const override {
        const ExtremeState& b = get(from);
        ExtremeState& a = get(into);
        if (b.number != 0) offer(a, number_of(b));
        if (b.text) offer(a, Value::of_string(*b.text));
    }
    void write(const std::byte* state, ByteWriter& out) const override {
        const ExtremeState& s = get(state);
        out.u8(static_cast<std::uint8_t>(s.number | (s.text ? 4 : 0)));
        if (s.number == 1) out.svarint(s.integer);
        if (s.number == 2) out.f64(s.floating);
        if (s.text) out.bytes(*s.text);
    }
    void read(std::byte* state, ByteReader& in) const override {
        ExtremeState& s = get(state);
        const std::uint8_t flags = in.u8();
        s.number = flags & 3;
        if (s.number == 3 || flags > 7) throw RuntimeError("corrupt min/max state");
        if (s.number == 1) s.integer = in.svarint();
        if (s.number == 2) s.floating = in.f64();
        if (flags & 4) s.text = std::make_unique<std::string>(in.bytes());
    }
    std::size_t heap(const std::byte* state) const override {
        const ExtremeState& s = get(state);
        return s.text ? sizeof(std::string) + (s.text->capacity() > 15 ? s.text->capacity() + 1 : 0) : 0;
    }

    static void append(const ExtremeState& s, std::string& json) {
        if (s.number != 0)
            append_value_json(json, number_of(s));
        else if (s.text)
            append_json_string(json, *s.text);
        else
            json += "null";
    }

  private:
    static Value number_of(const ExtremeState& s) {
        return s.number == 1 ? Value::of_int(s.integer) : Value::of_double(s.floating);
    }
    bool better(int comparison) const { return max_ ? comparison > 0 : comparison < 0; }
    void offer(ExtremeState& s, const Value& v) const {
        if (v.is_number()) {
            if (s.number == 0 || better(compare_numbers(v, number_of(s)))) {
                s.number = v.kind == Kind::integer ? 1 : 2;
                s.integer = v.integer;
                s.floating = v.floating;
            }
        } else if (v.kind == Kind::string) {
            if (!s.text)
                s.text = std::make_unique<std::string>(v.text);
            else if (better(v.text.compare(*s.text)))
                s.text->assign(v.text);
        }
    }

    Slot slot_;
    bool max_;
};

// --- first / last --------------------------------------------------------------------------

struct PickState {
    std::uint64_t sequence = 0;
    bool has = false;
    std::string key; // the value, encoded (value_key.hpp); its capacity is reused by `last`
};

class PickUnit final : public UnitOf<PickState> {
  public:
    PickUnit(Slot slot, bool last) : slot_(slot), last_(last) {}
    void add(std::byte* state, const Record& record, std::uint64_t sequence, std::string&) const override {
        const Value& v = record[slot_];
        if (v.kind == Kind::missing || v.kind == Kind::null) return;
        PickState& s = get(state);
        if (s.has && !last_) return;
        s.has = true;
        s.sequence = sequence;
        s.key.clear();
        append_value_key(s.key, v);
    }
    void merge(std::byte* into, const std::byte* from) const override {
        const PickState& b = get(from);
        PickState& a = get(into);
        if (!b.has) return;
        const bool take = !a.has || (last_ ? b.sequence >= a.sequence : b.sequence < a.sequence);
        if (!take) return;
        a.has = true;
        a.sequence = b.sequence;
        a.key = b.key;
    }
    void write(const std::byte* state, ByteWriter& out) const override {
        const PickState& s = get(state);
        out.u8(s.has ? 1 : 0);
        if (!s.has) return;
        out.varint(s.sequence);
        out.bytes(s.key);
    }
    void read(std::byte* state, ByteReader& in) const override {
        PickState& s = get(state);
        s.has = in.u8() != 0;
        if (!s.has) return;
        s.sequence = in.varint();
        s.key = in.bytes();
        std::size_t pos = 0;
        read_value_key(s.key, pos);
        if (pos != s.key.size()) throw RuntimeError("corrupt first/last state");
    }
    std::size_t heap(const std::byte* state) const override {
        const PickState& s = get(state);
        return s.key.capacity() > 15 ? s.key.capacity() + 1 : 0;
    }
    void shift_sequence(std::byte* state, std::uint64_t base) const override { get(state).sequence += base; }

    static void append(const PickState& s, std::string& json) {
        if (!s.has) {
            json += "null";
            return;
        }
        std::size_t pos = 0;
        append_value_json(json, read_value_key(s.key, pos));
    }

  private:
    Slot slot_;
    bool last_;
};

// --- sketches: distinct, count_distinct, percentiles, top -----------------------------------

bool countable(const Value& v) {
    return v.kind != Kind::missing && v.kind != Kind::null;
}

class DistinctUnit final : public UnitOf<std::unique_ptr<HyperLogLog>> {
  public:
    DistinctUnit(Slot slot, int precision) : slot_(slot), precision_(precision) {}
    void add(std::byte* state, const Record& record, std::uint64_t, std::string& scratch) const override {
        const Value& v = record[slot_];
        if (!countable(v)) return;
        auto& hll = get(state);
        if (!hll) hll = std::make_unique<HyperLogLog>(precision_);
        scratch.clear();
        append_value_key(scratch, v);
        hll->add_hash(hash_bytes(scratch));
    }
    void merge(std::byte* into, const std::byte* from) const override {
        const auto& b = get(from);
        if (!b) return;
        auto& a = get(into);
        if (!a) a = std::make_unique<HyperLogLog>(precision_);
        a->merge(*b);
    }
    void write(const std::byte* state, ByteWriter& out) const override {
        const auto& hll = get(state);
        out.u8(hll ? 1 : 0);
        if (hll) hll->write(out);
    }
    void read(std::byte* state, ByteReader& in) const override {
        if (in.u8() == 0) return;
        auto hll = std::make_unique<HyperLogLog>(HyperLogLog::read(in));
        if (hll->precision() != precision_)
            throw RuntimeError("distinct() sketch has precision " + std::to_string(hll->precision()) +
                               ", expected " + std::to_string(precision_));
        get(state) = std::move(hll);
    }
    std::size_t heap(const std::byte* state) const override {
        const auto& hll = get(state);
        return hll ? sizeof(HyperLogLog) + hll->memory() : 0;
    }

    static void append(const std::unique_ptr<HyperLogLog>& hll, std::string& json) {
        append_json_number(json, static_cast<std::int64_t>(hll ? std::llround(hll->estimate()) : 0));
    }

  private:
    Slot slot_;
    int precision_;
};

class ExactDistinctUnit final : public UnitOf<std::unique_ptr<KeyIndex>> {
  public:
    explicit ExactDistinctUnit(Slot slot) : slot_(slot) {}
    void add(std::byte* state, const Record& record, std::uint64_t, std::string& scratch) const override {
        const Value& v = record[slot_];
        if (!countable(v)) return;
        auto& set = get(state);
        if (!set) set = std::make_unique<KeyIndex>();
        scratch.clear();
        append_value_key(scratch, v);
        set->insert(scratch, hash_bytes(scratch));
    }
    void merge(std::byte* into, const std::byte* from) const override {
        const auto& b = get(from);
        if (!b) return;
        auto& a = get(into);
        if (!a) a = std::make_unique<KeyIndex>();
        for (std::uint32_t i = 0; i < b->size(); ++i)
            a->insert(b->key(i), b->hash(i));
    }
    void write(const std::byte* state, ByteWriter& out) const override {
        const auto& set = get(state);
        out.varint(set ? set->size() : 0);
        if (set)
            for (std::uint32_t i = 0; i < set->size(); ++i)
                out.bytes(set->key(i));
    }
    void read(std::byte* state, ByteReader& in) const override {
        const std::uint64_t n = in.count(2);
        if (n == 0) return;
        auto set = std::make_unique<KeyIndex>();
        for (std::uint64_t i = 0; i < n; ++i) {
            const std::string_view key = in.bytes();
            std::size_t pos = 0;
            read_value_key(key, pos);
            if (pos != key.size()) throw RuntimeError("corrupt count_distinct state");
            set->insert(key, hash_bytes(key));
        }
        get(state) = std::move(set);
    }
    std::size_t heap(const std::byte* state) const override {
        const auto& set = get(state);
        return set ? sizeof(KeyIndex) + set->memory() : 0;
    }

    static void append(const std::unique_ptr<KeyIndex>& set, std::string& json) {
        append_json_number(json, static_cast<std::int64_t>(set ? set->size() : 0));
    }

  private:
    Slot slot_;
};

class DigestUnit final : public UnitOf<std::unique_ptr<TDigest>> {
  public:
    DigestUnit(Slot slot, double compression) : slot_(slot), compression_(compression) {}
    void add(std::byte* state, const Record& record, std::uint64_t, std::string&) const override {
        const Value& v = record[slot_];
        if (!v.is_number()) return;
        auto& digest = get(state);
        if (!digest) digest = std::make_unique<TDigest>(compression_);
        digest->add(v.as_double());
    }
    void merge(std::byte* into, const std::byte* from) const override {
        const auto& b = get(from);
        if (!b) return;
        auto& a = get(into);
        if (!a) a = std::make_unique<TDigest>(compression_);
        a->merge(*b);
    }
    void write(const std::byte* state, ByteWriter& out) const override {
        const auto& digest = get(state);
        out.u8(digest ? 1 : 0);
        if (digest) digest->write(out);
    }
    void read(std::byte* state, ByteReader& in) const override {
        if (in.u8() == 0) return;
        get(state) = std::make_unique<TDigest>(TDigest::read(in));
    }
    std::size_t heap(const std::byte* state) const override {
        const auto& digest = get(state);
        return digest ? sizeof(TDigest) + digest->memory() : 0;
    }

    static void append(const std::unique_ptr<TDigest>& digest, double percentile, std::string& json) {
        if (!digest || digest->count() == 0) {
            json += "null";
            return;
        }
        append_json_number(json, digest->quantile(percentile / 100));
    }

  private:
    Slot slot_;
    double compression_;
};

class TopUnit final : public UnitOf<std::unique_ptr<SpaceSaving>> {
  public:
    TopUnit(Slot slot, std::uint32_t capacity) : slot_(slot), capacity_(capacity) {}
    void add(std::byte* state, const Record& record, std::uint64_t, std::string& scratch) const override {
        const Value& v = record[slot_];
        if (!countable(v)) return;
        auto& summary = get(state);
        if (!summary) summary = std::make_unique<SpaceSaving>(capacity_);
        scratch.clear();
        append_value_key(scratch, v);
        summary->add(scratch);
    }
    void merge(std::byte* into, const std::byte* from) const override {
        const auto& b = get(from);
        if (!b) return;
        auto& a = get(into);
        if (!a) a = std::make_unique<SpaceSaving>(capacity_);
        a->merge(*b);
    }
    void write(const std::byte* state, ByteWriter& out) const override {
        const auto& summary = get(state);
        out.u8(summary ? 1 : 0);
        if (summary) summary->write(out);
    }
    void read(std::byte* state, ByteReader& in) const override {
        if (in.u8() == 0) return;
        auto summary = std::make_unique<SpaceSaving>(SpaceSaving::read(in));
        for (const auto& item :
             summary->top(summary->size(), [](std::string_view, std::string_view) { return false; })) {
            std::size_t pos = 0;
            read_value_key(item.key, pos);
            if (pos != item.key.size()) throw RuntimeError("corrupt top state");
        }
        get(state) = std::move(summary);
    }
    std::size_t heap(const std::byte* state) const override {
        const auto& summary = get(state);
        return summary ? sizeof(SpaceSaving) + summary->memory() : 0;
    }

    static void append(const std::unique_ptr<SpaceSaving>& summary, std::uint32_t n, std::string& json) {
        json += '[';
        if (summary) {
            const auto items = summary->top(n, [](std::string_view a, std::string_view b) {
                std::size_t pa = 0, pb = 0;
                return compare_value_keys(a, pa, b, pb) < 0;
            });
            bool first = true;
            for (const auto& item : items) {
                if (!first) json += ',';
                first = false;
                json += "{\"value\":";
                std::size_t pos = 0;
                append_value_json(json, read_value_key(item.key, pos));
                json += ",\"count\":";
                append_json_number(json, static_cast<std::int64_t>(item.count));
                json += '}';
            }
        }
        json += ']';
    }

  private:
    Slot slot_;
    std::uint32_t capacity_;
};

constexpr std::uint8_t state_version = 1;

} // namespace

// --- AggregateSet --------------------------------------------------------------------------

AggregateSet::AggregateSet(std::string_view spec, Schema& schema, const AggOptions& options)
    : AggregateSet(parse_agg_specs(spec), schema, options) {}

AggregateSet::AggregateSet(std::vector<AggSpec> specs, Schema& schema, const AggOptions& options)
    : specs_(std::move(specs)), options_(options) {
    if (options_.hll_precision < HyperLogLog::min_precision ||
        options_.hll_precision > HyperLogLog::max_precision)
        throw UsageError("--hll-precision must be between 4 and 18");
    if (!(options_.compression >= 10 && options_.compression <= 10000))
        throw UsageError("--compression must be between 10 and 10000");
    if (specs_.empty()) throw UsageError("no aggregates");
    canonical_ = to_string(specs_);
    compile(schema);
}

AggregateSet::~AggregateSet() = default;
AggregateSet::AggregateSet(AggregateSet&&) noexcept = default;
AggregateSet& AggregateSet::operator=(AggregateSet&&) noexcept = default;

void AggregateSet::compile(Schema& schema) {
    std::vector<std::string> unit_keys;
    auto use = [&](std::string key, auto make) {
        for (std::size_t i = 0; i < unit_keys.size(); ++i) {
            if (unit_keys[i] == key) {
                unit_of_spec_.push_back(i);
                return;
            }
        }
        unit_keys.push_back(std::move(key));
        units_.push_back(make());
        unit_of_spec_.push_back(units_.size() - 1);
    };
    for (const AggSpec& spec : specs_) {
        const std::optional<Slot> slot =
            spec.path ? std::optional<Slot>(schema.add(*spec.path)) : std::nullopt;
        const std::string at = slot ? std::to_string(*slot) : "*";
        switch (spec.func) {
        case Func::count:
            use("count " + at, [&] { return std::make_unique<CountUnit>(slot); });
            break;
        case Func::sum:
        case Func::avg:
            use("sum " + at, [&] { return std::make_unique<SumUnit>(*slot); });
            break;
        case Func::stddev:
            use("moments " + at, [&] { return std::make_unique<MomentsUnit>(*slot); });
            break;
        case Func::min:
            use("min " + at, [&] { return std::make_unique<ExtremeUnit>(*slot, false); });
            break;
        case Func::max:
            use("max " + at, [&] { return std::make_unique<ExtremeUnit>(*slot, true); });
            break;
        case Func::first:
            use("first " + at, [&] { return std::make_unique<PickUnit>(*slot, false); });
            break;
        case Func::last:
            use("last " + at, [&] { return std::make_unique<PickUnit>(*slot, true); });
            break;
        case Func::distinct:
            use("distinct " + at,
                [&] { return std::make_unique<DistinctUnit>(*slot, options_.hll_precision); });
            break;
        case Func::count_distinct:
            use("count_distinct " + at, [&] { return std::make_unique<ExactDistinctUnit>(*slot); });
            break;
        case Func::percentile:
            use("digest " + at, [&] { return std::make_unique<DigestUnit>(*slot, options_.compression); });
            break;
        case Func::top: {
            // Room for 10x the values asked for (at least 100): counts are exact while the
            // group has no more distinct values than that.
            const std::uint32_t capacity = std::max<std::uint32_t>(spec.top_n * 10, 100);
            use("top " + std::to_string(capacity) + " " + at,
                [&] { return std::make_unique<TopUnit>(*slot, capacity); });
            break;
        }
        }
    }
    // Lay the units out in decreasing alignment, so no padding is needed between them.
    std::vector<Unit*> order;
    for (auto& unit : units_)
        order.push_back(unit.get());
    std::stable_sort(order.begin(), order.end(), [](Unit* a, Unit* b) { return a->align() > b->align(); });
    size_ = 0;
    for (Unit* unit : order) {
        unit->offset = size_;
        size_ += unit->size();
        align_ = std::max(align_, unit->align());
    }
    size_ = (size_ + align_ - 1) / align_ * align_;
}

void AggregateSet::init(std::byte* state) const {
    std::size_t done = 0;
    try {
        for (; done < units_.size(); ++done)
            units_[done]->init(state + units_[done]->offset);
    } catch (...) {
        while (done-- > 0)
            units_[done]->destroy(state + units_[done]->offset);
        throw;
    }
}

void AggregateSet::destroy(std::byte* state) const noexcept {
    for (const auto& unit : units_)
        unit->destroy(state + unit->offset);
}

void AggregateSet::add(std::byte* state, const Record& record) {
    const std::uint64_t sequence = sequence_++;
    for (const auto& unit : units_)
        unit->add(state + unit->offset, record, sequence, scratch_);
}

void AggregateSet::merge(std::byte* into, const std::byte* from) const {
    for (const auto& unit : units_)
        unit->merge(into + unit->offset, from + unit->offset);
}

void AggregateSet::shift_sequence(std::byte* state, std::uint64_t base) const {
    for (const auto& unit : units_)
        unit->shift_sequence(state + unit->offset, base);
}

void AggregateSet::append_results(const std::byte* state, std::string& json) const {
    for (std::size_t i = 0; i < specs_.size(); ++i) {
        const AggSpec& spec = specs_[i];
        const Unit& unit = *units_[unit_of_spec_[i]];
        const std::byte* at = state + unit.offset;
        if (i > 0) json += ',';
        append_json_string(json, spec.name);
        json += ':';
        switch (spec.func) {
        case Func::count:
            append_json_number(json, static_cast<std::int64_t>(CountUnit::get(at).n));
            break;
        case Func::sum:
            SumUnit::append_sum(SumUnit::get(at), json);
            break;
        case Func::avg:
            SumUnit::append_avg(SumUnit::get(at), json);
            break;
        case Func::stddev:
            MomentsUnit::append_stddev(MomentsUnit::get(at), json);
            break;
        case Func::min:
        case Func::max:
            ExtremeUnit::append(ExtremeUnit::get(at), json);
            break;
        case Func::first:
        case Func::last:
            PickUnit::append(PickUnit::get(at), json);
            break;
        case Func::distinct:
            DistinctUnit::append(DistinctUnit::get(at), json);
            break;
        case Func::count_distinct:
            ExactDistinctUnit::append(ExactDistinctUnit::get(at), json);
            break;
        case Func::percentile:
            DigestUnit::append(DigestUnit::get(at), spec.percentile, json);
            break;
        case Func::top:
            TopUnit::append(TopUnit::get(at), spec.top_n, json);
            break;
        }
    }
}

void AggregateSet::write_state(const std::byte* state, std::string& out) const {
    ByteWriter writer(out);
    writer.u8(state_version);
    for (const auto& unit : units_)
        unit->write(state + unit->offset, writer);
}

void AggregateSet::read_state(std::byte* state, std::string_view bytes) const {
    ByteReader reader(bytes);
    if (reader.u8() != state_version) throw RuntimeError("aggregate state of an unknown version");
    for (const auto& unit : units_)
        unit->read(state + unit->offset, reader);
    if (!reader.done()) throw RuntimeError("corrupt aggregate state: trailing bytes");
}

void AggregateSet::write_sketch(const std::byte* state, std::string& json) const {
    std::string bytes;
    write_state(state, bytes);
    json += "\"_sketches\":{\"spec\":";
    append_json_string(json, canonical_);
    json += ",\"hll_precision\":";
    append_json_number(json, static_cast<std::int64_t>(options_.hll_precision));
    json += ",\"compression\":";
    append_json_number(json, options_.compression);
    json += ",\"state\":\"";
    json += base64_encode(bytes);
    json += "\"}";
}

void AggregateSet::read_sketch(std::byte* state, std::string_view base64) const {
    std::string bytes;
    if (!base64_decode(base64, bytes)) throw RuntimeError("_sketches.state is not valid base64");
    read_state(state, bytes);
}

std::size_t AggregateSet::memory(const std::byte* state) const {
    std::size_t bytes = size_;
    for (const auto& unit : units_)
        bytes += unit->heap(state + unit->offset);
    return bytes;
}

// --- AggregateState ------------------------------------------------------------------------

AggregateState::AggregateState(const AggregateSet& set)
    : bytes_(std::make_unique<std::byte[]>(set.state_size())) {
    set.init(bytes_.get());
    set_ = &set; // only once init() succeeded, so the destructor never destroys a half-built state
}

void AggregateState::reset() noexcept {
    if (set_ && bytes_) set_->destroy(bytes_.get());
    set_ = nullptr;
    bytes_.reset();
}

} // namespace cep::agg
