#include "cep/manifest/manifest.hpp"

#include "cep/cli/command.hpp"
#include "cep/cli/tool_app.hpp"
#include "cep/io/kafka_config.hpp"
#include "cep/io/kafka_sink.hpp"
#include "cep/io/kafka_source.hpp"
#include "cep/schema.hpp"
#include "cep/testing/golden.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <map>
#include <set>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

extern char** environ;

namespace cep::manifest {
namespace {

Mark mark_of(const YAML::Node& node) {
    const YAML::Mark mark = node.Mark();
    if (mark.is_null()) return {};
    return {mark.line + 1, mark.column + 1};
}

std::string join_messages(const std::vector<Diagnostic>& found) {
    return found.empty() ? "invalid manifest" : format(found.front());
}

/// Collects problems instead of stopping at the first, so one `cep check` shows them all.
class Problems {
  public:
    explicit Problems(std::string file) : file_(std::move(file)) {}
    void add(Mark mark, std::string message) { found_.push_back({file_, mark, std::move(message)}); }
    void add(const YAML::Node& at, std::string message) { add(mark_of(at), std::move(message)); }
    bool empty() const { return found_.empty(); }
    void throw_if_any() {
        if (found_.empty()) return;
        std::stable_sort(found_.begin(), found_.end(), [](const Diagnostic& a, const Diagnostic& b) {
            return std::pair(a.mark.line, a.mark.column) < std::pair(b.mark.line, b.mark.column);
        });
        throw ManifestError(std::move(found_));
    }

  private:
    std::string file_;
    std::vector<Diagnostic> found_;
};

/// A scalar or a list of scalars, as a list of strings.
std::vector<std::string> string_list(const YAML::Node& value, std::string_view key, Problems& problems) {
    std::vector<std::string> out;
    if (value.IsScalar()) {
        out.push_back(value.Scalar());
    } else if (value.IsSequence()) {
        for (const auto& item : value) {
            if (item.IsScalar())
                out.push_back(item.Scalar());
            else
                problems.add(item, std::string(key) + ": expected a name, got a " +
                                       (item.IsMap() ? "map" : "list"));
        }
    } else {
        problems.add(value, std::string(key) + ": expected a string or a list of strings");
    }
    return out;
}

/// A word no cep tool takes on its own: an expression or pattern operator.
bool is_operator_word(const std::string& word) {
    static const std::set<std::string> operators{"==", "!=", "<", "<=", ">", ">=", "&&", "||", "->"};
    return operators.count(word) > 0;
}

/// `args:` as a string (split like a shell), a list of words, or a map of flag -> value.
std::vector<std::string> parse_args(const YAML::Node& value, Problems& problems) {
    std::vector<std::string> args;
    if (value.IsNull()) return args;
    if (value.IsScalar()) {
        try {
            auto words = testing::split_shell_words(value.Scalar());
            // The trap: `args: 'event == "kill"'` is the three words event, ==, kill, since YAML
            // took its quotes away before the split. No tool takes an operator as a word of its
            // own, so such a split is always that mistake: say so rather than run something else.
            if (std::any_of(words.begin(), words.end(), is_operator_word)) {
                std::string shown;
                for (const auto& word : words)
                    shown += (shown.empty() ? "" : " | ") + word;
                problems.add(value,
                             "args: this string is split into words like a shell line, after YAML "
                             "removed its own quotes: " +
                                 shown +
                                 "; give an expression as one word of a list (args: ['level > 3', "
                                 "--invert]) or keep shell quotes inside the string (args: \"'level > 3' "
                                 "--invert\")");
            }
            return words;
        } catch (const std::invalid_argument& e) {
            problems.add(value, std::string("args: ") + e.what());
            return args;
        }
    }
    if (value.IsSequence()) {
        for (const auto& item : value) {
            if (item.IsScalar())
                args.push_back(item.Scalar());
            else
                problems.add(item, "args: each word must be a string");
        }
        return args;
    }
    for (const auto& entry : value) {
        const std::string flag = entry.first.Scalar();
        if (!flag.starts_with("-")) {
            problems.add(entry.first, "args: map keys are flags (start with -); give positional arguments "
                                      "(expressions, inputs) with the string or list form");
            continue;
        }
        const YAML::Node& v = entry.second;
        auto add_value = [&](const YAML::Node& item) {
            if (!item.IsScalar()) {
                problems.add(item, "args: " + flag + ": expected a value or a list of values");
                return;
            }
            // A YAML boolean: true is the flag alone, false leaves it out.
            if (item.Tag() != "!" && (item.Scalar() == "true" || item.Scalar() == "false")) {
                if (item.Scalar() == "true") args.push_back(flag);
                return;
            }
            args.push_back(flag);
            args.push_back(item.Scalar());
        };
        if (v.IsNull())
            args.push_back(flag);
        else if (v.IsSequence())
            for (const auto& item : v)
                add_value(item);
        else
            add_value(v);
    }
    return args;
}

const std::set<std::string> node_keys{"tool",  "command", "args",     "from",
                                      "input", "output",  "parallel", "key"};

Node parse_node(const std::string& name, const YAML::Node& key, const YAML::Node& body, Problems& problems) {
    Node node;
    node.name = name;
    node.mark = mark_of(key);
    if (!body.IsMap()) {
        problems.add(body.IsNull() ? key : body,
                     "node '" + name + "': expected a map with tool: or command:");
        return node;
    }
    for (const auto& entry : body) {
        const std::string k = entry.first.Scalar();
        if (!node_keys.contains(k))
            problems.add(entry.first,
                         "node '" + name + "': unknown key '" + k +
                             "' (known: tool, command, args, from, input, output, parallel, key)");
    }
    if (body["tool"] && body["command"])
        problems.add(body["command"], "node '" + name + "': give tool: or command:, not both");
    if (const auto tool = body["tool"]) {
        std::string t = tool.Scalar();
        if (t.starts_with("cep-")) t.erase(0, 4);
        if (cli::find_tool(t) == nullptr) {
            std::string known;
            for (const auto& info : cli::tools())
                known += (known.empty() ? "" : ", ") + std::string(info.name);
            problems.add(tool, "node '" + name + "': unknown tool '" + tool.Scalar() + "' (tools: " + known +
                                   "; for another program use command:)");
        }
        node.tool = t;
    } else if (const auto command = body["command"]) {
        if (!command.IsScalar() || command.Scalar().empty())
            problems.add(command, "node '" + name + "': command: expected a command line");
        else
            node.command = command.Scalar();
        if (body["args"])
            problems.add(body["args"], "node '" + name + "': args: go with tool:; write them into command:");
    } else {
        problems.add(key, "node '" + name + "': needs tool: (a cep tool) or command: (another program)");
    }
    if (const auto args = body["args"]) {
        node.args_mark = mark_of(args);
        node.args = parse_args(args, problems);
    } else {
        node.args_mark = node.mark;
    }
    if (const auto from = body["from"]) {
        node.from = string_list(from, "from", problems);
        if (from.IsSequence())
            for (const auto& item : from)
                node.from_marks.push_back(mark_of(item));
        else
            node.from_marks.push_back(mark_of(from));
        node.from_marks.resize(node.from.size(), mark_of(from));
    }
    if (const auto input = body["input"]) {
        node.input_mark = mark_of(input);
        node.inputs = string_list(input, "input", problems);
    }
    if (const auto output = body["output"]) {
        node.output_mark = mark_of(output);
        node.outputs = string_list(output, "output", problems);
    }
    if (const auto parallel = body["parallel"]) {
        node.parallel_mark = mark_of(parallel);
        try {
            const int n = parallel.as<int>();
            if (n < 1 || n > 1024) throw YAML::Exception(parallel.Mark(), "");
            node.parallel = static_cast<unsigned>(n);
        } catch (const YAML::Exception&) {
            problems.add(parallel, "node '" + name + "': parallel: expected a number from 1 to 1024");
        }
        if (!body["key"] && node.parallel > 1)
            problems.add(parallel, "node '" + name + "': parallel: needs key: PATH to partition records by");
        if (!node.is_tool() && node.parallel > 1)
            problems.add(parallel, "node '" + name + "': parallel: works with cep tools only");
    }
    if (const auto key = body["key"]) {
        if (!key.IsScalar())
            problems.add(key, "node '" + name + "': key: expected a path such as member.playerId");
        else
            node.key = key.Scalar();
        if (!body["parallel"]) problems.add(key, "node '" + name + "': key: goes with parallel: N");
    }
    return node;
}

/// Resolves `from:` names and orders the nodes; reports unknown names, cycles, nodes that read
/// nothing.
void build_graph(Manifest& manifest, Problems& problems) {
    const std::size_t n = manifest.nodes.size();
    std::map<std::string, std::size_t> index;
    for (std::size_t i = 0; i < n; ++i)
        index.emplace(manifest.nodes[i].name, i);
    manifest.upstream.assign(n, {});
    manifest.downstream.assign(n, {});
    for (std::size_t i = 0; i < n; ++i) {
        const Node& node = manifest.nodes[i];
        for (std::size_t f = 0; f < node.from.size(); ++f) {
            const auto it = index.find(node.from[f]);
            if (it == index.end()) {
                problems.add(node.from_marks[f],
                             "node '" + node.name + "': from: no node named '" + node.from[f] + "'");
                continue;
            }
            if (std::find(manifest.upstream[i].begin(), manifest.upstream[i].end(), it->second) !=
                manifest.upstream[i].end()) {
                problems.add(node.from_marks[f],
                             "node '" + node.name + "': from: '" + node.from[f] + "' twice");
                continue;
            }
            manifest.upstream[i].push_back(it->second);
            manifest.downstream[it->second].push_back(i);
        }
        if (node.from.empty() && node.inputs.empty())
            problems.add(node.mark,
                         "node '" + node.name +
                             "' is not connected: it has no input: and no from: (use input: - for stdin)");
    }
    // Kahn's algorithm, taking nodes in file order when several are ready, so the order is stable.
    std::vector<std::size_t> pending(n);
    for (std::size_t i = 0; i < n; ++i)
        pending[i] = manifest.upstream[i].size();
    std::vector<bool> done(n, false);
    for (bool progress = true; progress;) {
        progress = false;
        for (std::size_t i = 0; i < n; ++i) {
            if (done[i] || pending[i] != 0) continue;
            done[i] = true;
            progress = true;
            manifest.order.push_back(i);
            for (std::size_t d : manifest.downstream[i])
                --pending[d];
            break;
        }
    }
    if (manifest.order.size() != n) {
        std::string cycle;
        Mark at;
        for (std::size_t i = 0; i < n; ++i) {
            if (done[i]) continue;
            if (cycle.empty()) at = manifest.nodes[i].mark;
            cycle += (cycle.empty() ? "" : ", ") + manifest.nodes[i].name;
        }
        problems.add(at, "the nodes form a cycle: " + cycle + " (each reads, directly or not, from itself)");
    }
}

bool is_file_spec(const std::string& spec) {
    return spec != "-" && !io::is_kafka_spec(spec);
}

/// A kafka: input or output resolved with the node's own Kafka flags, as its tool (or, for
/// fan-out, cep run) will open it: no brokers, a bad offset or property is found here.
void check_kafka(Problems& problems, const Node& node, Mark mark, const std::string& spec,
                 const io::KafkaOptions& kafka, bool input) {
    try {
        const auto endpoint = io::resolve_kafka_endpoint(spec, kafka);
        if (input)
            io::check_kafka_input(endpoint);
        else
            io::check_kafka_output(endpoint);
    } catch (const UsageError& e) {
        std::string message = "node '" + node.name + "': " + e.what();
        if (!node.is_tool()) message += " (a command: node has no Kafka flags: write kafka://BROKERS/TOPIC)";
        problems.add(mark, message);
    }
}

} // namespace

std::string format(const Diagnostic& diagnostic) {
    std::string out = diagnostic.file;
    if (diagnostic.mark.line > 0)
        out += ':' + std::to_string(diagnostic.mark.line) + ':' + std::to_string(diagnostic.mark.column);
    return out + ": " + diagnostic.message;
}

ManifestError::ManifestError(std::vector<Diagnostic> found)
    : UsageError(join_messages(found)), diagnostics(std::move(found)) {}

Manifest load(const std::string& path) {
    Manifest manifest;
    manifest.file = path;
    Problems problems(path);
    YAML::Node root;
    try {
        root = YAML::LoadFile(path);
    } catch (const YAML::BadFile&) {
        problems.add(Mark{}, std::string("cannot read the manifest: ") + std::strerror(errno));
        problems.throw_if_any();
    } catch (const YAML::ParserException& e) {
        problems.add(Mark{e.mark.line + 1, e.mark.column + 1}, "not valid YAML: " + e.msg);
        problems.throw_if_any();
    }
    if (!root.IsMap() || !root["nodes"]) {
        problems.add(root, "expected a map with nodes: (see man 5 cep-manifest)");
        problems.throw_if_any();
    }
    for (const auto& entry : root) {
        const std::string k = entry.first.Scalar();
        if (k != "nodes" && k != "description")
            problems.add(entry.first, "unknown key '" + k + "' (known: nodes, description)");
    }
    const YAML::Node nodes = root["nodes"];
    if (!nodes.IsMap() || nodes.size() == 0) {
        problems.add(nodes, "nodes: expected a map of node name -> {tool:, args:, from:, ...}");
        problems.throw_if_any();
    }
    std::set<std::string> names;
    for (const auto& entry : nodes) {
        const std::string name = entry.first.Scalar();
        if (!names.insert(name).second) {
            problems.add(entry.first, "node '" + name + "' is defined twice");
            continue;
        }
        manifest.nodes.push_back(parse_node(name, entry.first, entry.second, problems));
    }
    problems.throw_if_any();
    build_graph(manifest, problems);
    problems.throw_if_any();
    return manifest;
}

void validate(const Manifest& manifest) {
    Problems problems(manifest.file);
    std::map<std::string, std::string> writers; // output -> node
    std::size_t stdout_writers = 0;
    for (std::size_t i = 0; i < manifest.nodes.size(); ++i) {
        const Node& node = manifest.nodes[i];
        io::KafkaOptions kafka; // the node's -b, -G, -X ...: its kafka: inputs and outputs use them
        if (node.is_tool()) {
            const cli::ToolInfo& info = *cli::find_tool(node.tool);
            const std::string prefix = "node '" + node.name + "': cep-" + node.tool + ": ";
            try {
                auto tool = cli::parse_tool(info, node.args);
                kafka = tool->common.kafka;
                if (!tool->common.inputs.empty())
                    throw UsageError("inputs go in input: or from:, not in args (got '" +
                                     tool->common.inputs.front() + "')");
                if (tool->common.output != "-")
                    throw UsageError("the output goes in output:, not in args (-o)");
                if (tool->command->output_partitions() > 0)
                    throw UsageError(
                        "--partitions writes several files; in a manifest use parallel: and key:");
                // A throwaway schema: building the operator compiles expressions and loads rules.
                Schema schema;
                (void)tool->command->make_operator(schema, tool->common);
            } catch (const SyntaxError& e) {
                problems.add(node.args_mark, prefix + e.what());
            } catch (const UsageError& e) {
                problems.add(node.args_mark, prefix + e.what());
            } catch (const RuntimeError& e) {
                problems.add(node.args_mark, prefix + e.what());
            }
        }
        for (const auto& input : node.inputs) {
            if (is_file_spec(input) && !std::filesystem::exists(input))
                problems.add(node.input_mark,
                             "node '" + node.name + "': input '" + input + "' does not exist");
            if (io::is_kafka_spec(input) && manifest.input_count(i) > 1)
                problems.add(node.input_mark, "node '" + node.name +
                                                  "': a kafka: input must be the node's only input (merging "
                                                  "by event time reads files and pipes)");
            if (input == "-" && manifest.input_count(i) > 1)
                problems.add(node.input_mark,
                             "node '" + node.name + "': input - (stdin) must be the node's only input");
            if (io::is_kafka_spec(input) && !node.is_tool())
                problems.add(node.input_mark, "node '" + node.name +
                                                  "': a command: node reads files, stdin or nodes, not " +
                                                  input);
            else if (io::is_kafka_spec(input) && node.parallel > 1)
                // cep-keyby -j, which feeds the copies, reads files and pipes.
                problems.add(node.input_mark, "node '" + node.name +
                                                  "': parallel: reads files, stdin or nodes, not " + input +
                                                  "; read the topic in a node of its own and give this "
                                                  "one from: it");
            else if (io::is_kafka_spec(input))
                check_kafka(problems, node, node.input_mark, input, kafka, true);
        }
        for (const auto& output : node.outputs)
            if (io::is_kafka_spec(output))
                check_kafka(problems, node, node.output_mark, output, kafka, false);
        std::vector<std::string> outputs = node.outputs;
        if (manifest.writes_stdout(i)) outputs.push_back("-");
        for (const auto& output : outputs) {
            if (output == "-") {
                if (++stdout_writers > 1)
                    problems.add(node.outputs.empty() ? node.mark : node.output_mark,
                                 "node '" + node.name +
                                     "' also writes to standard output; only one node may "
                                     "(nodes without output: and without downstream nodes write there)");
                continue;
            }
            const auto [it, fresh] = writers.emplace(output, node.name);
            if (!fresh)
                problems.add(node.output_mark, "node '" + node.name + "': output '" + output +
                                                   "' is also written by node '" + it->second + "'");
        }
    }
    problems.throw_if_any();
}

namespace {

std::string dot_quote(std::string_view text) {
    std::string out = "\"";
    for (char c : text) {
        if (c == '"' || c == '\\') out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out + '"';
}

} // namespace

std::string to_dot(const Manifest& manifest) {
    std::string out = "digraph pipeline {\n  rankdir=LR;\n  node [shape=box, fontname=\"monospace\"];\n";
    std::set<std::string> ends;
    auto end_node = [&](const std::string& id, const std::string& label) {
        if (ends.insert(id).second)
            out += "  " + dot_quote(id) + " [shape=note, label=" + dot_quote(label) + "];\n";
    };
    for (std::size_t i : manifest.order) {
        const Node& node = manifest.nodes[i];
        std::string line = node.is_tool() ? "cep-" + node.tool : node.command;
        if (node.is_tool())
            for (const auto& arg : node.args)
                line += ' ' + testing::quote_shell_word(arg);
        if (line.size() > 60) line = line.substr(0, 57) + "...";
        std::string label = node.name + "\n" + line;
        if (node.parallel > 1) label += "\nparallel " + std::to_string(node.parallel) + " by " + node.key;
        out += "  " + dot_quote("node:" + node.name) + " [label=" + dot_quote(label) + "];\n";
    }
    for (std::size_t i : manifest.order) {
        const Node& node = manifest.nodes[i];
        const std::string id = dot_quote("node:" + node.name);
        for (const auto& input : node.inputs) {
            end_node("in:" + input, input == "-" ? "stdin" : input);
            out += "  " + dot_quote("in:" + input) + " -> " + id + ";\n";
        }
        for (std::size_t d : manifest.downstream[i])
            out += "  " + id + " -> " + dot_quote("node:" + manifest.nodes[d].name) + ";\n";
        std::vector<std::string> outputs = node.outputs;
        if (manifest.writes_stdout(i)) outputs.push_back("-");
        for (const auto& output : outputs) {
            end_node("out:" + output, output == "-" ? "stdout" : output);
            out += "  " + id + " -> " + dot_quote("out:" + output) + ";\n";
        }
    }
    return out + "}\n";
}

int render_svg(const std::string& dot, const std::string& path) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) throw RuntimeError(std::string("pipe: ") + std::strerror(errno));
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, STDERR_FILENO, STDOUT_FILENO); // keep our stdout clean
    std::string out_flag = "-o" + path;
    char dot_name[] = "dot", tsvg[] = "-Tsvg";
    char* argv[] = {dot_name, tsvg, out_flag.data(), nullptr};
    pid_t pid = 0;
    const int error = posix_spawnp(&pid, "dot", &actions, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    close(fds[0]);
    if (error != 0) {
        close(fds[1]);
        std::fprintf(stderr, "cep graph: cannot run dot (%s); install Graphviz (apt-get install graphviz)\n",
                     std::strerror(error));
        return exit_code::data_error;
    }
    std::size_t written = 0;
    while (written < dot.size()) {
        const ssize_t n = write(fds[1], dot.data() + written, dot.size() - written);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        written += static_cast<std::size_t>(n);
    }
    close(fds[1]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        std::fprintf(stderr, "cep graph: dot failed; %s not written\n", path.c_str());
        return exit_code::data_error;
    }
    return exit_code::ok;
}

} // namespace cep::manifest
