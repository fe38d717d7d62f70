#include "cep/ops/conditions_file.hpp"

#include "cep/errors.hpp"

#include <charconv>
#include <fstream>
#include <sstream>
#include <yaml-cpp/yaml.h>

namespace cep::ops {
namespace {

nlohmann::json scalar_to_json(const YAML::Node& node) {
    const std::string& text = node.Scalar();
    // Quoted scalars (tag "!") are always strings: `value: "1302"` stays a string.
    if (node.Tag() == "!") return text;
    if (text == "true" || text == "True" || text == "TRUE") return true;
    if (text == "false" || text == "False" || text == "FALSE") return false;
    if (text == "null" || text == "~" || text.empty()) return nullptr;
    std::int64_t integer = 0;
    auto [iend, iec] = std::from_chars(text.data(), text.data() + text.size(), integer);
    if (iec == std::errc() && iend == text.data() + text.size()) return integer;
    double floating = 0;
    auto [dend, dec] = std::from_chars(text.data(), text.data() + text.size(), floating);
    if (dec == std::errc() && dend == text.data() + text.size()) return floating;
    return text;
}

nlohmann::json yaml_to_json(const YAML::Node& node) {
    switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined: return nullptr;
    case YAML::NodeType::Scalar: return scalar_to_json(node);
    case YAML::NodeType::Sequence: {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& item : node) out.push_back(yaml_to_json(item));
        return out;
    }
    case YAML::NodeType::Map: {
        nlohmann::json out = nlohmann::json::object();
        for (const auto& item : node) out[item.first.as<std::string>()] = yaml_to_json(item.second);
        return out;
    }
    }
    return nullptr;
}

} // namespace

nlohmann::json load_yaml_or_json(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw UsageError(path + ": cannot open");
    std::stringstream text;
    text << in.rdbuf();
    // YAML is a superset of JSON, so one parser reads both and reports line and column.
    try {
        return yaml_to_json(YAML::Load(text.str()));
    } catch (const YAML::Exception& e) {
        throw UsageError(path + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) +
                         ": " + e.msg);
    }
}

expr::Expression load_conditions_file(const std::string& path, Schema& schema) {
    const nlohmann::json document = load_yaml_or_json(path);
    try {
        return expr::compile_conditions(document, schema);
    } catch (const UsageError& e) {
        throw UsageError(path + ": " + e.what());
    }
}

} // namespace cep::ops
