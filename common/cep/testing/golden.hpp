#pragma once
// Golden CLI tests: a case is a directory holding a command line, its input and the expected
// output, exit code, stderr fragments and written files. The runner executes the command in a
// scratch copy of the directory and compares what came out, as JSON values where it can.
//
//   tests/golden/filter/0001_seed/
//     cmd          arguments after the binary name, as shell words (no shell is involved); the
//                  first word may name the program (`cep-sequence ...`, `cep run ...`), else it
//                  is cep-<parent directory name>
//     manifest.yaml  without cmd: the case is `cep run manifest.yaml`
//     in.ndjson    fed to stdin when present (and readable by name: cwd is the case copy)
//     out.ndjson   expected stdout (absent: stdout must be empty)
//     exact        marker: compare stdout and files byte for byte instead of as JSON values
//     exit         expected exit code (default 0)
//     err          each non-empty line must occur somewhere in stderr
//     env          KEY=VALUE lines added to the environment (which has TZ=UTC, LC_ALL=C and
//                  none of the caller's CEP_* variables, so cases do not depend on who runs them)
//     files/NAME   expected content of NAME written in cwd; a written NAME.zst must be zstd and
//                  is compared decompressed (files/NAME.zst itself may be plain text or zstd)
//
// Used by cep-golden (tests/golden_runner.cpp) and meant for `cep test DIR`.

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cep::testing {

struct GoldenOptions {
    /// Where `cep-<tool>` binaries live; the tool is the name of the case's parent directory.
    std::filesystem::path bin_dir = ".";
    /// Run this program for every case instead of deriving it from the directory name.
    std::optional<std::filesystem::path> program;
    /// Rewrite out.ndjson, exit and files/* from what the command produced.
    bool bless = false;
    /// A command still running after this long is killed and the case fails.
    std::chrono::milliseconds timeout{60'000};
    /// Leave the scratch directory behind (its path is in the report) for debugging.
    bool keep_temp = false;
};

/// One way the case did not match, e.g. what = "stdout", detail = a side-by-side diff.
struct Mismatch {
    std::string what;
    std::string detail;
};

struct CaseResult {
    std::string name;    ///< `<tool>/<case>`, e.g. `filter/0001_seed`
    std::string command; ///< the command line as run, for the report
    bool passed = false;
    bool blessed = false; ///< expectations were rewritten (--bless)
    int exit_code = -1;   ///< 128 + N when killed by signal N
    std::string stdout_text;
    std::string stderr_text;
    std::vector<Mismatch> mismatches; ///< empty when passed
    std::filesystem::path scratch;    ///< kept only with keep_temp
};

struct SuiteResult {
    std::size_t passed = 0;
    std::size_t failed = 0;
    std::vector<CaseResult> cases;
};

/// Runs the case in `dir`. Problems with the case itself (no cmd, bad quoting, missing binary)
/// are reported as mismatches, not thrown, so one broken case does not stop a suite.
CaseResult run_case(const std::filesystem::path& dir, const GoldenOptions& options);

/// Runs `dir` as a case when it has a `cmd` file, else every case directory below it (sorted,
/// recursively). Prints `ok NAME` or the failure report of each case to `log`.
SuiteResult run_suite(const std::filesystem::path& dir, const GoldenOptions& options, std::ostream& log);

/// A readable failure report: case name, command, then each mismatch.
std::string format_report(const CaseResult& result);

/// Splits a command line into words like a POSIX shell, without expansions: whitespace
/// separates words; '...' is literal; "..." allows \" \\ \$ \` and \newline; a backslash
/// outside quotes escapes the next character. Throws std::invalid_argument on an unterminated
/// quote or a trailing backslash.
std::vector<std::string> split_shell_words(std::string_view text);

/// Quotes `word` so that split_shell_words gives it back (for printing commands).
std::string quote_shell_word(std::string_view word);

/// Lines of `text` split on '\n', without a final empty line after a trailing newline.
std::vector<std::string_view> split_lines(std::string_view text);

/// Compares two lines as JSON values (key order, whitespace and number spelling do not
/// matter); lines that are not both valid JSON compare as text.
bool json_line_equal(std::string_view expected, std::string_view got);

/// 1-based number of the first line where `expected` and `got` differ (JSON-aware, or byte for
/// byte with `exact`), or nullopt when they match. With `exact`, a missing or extra final
/// newline counts as a difference on the last line.
std::optional<std::size_t> first_difference(std::string_view expected, std::string_view got, bool exact);

/// Expected and got in two columns, lines numbered, the first differing line marked with `>`;
/// long outputs are cut to the lines around the difference.
std::string side_by_side(std::string_view expected, std::string_view got, std::size_t differing_line);

} // namespace cep::testing
