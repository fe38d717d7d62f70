#include "cep/cli/commands.hpp"
#include "cep/errors.hpp"
#include "cep/expr/expression.hpp"
#include "cep/ops/window.hpp"

#include <charconv>
#include <numeric>

namespace cep::cli {
namespace {

// Bounds that keep per-record work and per-key memory sane: a sliding window puts each record
// in size / slide windows, a sliding count window keeps count / gcd(count, every) panes per key.
constexpr std::uint64_t max_windows_per_record = 100'000;

Duration positive_duration(const std::string& flag, const std::string& text) {
    const auto d = parse_duration(text);
    if (!d || *d <= 0) throw UsageError(flag + ": not a positive duration: '" + text + "' (try 30s, 5m, 1h)");
    return *d;
}

/// `FLAG:1:COLUMN: message`, the text and a caret, as expression errors are shown.
std::string option_syntax_error(std::string_view flag, std::string_view text, const SyntaxError& e) {
    std::string message = expr::format_syntax_error(text, e.column, e.what());
    constexpr std::string_view prefix = "expression";
    if (message.starts_with(prefix)) message.replace(0, prefix.size(), flag);
    return message;
}

std::uint64_t positive_count(const std::string& flag, const std::string& text) {
    std::uint64_t n = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc{} || end != text.data() + text.size() || n == 0)
        throw UsageError(flag + ": not a positive count of records: '" + text + "'");
    return n;
}

class WindowCommand final : public Command {
  public:
    void add_options(CLI::App& app) override {
        app.add_option("-k,--key", keys_,
                       "Window per key: PATH[,PATH...] (default: one window for all records)")
            ->type_name("PATH[,PATH...]");
        app.add_option("--tumbling", tumbling_, "Tumbling windows of SIZE, aligned to the epoch")
            ->type_name("SIZE");
        app.add_option("--sliding", sliding_, "Sliding windows of SIZE, one starting --every SLIDE")
            ->type_name("SIZE");
        app.add_option("--session", session_, "Session windows per key, closed by GAP without records")
            ->type_name("GAP");
        app.add_option("--count", count_, "Count windows of N records per key, in arrival order")
            ->type_name("N");
        app.add_option("--every", every_,
                       "Sliding: distance between window starts (a duration); --count: fire every M records "
                       "(default N)")
            ->type_name("SLIDE|M");
        app.add_option("--agg", aggregates_,
                       "Aggregates per window, as cep-agg: 'count(), sum(price) as total, p99(latency)' "
                       "(default count())")
            ->type_name("LIST");
        app.add_flag("--collect", collect_, "Write each window's records, as an array \"events\"");
        app.add_option("--allowed-lateness", lateness_,
                       "Keep windows DURATION past their end; records in that time re-fire them as updates")
            ->type_name("DURATION");
        app.add_option("--emit", emit_,
                       "When to write results: final (when the window closes) or updates (on every change, "
                       "then final)")
            ->check(CLI::IsMember({"final", "updates"}))
            ->type_name("final|updates")
            ->default_str("final");
    }

    void configure(CommonOptions& common) override {
        using window::WindowKind;
        auto& spec = options_.spec;
        const int kinds = !tumbling_.empty() + !sliding_.empty() + !session_.empty() + !count_.empty();
        if (kinds != 1)
            throw UsageError(kinds == 0
                                 ? "choose a window: --tumbling SIZE, --sliding SIZE --every SLIDE, "
                                   "--session GAP or --count N"
                                 : "choose one window kind: --tumbling, --sliding, --session or --count");
        if (!tumbling_.empty()) {
            spec.kind = WindowKind::tumbling;
            spec.size = spec.slide = positive_duration("--tumbling", tumbling_);
        } else if (!sliding_.empty()) {
            spec.kind = WindowKind::sliding;
            spec.size = positive_duration("--sliding", sliding_);
            if (every_.empty())
                throw UsageError("--sliding needs --every SLIDE (e.g. --sliding 10m --every 1m)");
            spec.slide = positive_duration("--every", every_);
            if (spec.slide > spec.size)
                throw UsageError("--every must not exceed the --sliding size (records between windows would "
                                 "belong to none)");
            if (static_cast<std::uint64_t>((spec.size + spec.slide - 1) / spec.slide) >
                max_windows_per_record)
                throw UsageError("--sliding SIZE / --every SLIDE is over " +
                                 std::to_string(max_windows_per_record) + " windows per record");
        } else if (!session_.empty()) {
            spec.kind = WindowKind::session;
            spec.gap = positive_duration("--session", session_);
        } else {
            spec.kind = WindowKind::count;
            spec.count = positive_count("--count", count_);
            spec.every = every_.empty() ? spec.count : positive_count("--every", every_);
            if (spec.count / std::gcd(spec.count, spec.every) > max_windows_per_record)
                throw UsageError("--count N --every M keeps N / gcd(N, M) partial results per key; over " +
                                 std::to_string(max_windows_per_record));
        }
        if (!every_.empty() && (spec.kind == WindowKind::tumbling || spec.kind == WindowKind::session))
            throw UsageError("--every goes with --sliding or --count");
        if (!lateness_.empty()) {
            const auto d = parse_duration(lateness_);
            if (!d || *d < 0) throw UsageError("--allowed-lateness: not a duration: '" + lateness_ + "'");
            spec.lateness = *d;
        }
        if (spec.kind == WindowKind::count) {
            std::string flag = !lateness_.empty()                 ? "--allowed-lateness"
                               : !common.max_delay.empty()        ? "--max-delay"
                               : !common.idle_timeout.empty()     ? "--idle-timeout"
                               : !common.time.late_output.empty() ? "--late"
                                                                  : "";
            if (!flag.empty())
                throw UsageError(flag + " does not apply to --count windows: they fire on record counts, not "
                                        "event time");
        }
        spec.emit = emit_ == "updates" ? window::EmitMode::updates : window::EmitMode::final;
        spec.collect = collect_;
        options_.aggregates = aggregates_.empty() && !collect_ ? "count()" : aggregates_;
        options_.time = common.time;
    }

    std::unique_ptr<Operator> make_operator(Schema& schema, const CommonOptions&) override {
        if (!keys_.empty()) {
            try {
                options_.keys = parse_path_list(keys_);
            } catch (const SyntaxError& e) {
                throw UsageError(option_syntax_error("-k", keys_, e));
            }
        }
        try {
            return std::make_unique<ops::Window>(options_, schema);
        } catch (const SyntaxError& e) {
            throw UsageError(option_syntax_error("--agg", options_.aggregates, e));
        }
    }

    bool uses_event_time() const override { return true; }

  private:
    std::string keys_, tumbling_, sliding_, session_, count_, every_, aggregates_, lateness_;
    std::string emit_ = "final";
    bool collect_ = false;
    ops::WindowOptions options_;
};

} // namespace

std::unique_ptr<Command> make_window_command() {
    return std::make_unique<WindowCommand>();
}

} // namespace cep::cli
