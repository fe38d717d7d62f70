#include "cep/agg/spec.hpp"

#include <array>
#include <charconv>
#include <cmath>

namespace cep::agg {
namespace {

struct FuncInfo {
    std::string_view name;
    Func func;
};

constexpr std::array<FuncInfo, 11> named_funcs{{{"count", Func::count},
                                                {"sum", Func::sum},
                                                {"avg", Func::avg},
                                                {"min", Func::min},
                                                {"max", Func::max},
                                                {"first", Func::first},
                                                {"last", Func::last},
                                                {"stddev", Func::stddev},
                                                {"distinct", Func::distinct},
                                                {"count_distinct", Func::count_distinct},
                                                {"top", Func::top}}};

bool is_name_start(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_digit(char c) {
    return c >= '0' && c <= '9';
}
bool is_name_char(char c) {
    return is_name_start(c) || is_digit(c);
}

/// Formats a percentile without trailing zeros: 99.9 -> "99.9", 50 -> "50".
std::string format_percentile(double p) {
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, p);
    return std::string(buf, end);
}

class Parser {
  public:
    explicit Parser(std::string_view text) : text_(text) {}

    std::vector<AggSpec> parse() {
        std::vector<AggSpec> specs;
        skip_space();
        if (pos_ == text_.size()) throw SyntaxError(1, "expected at least one aggregate, e.g. 'count()'");
        for (;;) {
            specs.push_back(item());
            skip_space();
            if (pos_ == text_.size()) break;
            if (text_[pos_] != ',') throw SyntaxError(pos_ + 1, "expected ',' between aggregates");
            ++pos_;
            skip_space();
        }
        for (std::size_t i = 0; i < specs.size(); ++i)
            for (std::size_t j = 0; j < i; ++j)
                if (specs[i].name == specs[j].name)
                    throw SyntaxError(specs[i].column, "duplicate output name '" + specs[i].name +
                                                           "'; rename one with 'as NAME'");
        return specs;
    }

  private:
    AggSpec item() {
        AggSpec spec;
        spec.column = pos_ + 1;
        const std::size_t start = pos_;
        // Function names may contain dots for percentiles such as p99.9.
        while (pos_ < text_.size() && (is_name_char(text_[pos_]) || text_[pos_] == '.'))
            ++pos_;
        const std::string_view name = text_.substr(start, pos_ - start);
        if (name.empty())
            throw SyntaxError(pos_ + 1, "expected an aggregate function, e.g. count() or sum(price)");
        resolve(name, spec);
        skip_space();
        if (pos_ >= text_.size() || text_[pos_] != '(')
            throw SyntaxError(pos_ + 1, "expected '(' after '" + std::string(name) + "'");
        ++pos_;
        skip_space();
        arguments(spec, name, start);
        skip_space();
        if (pos_ >= text_.size() || text_[pos_] != ')') throw SyntaxError(pos_ + 1, "expected ')'");
        ++pos_;
        spec.name = default_name(spec);
        skip_space();
        if (text_.substr(pos_).starts_with("as") && pos_ + 2 <= text_.size() &&
            (pos_ + 2 == text_.size() || !is_name_char(text_[pos_ + 2]))) {
            pos_ += 2;
            skip_space();
            spec.name = output_name();
        }
        return spec;
    }

    void resolve(std::string_view name, AggSpec& spec) {
        for (const auto& f : named_funcs) {
            if (f.name == name) {
                spec.func = f.func;
                return;
            }
        }
        // pNN or pNN.N: a percentile between 0 and 100.
        if (name.size() > 1 && name[0] == 'p' && is_digit(name[1])) {
            const std::string_view digits = name.substr(1);
            double p = 0;
            auto [ptr, ec] =
                std::from_chars(digits.data(), digits.data() + digits.size(), p, std::chars_format::fixed);
            if (ec == std::errc() && ptr == digits.data() + digits.size() && digits.back() != '.') {
                if (p < 0 || p > 100)
                    throw SyntaxError(spec.column, "percentile must be between p0 and p100, got '" +
                                                       std::string(name) + "'");
                spec.func = Func::percentile;
                spec.percentile = p;
                return;
            }
        }
        throw SyntaxError(spec.column,
                          "unknown aggregate function '" + std::string(name) +
                              "' (known: count, sum, avg, min, max, first, last, stddev, distinct, "
                              "count_distinct, top, pNN)");
    }

    void arguments(AggSpec& spec, std::string_view name, std::size_t name_start) {
        const bool empty = pos_ < text_.size() && text_[pos_] == ')';
        if (spec.func == Func::count) {
            if (empty) return;
            // count(*) is SQL's spelling of count().
            if (text_[pos_] == '*') {
                ++pos_;
                return;
            }
            spec.path = path();
            return;
        }
        if (spec.func == Func::top) {
            if (empty) throw SyntaxError(pos_ + 1, "top takes two arguments: top(N, path)");
            const std::size_t n_start = pos_;
            std::uint64_t n = 0;
            auto [ptr, ec] = std::from_chars(text_.data() + pos_, text_.data() + text_.size(), n);
            if (ec != std::errc() || n == 0 || n > 100000)
                throw SyntaxError(n_start + 1, "top(N, path): N must be a whole number from 1 to 100000");
            pos_ = static_cast<std::size_t>(ptr - text_.data());
            skip_space();
            if (pos_ >= text_.size() || text_[pos_] != ',')
                throw SyntaxError(pos_ + 1, "top takes two arguments: top(N, path)");
            ++pos_;
            skip_space();
            spec.top_n = static_cast<std::uint32_t>(n);
            spec.path = path();
            return;
        }
        if (empty)
            throw SyntaxError(name_start + 1, std::string(name) + " takes one argument, a field path: " +
                                                  std::string(name) + "(price)");
        spec.path = path();
        skip_space();
        if (pos_ < text_.size() && text_[pos_] == ',')
            throw SyntaxError(pos_ + 1, std::string(name) + " takes one argument");
    }

    Path path() {
        if (pos_ >= text_.size()) throw SyntaxError(pos_ + 1, "expected a field path");
        return parse_path_prefix(text_, pos_);
    }

    std::string output_name() {
        if (pos_ < text_.size() && text_[pos_] == '"') {
            const std::size_t open = pos_++;
            std::string out;
            while (pos_ < text_.size() && text_[pos_] != '"') {
                if (text_[pos_] == '\\' && pos_ + 1 < text_.size()) ++pos_;
                out += text_[pos_++];
            }
            if (pos_ >= text_.size()) throw SyntaxError(open + 1, "unterminated name");
            ++pos_;
            if (out.empty()) throw SyntaxError(open + 1, "empty output name");
            return out;
        }
        const std::size_t start = pos_;
        if (pos_ < text_.size() && is_name_start(text_[pos_]))
            while (pos_ < text_.size() && (is_name_char(text_[pos_]) || text_[pos_] == '-'))
                ++pos_;
        if (pos_ == start) throw SyntaxError(pos_ + 1, "expected an output name after 'as'");
        return std::string(text_.substr(start, pos_ - start));
    }

    void skip_space() {
        while (pos_ < text_.size() &&
               (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' || text_[pos_] == '\r'))
            ++pos_;
    }

    std::string_view text_;
    std::size_t pos_ = 0;
};

std::string name_part(std::string_view text) {
    std::string out;
    for (char c : text)
        out += is_name_char(c) ? c : '_';
    return out;
}

} // namespace

std::string_view func_name(Func func) {
    for (const auto& f : named_funcs)
        if (f.func == func) return f.name;
    return "p";
}

std::string path_to_name(const Path& path) {
    std::string out;
    for (const auto& step : path.steps) {
        if (!out.empty()) out += '_';
        out += step.type == PathStep::Type::key ? name_part(step.key) : std::to_string(step.index);
    }
    return out;
}

std::string default_name(const AggSpec& spec) {
    // Built with += : GCC 12 warns (-Wrestrict, a false positive) on "literal" + std::string.
    std::string out;
    if (spec.func == Func::percentile) {
        out = 'p';
        out += name_part(format_percentile(spec.percentile));
    } else {
        out = func_name(spec.func);
        if (spec.func == Func::top) out += std::to_string(spec.top_n);
    }
    if (spec.path) {
        out += '_';
        out += path_to_name(*spec.path);
    }
    return out;
}

std::string AggSpec::to_string() const {
    std::string out;
    if (func == Func::percentile) {
        out = 'p';
        out += format_percentile(percentile);
    } else {
        out = func_name(func);
    }
    out += '(';
    if (func == Func::top) out += std::to_string(top_n) + ", ";
    if (path) out += path->to_string();
    out += ") as ";
    bool plain = !name.empty() && is_name_start(name[0]);
    for (char c : name)
        plain = plain && (is_name_char(c) || c == '-');
    if (plain) {
        out += name;
    } else {
        out += '"';
        for (char c : name) {
            if (c == '"' || c == '\\') out += '\\';
            out += c;
        }
        out += '"';
    }
    return out;
}

std::string to_string(const std::vector<AggSpec>& specs) {
    std::string out;
    for (const auto& spec : specs) {
        if (!out.empty()) out += ", ";
        out += spec.to_string();
    }
    return out;
}

std::vector<AggSpec> parse_agg_specs(std::string_view text) {
    return Parser(text).parse();
}

} // namespace cep::agg
