#pragma once
// Reading rules: rule files (YAML or JSON; many rules, a single rule, or the operators'
// `event_list` mission form) and the one-rule command-line pattern
// `a: event == "level_up" -> b: event == "dungeon_clear"`. Only the shape is checked here;
// conditions and templates are compiled (and checked) by the Program.

#include "cep/sequence/spec.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace cep::sequence {

/// Reads the rules in `path`. Throws UsageError("path:line:col: message").
std::vector<RuleSpec> load_rules_file(const std::string& path);

/// Reads several rule files; rule ids must be unique across them.
std::vector<RuleSpec> load_rules_files(const std::vector<std::string>& paths);

/// Everything that defines a rule's behaviour, as text: equal fingerprints mean an unchanged
/// rule (where it was written does not count).
std::string fingerprint(const RuleSpec& rule);

/// Parses rules from `text`; `name` stands for the file in messages and is the default id of a
/// single `event_list` mission (its stem).
std::vector<RuleSpec> parse_rules(std::string_view text, const std::string& name);

/// Parses the one-rule pattern form into stages:
///
///   a: COND -> b{2,4}: COND => !c: COND ->> d+ greedy: COND
///
/// `->` relaxed, `=>` strict, `->>` non-deterministic relaxed; `!name` negates the stage
/// (`-> !c` is not_followed_by, `=> !c` is not_next); quantifiers `{n}`, `{n,m}`, `{n,}`, `+`, `*`,
/// `?`, then optionally `greedy`. Errors name `source:1:COL`.
std::vector<StageSpec> parse_pattern(std::string_view text, const std::string& source = "--pattern");

/// The file name without directories and extensions (`logs/sample-access.ndjson.zst` ->
/// `sample-access`): the topic of an input file, and the default id of a mission file.
std::string name_stem(std::string_view path);

} // namespace cep::sequence
