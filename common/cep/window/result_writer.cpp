#include "cep/window/result_writer.hpp"

#include "cep/errors.hpp"
#include "cep/json_writer.hpp"

#include <algorithm>

namespace cep::window {
namespace {

constexpr std::string_view reserved_names[] = {"window", "events", "update", "early", "replaces"};

/// Keys are mostly plain ASCII, which needs no escaping: copied whole, not byte by byte.
void append_key_string(std::string& out, std::string_view text) {
    for (const char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u >= 0x80 || c == '"' || c == '\\') {
            append_json_string(out, text);
            return;
        }
    }
    out += '"';
    out += text;
    out += '"';
}

bool has_index_step(const Path& path) {
    return std::any_of(path.steps.begin(), path.steps.end(),
                       [](const PathStep& step) { return step.type == PathStep::Type::index; });
}

} // namespace

ResultWriter::ResultWriter(const std::vector<Path>& key_paths, const agg::AggregateSet* aggs, bool collect,
                           const TimeExtractor& time)
    : key_fields_(key_paths.size()), aggs_(aggs), collect_(collect), time_(time) {
    for (std::size_t i = 0; i < key_paths.size(); ++i) {
        const Path& path = key_paths[i];
        const std::string text = path.to_string();
        if (path.steps.empty()) throw UsageError("-k: an empty key path");
        // An array index cannot be written back as an object member; such a key is written as
        // one top-level field named by its path text.
        const bool flat = has_index_step(path);
        std::vector<Node>* level = &key_tree_;
        const std::size_t depth = flat ? 1 : path.steps.size();
        for (std::size_t d = 0; d < depth; ++d) {
            const std::string name = flat ? text : path.steps[d].key;
            const bool leaf = d + 1 == depth;
            auto it =
                std::find_if(level->begin(), level->end(), [&](const Node& n) { return n.name == name; });
            if (it == level->end()) {
                level->push_back({name, leaf ? static_cast<int>(i) : -1, {}});
                it = level->end() - 1;
            } else if (leaf || it->field >= 0) {
                throw UsageError("-k: key paths overlap at '" + text +
                                 "' (each field may be written back once)");
            }
            level = &it->children;
        }
    }
    std::vector<std::string_view> taken(std::begin(reserved_names), std::end(reserved_names));
    auto claim = [&](std::string_view name, std::string_view what, std::string_view hint) {
        if (std::find(taken.begin(), taken.end(), name) != taken.end())
            throw UsageError(std::string(what) + " '" + std::string(name) +
                             "' would collide with another output field (the window adds window, events, "
                             "update, early, replaces)" +
                             std::string(hint));
        taken.push_back(name);
    };
    for (const Node& node : key_tree_)
        claim(node.name, "key field", "");
    if (aggs_ != nullptr)
        for (const auto& spec : aggs_->specs())
            claim(spec.name, "aggregate", "; rename it with 'as NAME'");
    values_.resize(key_fields_);
}

void ResultWriter::append_bounds(std::string& out, const Bounds& bounds) const {
    out += "\"start\":";
    time_.append_json(out, bounds.start);
    out += ",\"end\":";
    time_.append_json(out, bounds.end);
}

void ResultWriter::append_window(std::string& out, const Bounds& bounds) const {
    out += "\"window\":{";
    append_bounds(out, bounds);
    out += '}';
}

void ResultWriter::append_node(std::string& out, const Node& node) const {
    append_json_string(out, node.name);
    out += ':';
    if (node.field >= 0) {
        out += values_[static_cast<std::size_t>(node.field)];
        return;
    }
    out += '{';
    for (std::size_t i = 0; i < node.children.size(); ++i) {
        if (i > 0) out += ',';
        append_node(out, node.children[i]);
    }
    out += '}';
}

void ResultWriter::append(std::string& out, const Result& result) {
    out += '{';
    if (key_fields_ == 1) {
        if (result.key.is_string) {
            scratch_.clear();
            append_key_string(scratch_, result.key.bytes);
            values_[0] = scratch_;
        } else {
            values_[0] = result.key.bytes;
        }
    } else if (key_fields_ > 1) {
        split_composite_key(result.key.bytes, values_);
        values_.resize(key_fields_, "null"); // only if the bytes were not a key of this shape
    }
    for (const Node& node : key_tree_) {
        append_node(out, node);
        out += ',';
    }

    if (result.window_json != nullptr) {
        out += *result.window_json;
    } else {
        out += "\"window\":{";
        if (result.has_bounds) append_bounds(out, result.window);
        if (result.count) {
            if (result.has_bounds) out += ',';
            out += "\"count\":";
            append_json_number(out, static_cast<std::int64_t>(*result.count));
        }
        out += '}';
    }
    if (aggs_ != nullptr && !aggs_->specs().empty()) {
        out += ',';
        aggs_->append_results(result.state, out);
    }
    if (collect_) {
        out += ",\"events\":[";
        // Records are joined by '\n', which a JSON line cannot hold (strings escape it).
        std::string_view rest = result.events;
        for (auto newline = rest.find('\n'); newline != std::string_view::npos; newline = rest.find('\n')) {
            out.append(rest.substr(0, newline));
            out += ',';
            rest.remove_prefix(newline + 1);
        }
        out.append(rest);
        out += ']';
    }
    if (result.update) out += ",\"update\":true";
    if (result.early) out += ",\"early\":true";
    if (!result.replaces.empty()) {
        out += ",\"replaces\":[";
        for (std::size_t i = 0; i < result.replaces.size(); ++i) {
            if (i > 0) out += ',';
            out += '{';
            append_bounds(out, result.replaces[i]);
            out += '}';
        }
        out += ']';
    }
    out += '}';
}

} // namespace cep::window
