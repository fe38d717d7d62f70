#include "cep/testing/golden.hpp"

#include "cep/cli/command.hpp"
#include "cep/errors.hpp"
#include "cep/io/byte_source.hpp"
#include "cep/json_writer.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <ostream>
#include <signal.h>
#include <spawn.h>
#include <sstream>
#include <stdexcept>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char** environ;

namespace cep::testing {
namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------------
// Words and lines

std::vector<std::string> split_shell_words(std::string_view text) {
    std::vector<std::string> words;
    std::string word;
    bool in_word = false; // distinguishes an empty quoted word ('') from no word
    std::size_t i = 0;
    while (i < text.size()) {
        const char c = text[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            if (in_word) words.push_back(std::move(word));
            word.clear();
            in_word = false;
            ++i;
            continue;
        }
        if (c == '\'') {
            const std::size_t close = text.find('\'', i + 1);
            if (close == std::string_view::npos)
                throw std::invalid_argument("unterminated single quote at column " + std::to_string(i + 1));
            word.append(text.substr(i + 1, close - i - 1));
            in_word = true;
            i = close + 1;
            continue;
        }
        if (c == '"') {
            const std::size_t open = i++;
            for (;;) {
                if (i >= text.size())
                    throw std::invalid_argument("unterminated double quote at column " +
                                                std::to_string(open + 1));
                const char d = text[i];
                if (d == '"') break;
                if (d == '\\' && i + 1 < text.size()) {
                    const char next = text[i + 1];
                    // Inside double quotes POSIX keeps the backslash unless it escapes one of these.
                    if (next == '"' || next == '\\' || next == '$' || next == '`') {
                        word += next;
                        i += 2;
                        continue;
                    }
                    if (next == '\n') {
                        i += 2;
                        continue;
                    }
                }
                word += d;
                ++i;
            }
            in_word = true;
            ++i;
            continue;
        }
        if (c == '\\') {
            if (i + 1 >= text.size()) throw std::invalid_argument("trailing backslash");
            if (text[i + 1] != '\n') { // backslash-newline joins lines
                word += text[i + 1];
                in_word = true;
            }
            i += 2;
            continue;
        }
        word += c;
        in_word = true;
        ++i;
    }
    if (in_word) words.push_back(std::move(word));
    return words;
}

std::string quote_shell_word(std::string_view word) {
    const bool plain = !word.empty() && std::all_of(word.begin(), word.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || std::strchr("_@%+=:,./-", c) != nullptr;
    });
    if (plain) return std::string(word);
    std::string out = "'";
    for (char c : word) {
        if (c == '\'')
            out += "'\\''";
        else
            out += c;
    }
    out += '\'';
    return out;
}

std::vector<std::string_view> split_lines(std::string_view text) {
    std::vector<std::string_view> lines;
    std::size_t start = 0;
    while (start < text.size()) {
        const std::size_t nl = text.find('\n', start);
        if (nl == std::string_view::npos) {
            lines.push_back(text.substr(start));
            break;
        }
        lines.push_back(text.substr(start, nl - start));
        start = nl + 1;
    }
    return lines;
}

bool json_line_equal(std::string_view expected, std::string_view got) {
    if (expected == got) return true;
    const auto a = nlohmann::json::parse(expected, nullptr, /*allow_exceptions=*/false);
    if (a.is_discarded()) return false;
    const auto b = nlohmann::json::parse(got, nullptr, /*allow_exceptions=*/false);
    if (b.is_discarded()) return false;
    return a == b;
}

std::optional<std::size_t> first_difference(std::string_view expected, std::string_view got, bool exact) {
    if (exact && expected == got) return std::nullopt;
    const auto want = split_lines(expected);
    const auto have = split_lines(got);
    const std::size_t common = std::min(want.size(), have.size());
    for (std::size_t i = 0; i < common; ++i) {
        const bool same = exact ? want[i] == have[i] : json_line_equal(want[i], have[i]);
        if (!same) return i + 1;
    }
    if (want.size() != have.size()) return common + 1;
    // Same lines byte for byte, yet the texts differ: only the final newline can be it.
    if (exact) return std::max<std::size_t>(common, 1);
    return std::nullopt;
}

namespace {

/// A line made printable for a report: control bytes and invalid UTF-8 as escapes.
std::string printable(std::string_view line) {
    const bool utf8 = is_valid_utf8(line);
    std::string out;
    for (char ch : line) {
        const auto c = static_cast<unsigned char>(ch);
        if (c == '\r')
            out += "\\r";
        else if (c == '\t')
            out += "\\t";
        else if (c < 0x20 || c == 0x7f || (c >= 0x80 && !utf8)) {
            static constexpr char hex[] = "0123456789abcdef";
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 15];
        } else
            out += ch;
    }
    return out;
}

/// Display width in code points (continuation bytes take no column).
std::size_t width(std::string_view text) {
    return static_cast<std::size_t>(std::count_if(
        text.begin(), text.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

/// Cuts `text` to at most `columns` code points, marking the cut with `…`.
std::string fit(const std::string& text, std::size_t columns) {
    if (width(text) <= columns) return text + std::string(columns - width(text), ' ');
    std::string out;
    std::size_t used = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const bool starts = (static_cast<unsigned char>(text[i]) & 0xC0) != 0x80;
        if (starts && used == columns - 1) break;
        if (starts) ++used;
        out += text[i];
    }
    return out + "…";
}

} // namespace

std::string side_by_side(std::string_view expected, std::string_view got, std::size_t differing_line) {
    const auto want = split_lines(expected);
    const auto have = split_lines(got);
    const std::size_t total = std::max(want.size(), have.size());
    // Long outputs: a few lines of context before the difference, more after it.
    std::size_t first = 1, last = total;
    if (total > 30) {
        first = differing_line > 5 ? differing_line - 5 : 1;
        last = std::min(total, differing_line + 15);
    }
    std::size_t column = 8; // "expected"
    for (std::size_t n = first; n <= last; ++n)
        if (n <= want.size()) column = std::max(column, width(printable(want[n - 1])));
    column = std::min<std::size_t>(column, 60);
    const std::size_t number_width = std::to_string(std::max<std::size_t>(total, 1)).size();

    std::ostringstream out;
    out << "  " << std::string(number_width, ' ') << "  " << fit("expected", column) << " | got\n";
    if (first > 1) out << "  " << std::string(number_width, ' ') << "  ...\n";
    for (std::size_t n = first; n <= last; ++n) {
        const bool has_want = n <= want.size(), has_have = n <= have.size();
        const std::string left = has_want ? printable(want[n - 1]) : (n == want.size() + 1 ? "<end>" : "");
        const std::string right = has_have ? printable(have[n - 1]) : (n == have.size() + 1 ? "<end>" : "");
        const bool same = has_want && has_have && json_line_equal(want[n - 1], have[n - 1]);
        const char mark = n == differing_line ? '>' : (same ? ' ' : '!');
        std::string number = std::to_string(n);
        number.insert(0, number_width - number.size(), ' ');
        out << mark << ' ' << number << "  " << fit(left, column) << " | " << right << '\n';
    }
    if (total == 0)
        out << "  " << std::string(number_width, ' ') << "  " << fit("<end>", column) << " | <end>\n";
    if (last < total)
        out << "  " << std::string(number_width, ' ') << "  ... (" << total - last << " more lines)\n";
    return out.str();
}

// ---------------------------------------------------------------------------------------------
// Files and processes

namespace {

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error(path.string() + ": cannot read");
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

void write_file(const fs::path& path, std::string_view content) {
    fs::create_directories(path.parent_path());
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    if (!out) throw std::runtime_error(path.string() + ": cannot write");
}

bool is_zstd(std::string_view bytes) {
    return bytes.size() >= 4 && bytes.substr(0, 4) == "\x28\xB5\x2F\xFD";
}

/// The content of a file, decompressed when it is zstd; throws on a corrupt or truncated frame.
std::string read_content(const fs::path& path) {
    auto source = io::open_byte_source(path.string());
    std::string content;
    std::vector<char> chunk(1 << 16);
    while (const std::size_t got = source->read(chunk))
        content.append(chunk.data(), got);
    return content;
}

/// A scratch directory removed with everything in it when the owner is done.
class TempDir {
  public:
    TempDir() {
        const char* base = std::getenv("TMPDIR");
        std::string pattern = std::string(base && *base ? base : "/tmp") + "/cep-golden-XXXXXX";
        if (mkdtemp(pattern.data()) == nullptr)
            throw std::runtime_error("cannot create a temporary directory: " +
                                     std::string(std::strerror(errno)));
        path_ = pattern;
    }
    ~TempDir() {
        if (keep_) return;
        std::error_code ignored; // best effort: a leftover temp dir must not fail the test
        fs::remove_all(path_, ignored);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const fs::path& path() const { return path_; }
    void keep() { keep_ = true; }

  private:
    fs::path path_;
    bool keep_ = false;
};

/// posix_spawn's file actions, released however we leave.
class FileActions {
  public:
    FileActions() { posix_spawn_file_actions_init(&actions_); }
    ~FileActions() { posix_spawn_file_actions_destroy(&actions_); }
    FileActions(const FileActions&) = delete;
    FileActions& operator=(const FileActions&) = delete;
    posix_spawn_file_actions_t* get() { return &actions_; }

  private:
    posix_spawn_file_actions_t actions_;
};

struct Finished {
    int exit_code = -1;
    std::string problem; // set when the command could not run or did not end by itself
};

Finished spawn_and_wait(const fs::path& program, const std::vector<std::string>& args, const fs::path& cwd,
                        const fs::path& stdin_path, const fs::path& stdout_path, const fs::path& stderr_path,
                        const std::vector<std::string>& env_overrides, std::chrono::milliseconds timeout) {
    std::vector<std::string> argv_strings{program.string()};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& arg : argv_strings)
        argv.push_back(arg.data());
    argv.push_back(nullptr);

    // The parent's environment made deterministic, then the case's env lines on top: the
    // caller's CEP_* settings (CEP_WATERMARKS=always, ...) must not change what a case expects,
    // and time zone and locale are pinned.
    std::vector<std::string> settings{"TZ=UTC", "LC_ALL=C"};
    settings.insert(settings.end(), env_overrides.begin(), env_overrides.end());
    auto key_of = [](std::string_view item) { return item.substr(0, item.find('=')); };
    std::vector<std::string> env_strings;
    for (char** entry = environ; *entry != nullptr; ++entry) {
        const std::string_view item(*entry);
        const auto key = key_of(item);
        const bool replaced = std::any_of(settings.begin(), settings.end(),
                                          [&](const std::string& setting) { return key_of(setting) == key; });
        if (!replaced && !key.starts_with("CEP_")) env_strings.emplace_back(item);
    }
    for (const auto& setting : settings) {
        // A later line for the same variable wins (the case's env over the defaults).
        std::erase_if(env_strings, [&](const std::string& item) { return key_of(item) == key_of(setting); });
        env_strings.push_back(setting);
    }
    std::vector<char*> envp;
    for (auto& item : env_strings)
        envp.push_back(item.data());
    envp.push_back(nullptr);

    FileActions actions;
    posix_spawn_file_actions_addopen(actions.get(), STDIN_FILENO, stdin_path.c_str(), O_RDONLY, 0);
    posix_spawn_file_actions_addopen(actions.get(), STDOUT_FILENO, stdout_path.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(actions.get(), STDERR_FILENO, stderr_path.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addchdir_np(actions.get(), cwd.c_str());

    pid_t pid = 0;
    if (const int error =
            posix_spawn(&pid, program.c_str(), actions.get(), nullptr, argv.data(), envp.data()))
        return {-1, "cannot run " + program.string() + ": " + std::strerror(error)};

    // Poll rather than block, so a hanging command is killed instead of hanging the suite.
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    auto pause = std::chrono::microseconds(200);
    int status = 0;
    for (;;) {
        const pid_t done = waitpid(pid, &status, WNOHANG);
        if (done == pid) break;
        if (done < 0 && errno != EINTR) return {-1, std::string("waitpid failed: ") + std::strerror(errno)};
        if (std::chrono::steady_clock::now() > deadline) {
            kill(pid, SIGKILL);
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
            }
            return {128 + SIGKILL, "timed out after " + std::to_string(timeout.count()) + " ms; killed"};
        }
        std::this_thread::sleep_for(pause);
        pause = std::min(pause * 2, std::chrono::microseconds(20'000));
    }
    if (WIFEXITED(status)) return {WEXITSTATUS(status), {}};
    const int sig = WTERMSIG(status);
    return {128 + sig, "killed by signal " + std::to_string(sig) + " (" + strsignal(sig) + ")"};
}

std::vector<std::string> read_env_file(const fs::path& path) {
    std::vector<std::string> env;
    const std::string text = read_file(path);
    for (auto line : split_lines(text)) {
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.empty() || line.front() == '#') continue;
        if (line.find('=') == std::string_view::npos || line.front() == '=')
            throw std::invalid_argument("env: not KEY=VALUE: " + std::string(line));
        env.emplace_back(line);
    }
    return env;
}

/// Relative names of the regular files below `root`, sorted.
std::vector<fs::path> files_below(const fs::path& root) {
    std::vector<fs::path> names;
    if (!fs::is_directory(root)) return names;
    for (const auto& entry : fs::recursive_directory_iterator(root))
        if (entry.is_regular_file()) names.push_back(fs::relative(entry.path(), root));
    std::sort(names.begin(), names.end());
    return names;
}

std::string indent(std::string_view text, std::string_view prefix, std::size_t max_lines) {
    std::string out;
    const auto lines = split_lines(text);
    for (std::size_t i = 0; i < lines.size() && i < max_lines; ++i) {
        out += prefix;
        out += printable(lines[i]);
        out += '\n';
    }
    if (lines.size() > max_lines)
        out += std::string(prefix) + "... (" + std::to_string(lines.size() - max_lines) + " more lines)\n";
    return out;
}

/// Compares `got` with `expected`; on a difference adds a mismatch with the two side by side.
void compare_text(std::string what, std::string_view expected, std::string_view got, bool exact,
                  std::vector<Mismatch>& mismatches) {
    const auto line = first_difference(expected, got, exact);
    if (!line) return;
    std::string detail = side_by_side(expected, got, *line);
    const bool want_nl = !expected.empty() && expected.back() == '\n';
    const bool have_nl = !got.empty() && got.back() == '\n';
    if (exact && want_nl != have_nl)
        detail += std::string("  (expected ") + (want_nl ? "a" : "no") + " final newline, got " +
                  (have_nl ? "one" : "none") + ")\n";
    mismatches.push_back({std::move(what) + " differs at line " + std::to_string(*line), std::move(detail)});
}

/// `cep` or `cep-NAME` of a tool (or a binary of that name in `bin_dir`): the word is the
/// program, not its first argument. No tool takes such a word as its first argument.
bool names_program(const std::string& word, const fs::path& bin_dir) {
    if (word == "cep") return true;
    if (!word.starts_with("cep-") || word.find('/') != std::string::npos) return false;
    return cli::find_tool(std::string_view(word).substr(4)) != nullptr || fs::exists(bin_dir / word);
}

bool is_case(const fs::path& dir) { return fs::exists(dir / "cmd") || fs::exists(dir / "manifest.yaml"); }

} // namespace

// ---------------------------------------------------------------------------------------------
// Cases and suites

CaseResult run_case(const fs::path& dir, const GoldenOptions& options) {
    CaseResult result;
    const fs::path case_dir = fs::absolute(dir).lexically_normal();
    const fs::path tool_dir = (case_dir.filename().empty() ? case_dir.parent_path() : case_dir).parent_path();
    const fs::path case_name =
        case_dir.filename().empty() ? case_dir.parent_path().filename() : case_dir.filename();
    const std::string tool = tool_dir.filename().string();
    result.name = tool + "/" + case_name.string();
    auto broken = [&](std::string problem) {
        result.mismatches.push_back({std::move(problem), {}});
        return result;
    };

    // tests/golden/cep/ holds cases of the front door itself.
    std::string binary = tool == "cep" ? tool : "cep-" + tool;
    std::vector<std::string> args;
    std::vector<std::string> env;
    try {
        if (fs::exists(case_dir / "cmd")) {
            std::string cmd = read_file(case_dir / "cmd");
            args = split_shell_words(cmd);
        } else {
            // A case that is a pipeline: run its manifest.
            binary = "cep";
            args = {"run", "manifest.yaml"};
        }
        // Cases written outside tests/golden/<tool>/ name the program as the first word.
        if (!args.empty() && names_program(args.front(), options.bin_dir)) {
            binary = args.front();
            args.erase(args.begin());
        }
        if (fs::exists(case_dir / "env")) env = read_env_file(case_dir / "env");
    } catch (const std::exception& e) {
        return broken(std::string("bad case: ") + e.what());
    }
    const fs::path program =
        options.program ? fs::absolute(*options.program) : fs::absolute(options.bin_dir) / binary;
    result.command = program.filename().string();
    for (const auto& arg : args)
        result.command += ' ' + quote_shell_word(arg);

    std::optional<TempDir> scratch;
    try {
        scratch.emplace();
        fs::copy(case_dir, scratch->path() / "case", fs::copy_options::recursive);
    } catch (const std::exception& e) {
        return broken(std::string("cannot set up the scratch directory: ") + e.what());
    }
    const fs::path work = scratch->path() / "case";
    const fs::path stdin_path =
        fs::exists(case_dir / "in.ndjson") ? work / "in.ndjson" : fs::path("/dev/null");
    const Finished finished = spawn_and_wait(program, args, work, stdin_path, scratch->path() / "stdout",
                                             scratch->path() / "stderr", env, options.timeout);
    result.exit_code = finished.exit_code;
    try {
        result.stdout_text = read_file(scratch->path() / "stdout");
        result.stderr_text = read_file(scratch->path() / "stderr");
    } catch (const std::exception&) {
        // posix_spawn failed before the redirections were made: there is no output to read.
    }
    if (finished.exit_code < 0) return broken(finished.problem);
    if (!finished.problem.empty()) result.mismatches.push_back({"command " + finished.problem, {}});

    // Everything the command wrote that a case can expect, decompressed where needed.
    const bool exact = fs::exists(case_dir / "exact");
    std::map<fs::path, std::string> produced;
    std::map<fs::path, std::string> produce_errors;
    for (const auto& name : files_below(case_dir / "files")) {
        const fs::path path = work / name;
        try {
            if (!fs::exists(path)) throw std::runtime_error("was not written");
            if (name.extension() == ".zst" && !is_zstd(read_file(path)))
                throw std::runtime_error("is not zstd-compressed");
            produced[name] = read_content(path);
        } catch (const std::exception& e) {
            produce_errors[name] = e.what();
        }
    }

    if (options.bless && finished.problem.empty()) {
        try {
            if (!result.stdout_text.empty() || fs::exists(case_dir / "out.ndjson"))
                write_file(case_dir / "out.ndjson", result.stdout_text);
            if (result.exit_code != 0)
                write_file(case_dir / "exit", std::to_string(result.exit_code) + "\n");
            else
                fs::remove(case_dir / "exit");
            for (const auto& [name, content] : produced)
                write_file(case_dir / "files" / name, content);
            result.blessed = true;
        } catch (const std::exception& e) {
            result.mismatches.push_back({std::string("cannot bless: ") + e.what(), {}});
        }
    }

    try {
        int expected_exit = 0;
        if (fs::exists(case_dir / "exit")) {
            const std::string text = read_file(case_dir / "exit");
            expected_exit = std::stoi(text);
        }
        if (expected_exit != result.exit_code)
            result.mismatches.push_back({"exit code: expected " + std::to_string(expected_exit) + ", got " +
                                             std::to_string(result.exit_code),
                                         {}});

        const std::string expected_out =
            fs::exists(case_dir / "out.ndjson") ? read_file(case_dir / "out.ndjson") : std::string();
        compare_text("stdout", expected_out, result.stdout_text, exact, result.mismatches);

        if (fs::exists(case_dir / "err")) {
            const std::string wanted = read_file(case_dir / "err");
            std::string missing;
            for (auto line : split_lines(wanted)) {
                if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
                if (!line.empty() && result.stderr_text.find(line) == std::string::npos)
                    missing += "    " + printable(line) + '\n';
            }
            if (!missing.empty()) result.mismatches.push_back({"stderr lacks", missing});
        }

        for (const auto& name : files_below(case_dir / "files")) {
            const std::string what = "file " + name.string();
            if (auto error = produce_errors.find(name); error != produce_errors.end()) {
                result.mismatches.push_back({what + " " + error->second, {}});
                continue;
            }
            compare_text(what, read_content(case_dir / "files" / name), produced[name], exact,
                         result.mismatches);
        }
    } catch (const std::exception& e) {
        result.mismatches.push_back({std::string("bad expectation: ") + e.what(), {}});
    }

    result.passed = result.mismatches.empty();
    if (options.keep_temp) {
        scratch->keep();
        result.scratch = scratch->path();
    }
    return result;
}

std::string format_report(const CaseResult& result) {
    std::string out = (result.passed ? "ok   " : "FAIL ") + result.name + '\n';
    if (result.passed) return out;
    if (!result.command.empty()) out += "  cmd: " + result.command + '\n';
    for (const auto& mismatch : result.mismatches) {
        out += "  " + mismatch.what + (mismatch.detail.empty() ? "\n" : ":\n");
        out += mismatch.detail;
    }
    if (!result.stderr_text.empty()) {
        out += "  stderr was:\n";
        out += indent(result.stderr_text, "    ", 40);
    }
    if (!result.scratch.empty()) out += "  scratch directory kept: " + result.scratch.string() + '\n';
    return out;
}

SuiteResult run_suite(const fs::path& dir, const GoldenOptions& options, std::ostream& log) {
    std::vector<fs::path> cases;
    if (is_case(dir)) {
        cases.push_back(dir);
    } else if (fs::is_directory(dir)) {
        for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator();
             ++it) {
            if (!it->is_directory()) continue;
            if (is_case(it->path())) {
                cases.push_back(it->path());
                it.disable_recursion_pending(); // a case's files/ holds expectations, not cases
            }
        }
        std::sort(cases.begin(), cases.end());
    }
    SuiteResult suite;
    if (cases.empty()) {
        log << "FAIL " << dir.string() << ": no golden cases (directories with a cmd or manifest.yaml file)\n";
        ++suite.failed;
        return suite;
    }
    for (const auto& path : cases) {
        CaseResult result = run_case(path, options);
        if (result.passed && result.blessed)
            log << "blessed " << result.name << '\n';
        else
            log << format_report(result);
        log.flush();
        ++(result.passed ? suite.passed : suite.failed);
        suite.cases.push_back(std::move(result));
    }
    return suite;
}

} // namespace cep::testing
