#pragma once
// Loading the data form of conditions (YAML or JSON) from a file.

#include "cep/expr/expression.hpp"

#include <nlohmann/json.hpp>
#include <string>

namespace cep::ops {

/// Reads a YAML or JSON file into JSON. Throws UsageError naming the file, line and column.
nlohmann::json load_yaml_or_json(const std::string& path);

/// Compiles the conditions in `path` (a list, or an object with `conditions`).
expr::Expression load_conditions_file(const std::string& path, Schema& schema);

} // namespace cep::ops
