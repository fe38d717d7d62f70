#pragma once
// Data errors: reported on stderr as `TOOL: error (at FILE:LINE:COL): reason` (rate-limited),
// written to the dead-letter output with the raw text, counted, and, with --on-error=fail,
// fatal. A bad record never stops the stream silently and never takes good records with it.

#include "cep/io/sink.hpp"
#include "cep/record.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace cep {

enum class OnError { skip, fail };

class Diagnostics {
  public:
    Diagnostics(std::string tool, OnError policy, std::unique_ptr<io::RecordSink> dead_letter);

    /// Reports a bad record. Throws RuntimeError under --on-error=fail.
    void data_error(const Origin& origin, std::size_t column, std::string_view reason, std::string_view raw);
    /// Reports a problem that is not tied to one record (e.g. a truncated input file).
    void input_error(std::string_view source, std::string_view reason);
    /// A message to stderr with the tool's name, not rate-limited.
    void warn(std::string_view message) const;

    std::uint64_t errors() const { return errors_; }
    std::uint64_t dead_lettered() const { return dead_lettered_; }
    const std::string& tool() const { return tool_; }

    /// Prints how many messages were suppressed and closes the dead-letter output.
    void finish();

    /// Printed in full before rate limiting starts.
    static constexpr std::uint64_t shown_in_full = 20;

  private:
    void print(std::string_view where, std::string_view reason);

    std::string tool_;
    OnError policy_;
    std::unique_ptr<io::RecordSink> dead_letter_;
    std::uint64_t errors_ = 0;
    std::uint64_t dead_lettered_ = 0;
    std::uint64_t suppressed_ = 0;
    std::string scratch_;
};

} // namespace cep
