#include "cep/control.hpp"

#include <charconv>
#include <chrono>
#include <cstdlib>
#include <dirent.h>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace cep {

std::optional<ControlRecord> parse_control(std::string_view line) {
    ControlRecord control;
    std::string_view rest = line.substr(control_prefix.size());
    if (rest.starts_with("\"progress\"")) {
        control.type = ControlRecord::Type::progress;
    } else if (rest.starts_with("\"watermark\"")) {
        control.type = ControlRecord::Type::watermark;
    } else {
        return std::nullopt;
    }
    const auto at = rest.find("\"t\":");
    if (at == std::string_view::npos) return std::nullopt;
    rest = rest.substr(at + 4);
    auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), control.time);
    if (ec != std::errc() || ptr == rest.data() + rest.size() || *ptr != '}') return std::nullopt;
    return control;
}

std::string format_control(const ControlRecord& control) {
    std::string out(control_prefix);
    out += control.type == ControlRecord::Type::progress ? "\"progress\"" : "\"watermark\"";
    out += ",\"t\":" + std::to_string(control.time) + '}';
    return out;
}

namespace {

std::string read_small_file(const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

/// Process group of `pid` from /proc/PID/stat (field 5, after the parenthesised command name).
long process_group(const std::string& pid) {
    const std::string stat = read_small_file("/proc/" + pid + "/stat");
    const auto close = stat.rfind(')');
    if (close == std::string::npos) return -1;
    std::istringstream fields(stat.substr(close + 2));
    std::string state;
    long ppid = 0, pgrp = -1;
    fields >> state >> ppid >> pgrp;
    return pgrp;
}

enum class Reader { none, cep, other, not_yet_exec };

/// Who reads the pipe on `fd`: scans the processes of our process group (a shell pipeline is
/// one group) for one that has the same pipe open for reading.
Reader find_pipe_reader(int fd) {
    struct stat st {};
    if (fstat(fd, &st) != 0 || !S_ISFIFO(st.st_mode)) return Reader::none;
    const std::string target = "pipe:[" + std::to_string(st.st_ino) + "]";
    const long our_group = getpgrp();
    const std::string self = std::to_string(getpid());
    DIR* proc = opendir("/proc");
    if (proc == nullptr) return Reader::none;
    Reader found = Reader::none;
    while (dirent* entry = readdir(proc)) {
        const std::string pid = entry->d_name;
        if (pid.empty() || pid[0] < '0' || pid[0] > '9' || pid == self) continue;
        if (process_group(pid) != our_group) continue;
        const std::string fd_dir = "/proc/" + pid + "/fd";
        DIR* fds = opendir(fd_dir.c_str());
        if (fds == nullptr) continue;
        bool reads_pipe = false;
        while (dirent* fd_entry = readdir(fds)) {
            char link[128];
            const std::string path = fd_dir + "/" + fd_entry->d_name;
            const ssize_t n = readlink(path.c_str(), link, sizeof link);
            if (n <= 0 || std::string_view(link, static_cast<std::size_t>(n)) != target) continue;
            const std::string info = read_small_file("/proc/" + pid + "/fdinfo/" + fd_entry->d_name);
            const auto flags_at = info.find("flags:");
            if (flags_at == std::string::npos) continue;
            const long flags = std::strtol(info.c_str() + flags_at + 6, nullptr, 8);
            if ((flags & O_ACCMODE) == O_RDONLY) reads_pipe = true;
        }
        closedir(fds);
        if (!reads_pipe) continue;
        std::string comm = read_small_file("/proc/" + pid + "/comm");
        while (!comm.empty() && comm.back() == '\n') comm.pop_back();
        if (comm == "cep" || comm.starts_with("cep-")) {
            found = Reader::cep;
            break;
        }
        // A shell that forked the reader but has not exec'd it yet looks like the shell.
        if (comm == "bash" || comm == "sh" || comm == "dash" || comm == "zsh" || comm == "ksh")
            found = Reader::not_yet_exec;
        else if (found == Reader::none)
            found = Reader::other;
    }
    closedir(proc);
    return found;
}

} // namespace

bool resolve_control_output(ControlOutput mode, int fd) {
    if (mode == ControlOutput::always) return true;
    if (mode == ControlOutput::never) return false;
    if (const char* env = std::getenv("CEP_WATERMARKS")) {
        const std::string_view value(env);
        if (value == "always" || value == "1") return true;
        if (value == "never" || value == "0") return false;
    }
    // The reader of a shell pipeline starts at the same time as we do: give it a moment to exec.
    for (int attempt = 0; attempt < 20; ++attempt) {
        const Reader reader = find_pipe_reader(fd);
        if (reader == Reader::cep) return true;
        if (reader != Reader::not_yet_exec) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
}

} // namespace cep
