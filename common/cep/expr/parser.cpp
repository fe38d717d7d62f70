// The text language: lexer, recursive-descent parser (one function per precedence level),
// compile(), and the caret-style error formatting.
//
//   or     := and (('||' | 'or') and)*
//   and    := not (('&&' | 'and') not)*
//   not    := ('!' | 'not') not | cmp
//   cmp    := add [('==' | '!=' | '<' | '<=' | '>' | '>=') add | ['not'] 'in' (list | add)]
//   add    := mul (('+' | '-') mul)*
//   mul    := unary (('*' | '/' | '%') unary)*
//   unary  := '-' unary | primary
//   primary:= literal | path | name '(' [or (',' or)*] ')' | '(' or ')'
//   list   := '[' [or (',' or)*] ']'

#include "cep/expr/expression.hpp"
#include "cep/expr/node.hpp"

#include <charconv>

namespace cep::expr {
namespace {

enum class Tok : std::uint8_t {
    end,
    number,
    string,
    path,
    name,
    kw_true,
    kw_false,
    kw_null,
    kw_in,
    kw_not, // `not` or `!`
    and_,
    or_,
    eq,
    ne,
    lt,
    le,
    gt,
    ge,
    plus,
    minus,
    star,
    slash,
    percent,
    lparen,
    rparen,
    lbracket,
    rbracket,
    comma,
};

struct Token {
    Tok type = Tok::end;
    std::size_t pos = 0; // byte offset of the first character
    std::string_view text;
    Value value;         // number and string literals
    std::string decoded; // string literal contents (value.text points here once stored)
    Path path;
};

// The same character classes as parse_path_prefix, so a word the lexer scans is the path it parses.
bool ident_start(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$' || c == '@';
}
bool ident_char(char c) {
    return ident_start(c) || (c >= '0' && c <= '9') || c == '-';
}
bool is_digit(char c) {
    return c >= '0' && c <= '9';
}
bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

class Lexer {
  public:
    explicit Lexer(std::string_view src) : src_(src) {}

    std::vector<Token> run() {
        std::vector<Token> tokens;
        for (;;) {
            while (pos_ < src_.size() && is_space(src_[pos_]))
                ++pos_;
            Token token;
            token.pos = pos_;
            if (pos_ >= src_.size()) {
                tokens.push_back(std::move(token));
                return tokens;
            }
            lex(token);
            token.text = src_.substr(token.pos, pos_ - token.pos);
            tokens.push_back(std::move(token));
        }
    }

  private:
    [[noreturn]] void fail(std::size_t pos, const std::string& message) {
        throw SyntaxError(pos + 1, message);
    }

    void lex(Token& token) {
        const char c = src_[pos_];
        if (is_digit(c)) return number(token);
        if (c == '"' || c == '\'') return string(token);
        if (ident_start(c)) return word(token);
        if (c == '.') {
            token.type = Tok::path;
            token.path = parse_path_prefix(src_, pos_);
            return;
        }
        const char next = pos_ + 1 < src_.size() ? src_[pos_ + 1] : '\0';
        const auto two = [&](Tok type) {
            token.type = type;
            pos_ += 2;
        };
        const auto one = [&](Tok type) {
            token.type = type;
            pos_ += 1;
        };
        switch (c) {
        case '=':
            if (next == '=') return two(Tok::eq);
            fail(pos_, "unexpected '='; did you mean '=='?");
        case '!':
            if (next == '=') return two(Tok::ne);
            return one(Tok::kw_not);
        case '<':
            if (next == '=') return two(Tok::le);
            return one(Tok::lt);
        case '>':
            if (next == '=') return two(Tok::ge);
            return one(Tok::gt);
        case '&':
            if (next == '&') return two(Tok::and_);
            fail(pos_, "unexpected '&'; did you mean '&&'?");
        case '|':
            if (next == '|') return two(Tok::or_);
            fail(pos_, "unexpected '|'; did you mean '||'?");
        case '+':
            return one(Tok::plus);
        case '-':
            return one(Tok::minus);
        case '*':
            return one(Tok::star);
        case '/':
            return one(Tok::slash);
        case '%':
            return one(Tok::percent);
        case '(':
            return one(Tok::lparen);
        case ')':
            return one(Tok::rparen);
        case '[':
            return one(Tok::lbracket);
        case ']':
            return one(Tok::rbracket);
        case ',':
            return one(Tok::comma);
        default:
            break;
        }
        if (static_cast<unsigned char>(c) >= 0x80)
            fail(pos_, "unexpected non-ASCII character; quote strings");
        fail(pos_, std::string("unexpected character '") + c + "'");
    }

    void number(Token& token) {
        const std::size_t start = pos_;
        bool integral = true;
        while (pos_ < src_.size() && is_digit(src_[pos_]))
            ++pos_;
        if (pos_ < src_.size() && src_[pos_] == '.') {
            ++pos_;
            if (pos_ >= src_.size() || !is_digit(src_[pos_]))
                fail(pos_, "expected a digit after '.' in a number");
            while (pos_ < src_.size() && is_digit(src_[pos_]))
                ++pos_;
            integral = false;
        }
        if (pos_ < src_.size() && (src_[pos_] == 'e' || src_[pos_] == 'E')) {
            ++pos_;
            if (pos_ < src_.size() && (src_[pos_] == '+' || src_[pos_] == '-')) ++pos_;
            if (pos_ >= src_.size() || !is_digit(src_[pos_])) fail(pos_, "expected a digit in the exponent");
            while (pos_ < src_.size() && is_digit(src_[pos_]))
                ++pos_;
            integral = false;
        }
        // `3-2` is a subtraction, so only letters and dots make a number malformed.
        if (pos_ < src_.size() && (ident_start(src_[pos_]) || src_[pos_] == '.'))
            fail(pos_, "unexpected character after a number");
        token.type = Tok::number;
        token.value = number_value(src_.substr(start, pos_ - start), integral);
    }

    void string(Token& token) {
        const char quote = src_[pos_];
        const std::size_t start = pos_++;
        std::string& out = token.decoded;
        for (;;) {
            if (pos_ >= src_.size()) fail(start, "unterminated string");
            const char c = src_[pos_];
            if (c == quote) break;
            if (c != '\\') {
                out += c;
                ++pos_;
                continue;
            }
            const std::size_t escape = pos_;
            if (pos_ + 1 >= src_.size()) fail(start, "unterminated string");
            const char e = src_[pos_ + 1];
            pos_ += 2;
            switch (e) {
            case 'n':
                out += '\n';
                break;
            case 't':
                out += '\t';
                break;
            case 'r':
                out += '\r';
                break;
            case 'b':
                out += '\b';
                break;
            case 'f':
                out += '\f';
                break;
            case '/':
                out += '/';
                break;
            case '\\':
                out += '\\';
                break;
            case '"':
                out += '"';
                break;
            case '\'':
                out += '\'';
                break;
            case 'u': {
                std::uint32_t cp = hex4(escape);
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    // A high surrogate must be followed by `\uDC00`-`\uDFFF`; the pair is one code point.
                    if (pos_ + 1 >= src_.size() || src_[pos_] != '\\' || src_[pos_ + 1] != 'u')
                        fail(escape, "unpaired surrogate in \\u escape");
                    const std::size_t second = pos_;
                    pos_ += 2;
                    const std::uint32_t low = hex4(second);
                    if (low < 0xDC00 || low > 0xDFFF) fail(second, "unpaired surrogate in \\u escape");
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                    fail(escape, "unpaired surrogate in \\u escape");
                }
                append_utf8(out, cp);
                break;
            }
            default:
                fail(escape, std::string("unknown escape '\\") + e + "' in string");
            }
        }
        ++pos_; // the closing quote
        token.type = Tok::string;
        token.value = Value::of_string({}); // text is set once the token has its final address
    }

    /// Four hex digits after `\u` (pos_ is just past the `u`); `escape` is the backslash.
    std::uint32_t hex4(std::size_t escape) {
        if (pos_ + 4 > src_.size()) fail(escape, "\\u needs four hex digits");
        std::uint32_t cp = 0;
        auto [ptr, ec] = std::from_chars(src_.data() + pos_, src_.data() + pos_ + 4, cp, 16);
        if (ec != std::errc() || ptr != src_.data() + pos_ + 4) fail(escape, "\\u needs four hex digits");
        pos_ += 4;
        return cp;
    }

    void word(Token& token) {
        const std::size_t start = pos_;
        while (pos_ < src_.size() && ident_char(src_[pos_]))
            ++pos_;
        const std::string_view w = src_.substr(start, pos_ - start);
        if (w == "true")
            token.type = Tok::kw_true;
        else if (w == "false")
            token.type = Tok::kw_false;
        else if (w == "null")
            token.type = Tok::kw_null;
        else if (w == "and")
            token.type = Tok::and_;
        else if (w == "or")
            token.type = Tok::or_;
        else if (w == "not")
            token.type = Tok::kw_not;
        else if (w == "in")
            token.type = Tok::kw_in;
        if (token.type != Tok::end) return;
        std::size_t after = pos_;
        while (after < src_.size() && is_space(src_[after]))
            ++after;
        if (after < src_.size() && src_[after] == '(') {
            token.type = Tok::name;
            return;
        }
        pos_ = start;
        token.type = Tok::path;
        token.path = parse_path_prefix(src_, pos_);
    }

    std::string_view src_;
    std::size_t pos_ = 0;

  public:
    /// An integer literal that does not fit int64 becomes a double, as in JSON.
    static Value number_value(std::string_view text, bool integral) {
        if (integral) {
            std::int64_t i = 0;
            auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), i);
            if (ec == std::errc() && ptr == text.data() + text.size()) return Value::of_int(i);
        }
        double d = 0;
        std::from_chars(text.data(), text.data() + text.size(), d);
        return Value::of_double(d);
    }
};

bool is_comparison(Tok t) {
    return t >= Tok::eq && t <= Tok::ge;
}

class Parser {
  public:
    Parser(std::string_view src, Builder& builder) : src_(src), builder_(builder), tokens_(Lexer(src).run()) {
        for (auto& token : tokens_)
            if (token.type == Tok::string) token.value.text = token.decoded;
    }

    NodePtr parse() {
        if (peek().type == Tok::end) fail(peek(), "expected an expression");
        NodePtr node;
        try {
            node = parse_or();
        } catch (const TooDeep&) {
            fail(peek(), "expression too deep (more than " + std::to_string(Builder::max_height) +
                             " nested operators)");
        }
        const Token& t = peek();
        if (t.type == Tok::rparen) fail(t, "unmatched ')'");
        if (t.type != Tok::end) fail(t, "expected an operator, found " + describe(t));
        return node;
    }

  private:
    const Token& peek(std::size_t ahead = 0) const {
        return tokens_[std::min(at_ + ahead, tokens_.size() - 1)];
    }
    const Token& advance() { return tokens_[at_ < tokens_.size() - 1 ? at_++ : at_]; }

    [[noreturn]] void fail(const Token& t, const std::string& message) const {
        throw SyntaxError(t.pos + 1, message);
    }

    static std::string describe(const Token& t) {
        if (t.type == Tok::end) return "the end";
        // Appending, not `"'" + std::string(...)`, which trips a GCC 12 -Wrestrict false positive.
        std::string out = "'";
        out += t.text.size() > 20 ? t.text.substr(0, 17) : t.text;
        out += t.text.size() > 20 ? "...'" : "'";
        return out;
    }

    /// An operand was due at the current token.
    [[noreturn]] void expected_operand() const {
        const Token& t = peek();
        if (at_ == 0) fail(t, "expected an expression, found " + describe(t));
        std::string message = "expected an operand after '" + std::string(tokens_[at_ - 1].text) + "'";
        if (t.type != Tok::end) message += ", found " + describe(t);
        fail(t, message);
    }

    /// Counts nesting (parentheses, calls, lists, prefix operators) while it is parsed: the parser
    /// recurses once per level, and a pathological expression must not overflow the stack.
    class Nest {
      public:
        explicit Nest(Parser& parser) : parser_(parser) {
            if (++parser_.nesting_ > max_nesting)
                parser_.fail(parser_.peek(), "expression nested too deeply (more than " +
                                                 std::to_string(max_nesting) + " levels)");
        }
        ~Nest() { --parser_.nesting_; }
        Nest(const Nest&) = delete;
        Nest& operator=(const Nest&) = delete;

      private:
        Parser& parser_;
    };
    static constexpr std::size_t max_nesting = 200;

    NodePtr parse_or() {
        const Nest nest(*this);
        NodePtr lhs = parse_and();
        while (peek().type == Tok::or_) {
            advance();
            lhs = builder_.any(std::move(lhs), parse_and());
        }
        return lhs;
    }

    NodePtr parse_and() {
        NodePtr lhs = parse_not();
        while (peek().type == Tok::and_) {
            advance();
            lhs = builder_.all(std::move(lhs), parse_not());
        }
        return lhs;
    }

    NodePtr parse_not() {
        if (peek().type == Tok::kw_not) {
            advance();
            const Nest nest(*this);
            return builder_.negation(parse_not());
        }
        return parse_comparison();
    }

    bool at_in() const {
        return peek().type == Tok::kw_in || (peek().type == Tok::kw_not && peek(1).type == Tok::kw_in);
    }

    NodePtr parse_comparison() {
        NodePtr lhs = parse_additive();
        NodePtr node;
        if (is_comparison(peek().type)) {
            const Tok op = advance().type;
            node = builder_.compare(static_cast<CmpOp>(static_cast<int>(op) - static_cast<int>(Tok::eq)),
                                    std::move(lhs), parse_additive());
        } else if (at_in()) {
            const bool negated = peek().type == Tok::kw_not;
            if (negated) advance();
            advance(); // `in`
            if (peek().type == Tok::lbracket) {
                node = builder_.in_list(std::move(lhs), parse_list());
            } else {
                node = builder_.in_value(std::move(lhs), parse_additive());
            }
            if (negated) node = builder_.negation(std::move(node));
        } else {
            return lhs;
        }
        if (is_comparison(peek().type) || at_in())
            fail(peek(), "comparison operators do not chain; add parentheses");
        return node;
    }

    std::vector<NodePtr> parse_list() {
        const Token& open = advance();
        std::vector<NodePtr> items;
        if (peek().type == Tok::rbracket) {
            advance();
            return items;
        }
        for (;;) {
            items.push_back(parse_or());
            const Token& t = peek();
            if (t.type == Tok::rbracket) {
                advance();
                return items;
            }
            if (t.type != Tok::comma)
                fail(t, "expected ',' or ']' in the list opened at column " + std::to_string(open.pos + 1) +
                            ", found " + describe(t));
            advance();
        }
    }

    NodePtr parse_additive() {
        NodePtr lhs = parse_multiplicative();
        while (peek().type == Tok::plus || peek().type == Tok::minus) {
            const ArithOp op = advance().type == Tok::plus ? ArithOp::add : ArithOp::sub;
            lhs = builder_.arithmetic(op, std::move(lhs), parse_multiplicative());
        }
        return lhs;
    }

    NodePtr parse_multiplicative() {
        NodePtr lhs = parse_unary();
        for (;;) {
            const Tok t = peek().type;
            if (t != Tok::star && t != Tok::slash && t != Tok::percent) return lhs;
            advance();
            const ArithOp op = t == Tok::star ? ArithOp::mul : t == Tok::slash ? ArithOp::div : ArithOp::mod;
            lhs = builder_.arithmetic(op, std::move(lhs), parse_unary());
        }
    }

    NodePtr parse_unary() {
        if (peek().type != Tok::minus) return parse_primary();
        advance();
        // `-9223372036854775808` is an int64 although its digits alone are not.
        if (peek().type == Tok::number && peek().text.find_first_of(".eE") == std::string_view::npos) {
            const Token& t = advance();
            std::string negative = "-";
            negative += t.text;
            return builder_.literal(Lexer::number_value(negative, true));
        }
        const Nest nest(*this);
        return builder_.minus(parse_unary());
    }

    NodePtr parse_primary() {
        const Token& t = peek();
        switch (t.type) {
        case Tok::number:
        case Tok::string:
            advance();
            return builder_.literal(t.value);
        case Tok::kw_true:
            advance();
            return builder_.literal(Value::of_bool(true));
        case Tok::kw_false:
            advance();
            return builder_.literal(Value::of_bool(false));
        case Tok::kw_null:
            advance();
            return builder_.literal(Value::null());
        case Tok::path:
            advance();
            return builder_.field(t.path);
        case Tok::name:
            return parse_call();
        case Tok::lparen: {
            advance();
            if (peek().type == Tok::rparen) expected_operand();
            NodePtr inner = parse_or();
            if (peek().type != Tok::rparen)
                fail(peek(), "expected ')' to close the '(' at column " + std::to_string(t.pos + 1) +
                                 ", found " + describe(peek()));
            advance();
            return inner;
        }
        case Tok::lbracket:
            fail(t, "a list [...] is only allowed after 'in'");
        default:
            expected_operand();
        }
    }

    NodePtr parse_call() {
        const Token& name = advance();
        const Token& open = advance(); // `(`: the lexer made this a name because one follows
        std::vector<NodePtr> args;
        std::vector<std::size_t> columns;
        if (peek().type != Tok::rparen) {
            for (;;) {
                columns.push_back(peek().pos + 1);
                args.push_back(parse_or());
                if (peek().type == Tok::comma) {
                    advance();
                    continue;
                }
                if (peek().type == Tok::rparen) break;
                fail(peek(), "expected ',' or ')' in the call opened at column " +
                                 std::to_string(open.pos + 1) + ", found " + describe(peek()));
            }
        }
        advance(); // `)`
        try {
            return builder_.call(name.text, std::move(args));
        } catch (const CallError& e) {
            throw SyntaxError(e.argument < columns.size() ? columns[e.argument] : name.pos + 1, e.message);
        }
    }

    std::string_view src_;
    Builder& builder_;
    std::vector<Token> tokens_;
    std::size_t at_ = 0;
    std::size_t nesting_ = 0;
};

} // namespace

Expression::Expression() = default;
Expression::~Expression() = default;
Expression::Expression(Expression&&) noexcept = default;
Expression& Expression::operator=(Expression&&) noexcept = default;

bool Expression::test(const Record& record) const {
    return root_ && root_->test(record, *scratch_);
}

std::vector<std::string> Expression::required_bytes() const {
    std::vector<std::string> out;
    if (root_) root_->required_bytes(out);
    return out;
}

Value Expression::evaluate(const Record& record) const {
    return root_ ? root_->eval(record, *scratch_) : Value::missing();
}

Expression compile(std::string_view source, Schema& schema) {
    Builder builder(schema);
    Expression expression;
    expression.root_ = Parser(source, builder).parse();
    expression.scratch_ = builder.make_scratch();
    expression.source_ = std::string(source);
    return expression;
}

std::string format_syntax_error(std::string_view source, std::size_t column, std::string_view message) {
    const std::size_t offset = std::min(column == 0 ? 0 : column - 1, source.size());
    const std::size_t line_start = offset == 0 ? std::string_view::npos : source.rfind('\n', offset - 1);
    const std::size_t begin = line_start == std::string_view::npos ? 0 : line_start + 1;
    std::size_t end = source.find('\n', begin);
    if (end == std::string_view::npos) end = source.size();
    std::string_view line = source.substr(begin, end - begin);
    if (line.ends_with('\r')) line.remove_suffix(1);
    std::size_t line_number = 1;
    for (std::size_t i = 0; i < begin; ++i)
        line_number += source[i] == '\n';

    std::string out = "expression:" + std::to_string(line_number) + ":" + std::to_string(offset - begin + 1) +
                      ": " + std::string(message) + "\n  " + std::string(line) + "\n  ";
    // One caret column per displayed character: keep tabs, skip UTF-8 continuation bytes.
    for (std::size_t i = begin; i < offset && i < begin + line.size(); ++i) {
        const auto c = static_cast<unsigned char>(source[i]);
        if ((c & 0xC0) == 0x80) continue;
        out += c == '\t' ? '\t' : ' ';
    }
    out += '^';
    return out;
}

} // namespace cep::expr
