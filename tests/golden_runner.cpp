// cep-golden: runs golden CLI cases (see common/cep/testing/golden.hpp) and prints one line per
// case, failure reports, and `N passed, M failed`. Not installed; ctest runs it per tool.

#include "cep/testing/golden.hpp"

#include <CLI/CLI.hpp>
#include <iostream>

int main(int argc, char** argv) {
    cep::testing::GoldenOptions options;
    std::vector<std::string> dirs;
    std::string bin_dir = ".";
    long timeout_seconds = 60;
    CLI::App app{"Run golden CLI test cases", "cep-golden"};
    app.add_option("dirs", dirs, "Case directories, or directories of cases (tests/golden/filter)")
        ->required()
        ->type_name("CASE_DIR...");
    app.add_option("--bin-dir", bin_dir, "Where the cep-<tool> binaries are (default: .)")->type_name("DIR");
    app.add_flag("--bless", options.bless,
                 "Rewrite out.ndjson, exit and files/* from what the commands produced");
    app.add_flag("--keep", options.keep_temp, "Keep each case's scratch directory and print its path");
    app.add_option("--timeout", timeout_seconds, "Kill a command after SECONDS (default 60)")
        ->type_name("SECONDS");
    CLI11_PARSE(app, argc, argv);
    options.bin_dir = bin_dir;
    options.timeout = std::chrono::seconds(timeout_seconds);

    std::size_t passed = 0, failed = 0;
    for (const auto& dir : dirs) {
        const auto suite = cep::testing::run_suite(dir, options, std::cout);
        passed += suite.passed;
        failed += suite.failed;
    }
    std::cout << passed << " passed, " << failed << " failed\n";
    return failed > 0 ? 1 : 0;
}
