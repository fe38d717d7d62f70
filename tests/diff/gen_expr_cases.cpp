// Generates a differential test of the expression language against jq: random records with
// mixed types per field, and random expressions, each with a jq translation that must select
// the same records. run.sh runs both and compares.
//
//   cep-diff-gen [--records N] [--expressions M] [--seed S] DIR
//
// writes DIR/records.ndjson, DIR/cases.tsv (one `cep expression <TAB> jq condition` per line)
// and DIR/prelude.jq (helpers the jq conditions use).
//
// The translations spell out cep's rules where jq differs: jq orders values across types,
// treats every non-null non-false value as true, errors on indexing a string, and adds null to
// numbers. Where the two agree (==, != on any values, string and number ordering, and, or) the
// translation is the plain jq operator.

// GCC 12 flags `"(" + std::string` with a false -Wrestrict positive; this file is full of them.
#pragma GCC diagnostic ignored "-Wrestrict"

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <vector>

namespace {

std::mt19937_64 rng;

std::size_t pick(std::size_t n) {
    return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng);
}
bool chance(double p) {
    return std::uniform_real_distribution<double>(0, 1)(rng) < p;
}
template <typename T> const T& one_of(const std::vector<T>& items) {
    return items[pick(items.size())];
}

std::string json_string(const std::string& s) {
    std::string out = "\"";
    for (const char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + '"';
}

// ---- records ----

const std::vector<std::string> int_texts = {"0", "1", "2", "3", "-1", "-2", "5", "10", "-7", "100"};
// Floats, including integral ones (`3.0`, `1e2`) that must equal the integers.
const std::vector<std::string> float_texts = {"0.5", "1.5",  "-2.25", "3.0", "2.0",
                                              "1e2", "-0.5", "2.5",   "-0.0"};
const std::vector<std::string> strings = {"",     "a",           "ab",  "abc", "b",        "ba",
                                          "A",    "ABC",         "Abc", "é",   "aé",       "a b",
                                          "x\"y", "back\\slash", "kr",  "KR",  "level_up", "3"};

std::string scalar(char main_type) {
    // Mostly the field's usual type, so comparisons hit; often something else, so the type rules
    // are exercised.
    const char type = chance(0.6) ? main_type : "ifsbn"[pick(5)];
    switch (type) {
    case 'i':
        return one_of(int_texts);
    case 'f':
        return one_of(float_texts);
    case 's':
        return json_string(one_of(strings));
    case 'b':
        return chance(0.5) ? "true" : "false";
    default:
        return "null";
    }
}

std::string array_of(char main_type) {
    std::string out = "[";
    const std::size_t n = pick(4);
    for (std::size_t i = 0; i < n; ++i)
        out += (i ? "," : "") + scalar(main_type);
    return out + "]";
}

std::string record(std::size_t id) {
    std::string out = "{\"id\":" + std::to_string(id);
    const auto field = [&](const std::string& name, const std::string& value) {
        out += "," + json_string(name) + ":" + value;
    };
    for (const auto& [name, type] : std::vector<std::pair<std::string, char>>{
             {"a", 'i'}, {"b", 'i'}, {"c", 'f'}, {"s", 's'}, {"t", 's'}, {"flag", 'b'}, {"odd key", 's'}}) {
        if (chance(0.15)) continue; // missing
        field(name, chance(0.05) ? array_of(type) : scalar(type));
    }
    if (!chance(0.15)) {
        if (chance(0.75)) {
            std::string m = "{";
            bool first = true;
            for (const auto& [name, type] :
                 std::vector<std::pair<std::string, char>>{{"x", 'i'}, {"y", 's'}}) {
                if (chance(0.2)) continue;
                m += (first ? "" : ",") + json_string(name) + ":" + scalar(type);
                first = false;
            }
            field("m", m + "}");
        } else {
            field("m", scalar('s')); // not an object: m.x is missing
        }
    }
    if (!chance(0.15)) field("tags", chance(0.85) ? array_of('s') : scalar('s'));
    if (!chance(0.15)) field("arr", chance(0.85) ? array_of('i') : scalar('i'));
    return out + "}";
}

// ---- expressions ----

/// One expression in both languages, with the precedence level of its cep text.
struct Expr {
    std::string cep;
    std::string jq;
    int prec; // 1 `||`, 2 `&&`, 3 `!`, 4 comparison, 5 `+ -`, 6 `* / %`, 7 unary minus, 8 operand
};

Expr wrap_left(const Expr& child, int prec) {
    return {child.prec < prec ? "(" + child.cep + ")" : child.cep, child.jq, child.prec};
}
Expr wrap_right(const Expr& child, int prec) {
    return {child.prec <= prec ? "(" + child.cep + ")" : child.cep, child.jq, child.prec};
}

struct Field {
    std::string cep;
    std::string jq_path; // a jq array for g()/ex()
    char type;
};

const std::vector<Field> fields = {
    {"a", R"(["a"])", 'i'},
    {".a", R"(["a"])", 'i'},
    {"b", R"(["b"])", 'i'},
    {"c", R"(["c"])", 'f'},
    {"s", R"(["s"])", 's'},
    {"t", R"(["t"])", 's'},
    {"flag", R"(["flag"])", 'b'},
    {"m.x", R"(["m","x"])", 'i'},
    {"m.y", R"(["m","y"])", 's'},
    {"m", R"(["m"])", 'o'},
    {"arr[0]", R"(["arr",0])", 'i'},
    {"arr[1]", R"(["arr",1])", 'i'},
    {R"(.["odd key"])", R"(["odd key"])", 's'},
    {"tags", R"(["tags"])", 'a'},
    {"arr", R"(["arr"])", 'a'},
    {"missing", R"(["missing"])", 'i'},
};

Expr field_expr(const Field& f) {
    return {f.cep, "g(" + f.jq_path + ")", 8};
}

const Field& scalar_field() {
    for (;;) {
        const Field& f = one_of(fields);
        if (f.type != 'a' && f.type != 'o') return f;
    }
}

Expr literal(char type) {
    std::string text;
    switch (type) {
    case 'i':
        text = one_of(int_texts);
        break;
    case 'f':
        text = one_of(float_texts);
        break;
    case 's':
        text = json_string(one_of(strings));
        break;
    case 'b':
        text = chance(0.5) ? "true" : "false";
        break;
    default:
        text = "null";
        break;
    }
    // Both languages read JSON literals the same way; negative numbers get parentheses in jq.
    const std::string jq = !text.empty() && text[0] == '-' ? "(" + text + ")" : text;
    return {text, jq, 8};
}

Expr literal_like(char type) {
    return literal(chance(0.75) ? type : "ifsbn"[pick(5)]);
}

Expr value_expr(int depth);

Expr arithmetic(int depth) {
    static const std::vector<std::pair<std::string, int>> ops = {
        {"+", 5}, {"-", 5}, {"*", 6}, {"/", 6}, {"%", 6}};
    const auto& [op, prec] = one_of(ops);
    const Expr lhs = wrap_left(value_expr(depth - 1), prec);
    Expr rhs;
    if (op == "%") {
        rhs = {std::to_string(1 + pick(4)), "", 8}; // jq errors on `% 0`; a literal divisor keeps clear
        rhs.jq = rhs.cep;
    } else {
        rhs = chance(0.5) ? literal_like('i') : value_expr(depth - 1);
    }
    rhs = wrap_right(rhs, prec);
    std::string body;
    if (op == "/")
        body = "if $r == 0 then null else $l / $r end";
    else
        body = "$l " + op + " $r";
    std::string jq = "((" + lhs.jq + ") as $l | (" + rhs.jq +
                     ") as $r | if ($l|type) == \"number\" and ($r|type) == "
                     "\"number\" then " +
                     body;
    if (op == "+") jq += " elif ($l|type) == \"string\" and ($r|type) == \"string\" then $l + $r";
    jq += " else null end)";
    return {lhs.cep + " " + op + " " + rhs.cep, jq, prec};
}

Expr value_expr(int depth) {
    const std::size_t r = pick(10);
    if (depth <= 0 || r < 5) return field_expr(scalar_field());
    if (r < 6) return literal_like(one_of(std::vector<char>{'i', 'f', 's'}));
    if (r < 9) return arithmetic(depth);
    const Expr operand = value_expr(depth - 1);
    const std::string cep =
        operand.prec < 7 || operand.cep[0] == '-' ? "-(" + operand.cep + ")" : "-" + operand.cep;
    return {cep, "((" + operand.jq + ") | if type == \"number\" then 0 - . else null end)", 7};
}

Expr comparison() {
    static const std::vector<std::string> ops = {"==", "!=", "<", "<=", ">", ">="};
    const std::string op = one_of(ops);
    Expr lhs;
    Expr rhs;
    const std::size_t shape = pick(10);
    if (shape < 5) {
        const Field& f = scalar_field();
        lhs = field_expr(f);
        rhs = literal_like(f.type);
    } else if (shape < 6) {
        // Whole objects and arrays: equal as JSON values.
        const Field& f = one_of(fields);
        lhs = field_expr(f);
        rhs = field_expr(one_of(fields));
    } else if (shape < 7) {
        const Field& f = scalar_field();
        lhs = literal_like(f.type);
        rhs = field_expr(f);
    } else {
        lhs = value_expr(2);
        rhs = chance(0.5) ? literal_like('i') : value_expr(1);
    }
    lhs = wrap_left(lhs, 5);
    rhs = wrap_left(rhs, 5);
    std::string jq;
    if (op == "==" || op == "!=") {
        jq = "((" + lhs.jq + ") " + op + " (" + rhs.jq + "))";
    } else {
        jq = "((" + lhs.jq + ") as $l | (" + rhs.jq +
             ") as $r | ((($l|type) == \"number\" and ($r|type) == "
             "\"number\") or (($l|type) == \"string\" and ($r|type) == \"string\")) and $l " +
             op + " $r)";
    }
    return {lhs.cep + " " + op + " " + rhs.cep, jq, 4};
}

Expr membership() {
    const Field& f = scalar_field();
    const Expr needle = chance(0.8) ? field_expr(f) : value_expr(1);
    std::string cep_items;
    std::string jq_items;
    const std::size_t n = pick(5);
    for (std::size_t i = 0; i < n; ++i) {
        const Expr item = chance(0.85) ? literal_like(f.type) : field_expr(scalar_field());
        cep_items += (i ? ", " : "") + item.cep;
        jq_items += (i ? ", " : "") + item.jq;
    }
    const bool negated = chance(0.3);
    std::string jq = "((" + needle.jq + ") as $v | any(" + (n ? jq_items : "empty") + "; . == $v))";
    if (negated) jq = "(" + jq + " | not)";
    return {wrap_left(needle, 5).cep + (negated ? " not in [" : " in [") + cep_items + "]", jq, 4};
}

Expr predicate() {
    const std::size_t which = pick(8);
    const Field& f = scalar_field();
    const Expr subject = chance(0.85) ? field_expr(f) : value_expr(1);
    if (which < 3) {
        static const std::vector<std::string> names = {"startswith", "endswith", "contains"};
        const std::string& name = names[which];
        const Expr prefix = chance(0.9) ? literal('s') : field_expr(scalar_field());
        std::string jq = "((" + subject.jq + ") as $s | (" + prefix.jq +
                         ") as $p | ($s|type) == \"string\" and "
                         "($p|type) == \"string\" and ($s | " +
                         name + "($p)))";
        if (name == "contains") // a field that holds an array: element membership
            jq = "((" + subject.jq + ") as $s | (" + prefix.jq +
                 ") as $p | if ($s|type) == \"array\" then "
                 "any($s[]; . == $p) else ($s|type) == \"string\" and ($p|type) == \"string\" and "
                 "($s | contains($p)) end)";
        return {name + "(" + subject.cep + ", " + prefix.cep + ")", jq, 8};
    }
    if (which < 4) {
        // contains() on an array field: element membership (jq's own contains() is recursive).
        const Field& array = chance(0.5) ? fields[13] : fields[14];
        const Expr needle = literal_like(array.cep == "tags" ? 's' : 'i');
        std::string jq =
            "(g(" + array.jq_path + ") as $s | (" + needle.jq +
            ") as $n | if ($s|type) == \"array\" "
            "then any($s[]; . == $n) elif ($s|type) == \"string\" then ($n|type) == \"string\" and "
            "($s | contains($n)) else false end)";
        return {"contains(" + array.cep + ", " + needle.cep + ")", jq, 8};
    }
    if (which < 5) {
        static const std::vector<std::string> patterns = {"^a", "b$", "a.c",    "^[ab]+$",
                                                          "é",  "^$", "(?i)^a", "\\\\\\\\"};
        const std::string& pattern = one_of(patterns);
        const std::string quoted = "\"" + pattern + "\"";
        std::string jq =
            "((" + subject.jq + ") as $s | ($s|type) == \"string\" and ($s | test(" + quoted + ")))";
        return {"matches(" + subject.cep + ", " + quoted + ")", jq, 8};
    }
    if (which < 6) {
        const Field& any = one_of(fields);
        return {"exists(" + any.cep + ")", "ex(" + any.jq_path + ")", 8};
    }
    if (which < 7) {
        const bool upper = chance(0.5);
        std::string value = "((" + subject.jq + ") | if type == \"string\" then " +
                            (upper ? "ascii_upcase" : "ascii_downcase") + " else null end)";
        const Expr lit = literal_like('s');
        return {std::string(upper ? "upper(" : "lower(") + subject.cep + ") == " + lit.cep,
                "(" + value + " == " + lit.jq + ")", 4};
    }
    const Field& any = one_of(fields);
    const Expr n = literal('i');
    const std::string op = chance(0.5) ? "==" : ">";
    std::string jq = "((g(" + any.jq_path +
                     ") | if type == \"string\" or type == \"array\" or type == \"object\" "
                     "then length else null end) as $l | ($l|type) == \"number\" and $l " +
                     op + " " + n.jq + ")";
    return {"len(" + any.cep + ") " + op + " " + n.cep, jq, 4};
}

Expr atom() {
    const std::size_t r = pick(20);
    if (r < 9) return comparison();
    if (r < 12) return membership();
    if (r < 18) return predicate();
    // A field alone: true only when it is the boolean true.
    const Field& f = chance(0.7) ? fields[6] : scalar_field();
    return {f.cep, "(g(" + f.jq_path + ") == true)", 8};
}

Expr boolean(int depth) {
    if (depth <= 0 || chance(0.3)) return atom();
    const std::size_t r = pick(10);
    if (r < 2) {
        const Expr operand = boolean(depth - 1);
        const std::string bang = chance(0.7) ? "!" : "not ";
        return {bang + (operand.prec >= 3 ? operand.cep : "(" + operand.cep + ")"),
                "((" + operand.jq + ") | not)", 3};
    }
    const bool conj = r < 6;
    const int prec = conj ? 2 : 1;
    const Expr lhs = wrap_left(boolean(depth - 1), prec);
    const Expr rhs = wrap_right(boolean(depth - 1), prec);
    const std::string op = conj ? (chance(0.8) ? "&&" : "and") : (chance(0.8) ? "||" : "or");
    return {lhs.cep + " " + op + " " + rhs.cep,
            "((" + lhs.jq + ") " + (conj ? "and" : "or") + " (" + rhs.jq + "))", prec};
}

const char* prelude =
    // g(path): cep's field lookup, where stepping into a non-object or non-array is missing (null).
    "def g(p): reduce p[] as $k (.; if type == \"object\" and ($k|type) == \"string\" then .[$k] "
    "elif type == \"array\" and ($k|type) == \"number\" then .[$k] else null end);\n"
    // ex(path): cep's exists().
    "def ex(p): p[-1] as $k | g(p[:-1]) | if type == \"object\" and ($k|type) == \"string\" then has($k) "
    "elif type == \"array\" and ($k|type) == \"number\" then $k < length else false end;\n";

} // namespace

int main(int argc, char** argv) {
    std::size_t records = 600;
    std::size_t expressions = 400;
    std::uint64_t seed = 1;
    std::string dir;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (i + 1 < argc && arg == "--records") {
            records = std::stoul(argv[++i]);
        } else if (i + 1 < argc && arg == "--expressions") {
            expressions = std::stoul(argv[++i]);
        } else if (i + 1 < argc && arg == "--seed") {
            seed = std::stoull(argv[++i]);
        } else if (dir.empty() && !arg.starts_with("--")) {
            dir = arg;
        } else {
            std::cerr << "usage: cep-diff-gen [--records N] [--expressions M] [--seed S] DIR\n";
            return 2;
        }
    }
    if (dir.empty()) {
        std::cerr << "usage: cep-diff-gen [--records N] [--expressions M] [--seed S] DIR\n";
        return 2;
    }
    rng.seed(seed);
    std::ofstream out_records(dir + "/records.ndjson");
    for (std::size_t i = 0; i < records; ++i)
        out_records << record(i) << '\n';
    std::ofstream out_cases(dir + "/cases.tsv");
    for (std::size_t i = 0; i < expressions; ++i) {
        const Expr e = boolean(3);
        out_cases << e.cep << '\t' << e.jq << '\n';
    }
    std::ofstream(dir + "/prelude.jq") << prelude;
    if (!out_records || !out_cases) {
        std::cerr << "cep-diff-gen: cannot write to " << dir << '\n';
        return 1;
    }
    return 0;
}
