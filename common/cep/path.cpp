#include "cep/path.hpp"

#include <charconv>

namespace cep {
namespace {

bool is_ident_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$' || c == '@'; }
bool is_ident_char(char c) { return is_ident_start(c) || (c >= '0' && c <= '9') || c == '-'; }

std::string parse_quoted(std::string_view text, std::size_t& pos) {
    const char quote = text[pos];
    const std::size_t start = pos;
    ++pos;
    std::string out;
    while (pos < text.size() && text[pos] != quote) {
        if (text[pos] == '\\' && pos + 1 < text.size()) {
            ++pos;
            switch (text[pos]) {
            case 'n': out += '\n'; break;
            case 't': out += '\t'; break;
            case 'r': out += '\r'; break;
            default: out += text[pos]; break;
            }
        } else {
            out += text[pos];
        }
        ++pos;
    }
    if (pos >= text.size()) throw SyntaxError(start + 1, "unterminated string");
    ++pos;
    return out;
}

} // namespace

std::string Path::to_string() const {
    std::string out;
    for (const auto& step : steps) {
        if (step.type == PathStep::Type::index) {
            out += '[' + std::to_string(step.index) + ']';
            continue;
        }
        bool plain = !step.key.empty() && is_ident_start(step.key[0]);
        for (char c : step.key) plain = plain && is_ident_char(c);
        if (plain) {
            if (!out.empty()) out += '.';
            out += step.key;
        } else {
            out += "[\"";
            for (char c : step.key) {
                if (c == '"' || c == '\\') out += '\\';
                out += c;
            }
            out += "\"]";
        }
    }
    return out;
}

Path parse_path_prefix(std::string_view text, std::size_t& pos) {
    Path path;
    if (pos < text.size() && text[pos] == '.') ++pos;
    bool need_key = true; // at start or after '.'
    while (pos < text.size()) {
        const char c = text[pos];
        if (need_key) {
            if (c == '[' || c == '"' ) {
                // `.["key"]` or `."key"` handled below / as quoted key
                if (c == '"') {
                    path.steps.push_back({PathStep::Type::key, parse_quoted(text, pos), 0});
                    need_key = false;
                    continue;
                }
            } else if (is_ident_start(c)) {
                const std::size_t start = pos;
                while (pos < text.size() && is_ident_char(text[pos])) ++pos;
                path.steps.push_back({PathStep::Type::key, std::string(text.substr(start, pos - start)), 0});
                need_key = false;
                continue;
            } else {
                throw SyntaxError(pos + 1, "expected a field name");
            }
        }
        if (c == '.') {
            ++pos;
            need_key = true;
            continue;
        }
        if (c == '[') {
            const std::size_t open = pos;
            ++pos;
            while (pos < text.size() && text[pos] == ' ') ++pos;
            if (pos < text.size() && (text[pos] == '"' || text[pos] == '\'')) {
                path.steps.push_back({PathStep::Type::key, parse_quoted(text, pos), 0});
            } else {
                std::size_t index = 0;
                auto [ptr, ec] = std::from_chars(text.data() + pos, text.data() + text.size(), index);
                if (ec != std::errc()) throw SyntaxError(pos + 1, "expected an array index or a quoted key");
                pos = static_cast<std::size_t>(ptr - text.data());
                path.steps.push_back({PathStep::Type::index, {}, index});
            }
            while (pos < text.size() && text[pos] == ' ') ++pos;
            if (pos >= text.size() || text[pos] != ']') throw SyntaxError(open + 1, "unclosed '['");
            ++pos;
            need_key = false;
            continue;
        }
        break;
    }
    if (need_key) throw SyntaxError(pos + 1, "expected a field name");
    return path;
}

Path parse_path(std::string_view text) {
    std::size_t pos = 0;
    Path path = parse_path_prefix(text, pos);
    if (pos != text.size()) throw SyntaxError(pos + 1, "unexpected character in path");
    return path;
}

std::vector<Path> parse_path_list(std::string_view text) {
    std::vector<Path> paths;
    std::size_t pos = 0;
    while (pos < text.size()) {
        while (pos < text.size() && text[pos] == ' ') ++pos;
        paths.push_back(parse_path_prefix(text, pos));
        while (pos < text.size() && text[pos] == ' ') ++pos;
        if (pos < text.size()) {
            if (text[pos] != ',') throw SyntaxError(pos + 1, "expected ',' between paths");
            ++pos;
        }
    }
    if (paths.empty()) throw SyntaxError(1, "expected at least one path");
    return paths;
}

} // namespace cep
