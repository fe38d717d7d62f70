#pragma once
// Exceptions that abort a run, each mapped to one documented exit code by the shared main:
// 0 ok (also a broken pipe), 1 data or runtime errors, 2 usage / expression / rule errors.

#include <stdexcept>
#include <string>

namespace cep {

namespace exit_code {
inline constexpr int ok = 0;
inline constexpr int data_error = 1;
inline constexpr int usage = 2;
} // namespace exit_code

/// Bad command line, expression, rule or manifest: exit 2.
struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// A runtime failure (I/O, a fatal data error under --on-error=fail): exit 1.
struct RuntimeError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// The reader of our output went away (`| head`): stop quietly, exit 0.
struct BrokenPipe : std::exception {
    const char* what() const noexcept override { return "broken pipe"; }
};

} // namespace cep
