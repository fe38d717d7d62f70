// cep-datagen: a deterministic generator of realistic game-event logs (NDJSON), for the
// benchmarks, the examples and anyone trying the tools. Same flags, same bytes, on any machine:
// it uses its own PRNG (splitmix64) rather than <random>'s implementation-defined distributions.

#include <CLI/CLI.hpp>
#include <array>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

namespace {

class Random {
  public:
    explicit Random(std::uint64_t seed) : state_(seed) {}
    std::uint64_t next() {
        std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    std::uint64_t below(std::uint64_t n) { return next() % n; }
    double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

  private:
    std::uint64_t state_;
};

struct Weighted {
    const char* name;
    unsigned weight;
};

// A plausible mix: lots of movement and combat, few purchases and level-ups.
constexpr std::array<Weighted, 10> event_mix{{{"move", 30},
                                               {"kill", 22},
                                               {"chat", 10},
                                               {"item_pickup", 10},
                                               {"login", 6},
                                               {"logout", 6},
                                               {"level_up", 6},
                                               {"quest_complete", 4},
                                               {"dungeon_clear", 3},
                                               {"purchase", 3}}};
constexpr std::array<const char*, 8> countries{"KR", "US", "JP", "DE", "BR", "FR", "TW", "GB"};
constexpr std::array<const char*, 3> platforms{"android", "ios", "pc"};
constexpr std::array<int, 3> game_codes{1302, 1303, 1304};

struct Player {
    int level;
    int country;
    int platform;
};

void format_time(char* out, std::int64_t ms) {
    const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&seconds, &tm);
    std::snprintf(out, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                  tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
}

} // namespace

int main(int argc, char** argv) {
    std::uint64_t lines = 1000;
    std::uint64_t players = 1000;
    std::uint64_t seed = 42;
    std::int64_t start_ms = 1793534400000; // 2026-11-01T12:00:00Z
    double events_per_second = 2000;
    std::int64_t disorder_ms = 0;
    CLI::App app{"Generate a deterministic game-event log as NDJSON on stdout", "cep-datagen"};
    app.add_option("-n,--lines", lines, "Number of events")->capture_default_str();
    app.add_option("-p,--players", players, "Number of distinct players")->capture_default_str();
    app.add_option("-s,--seed", seed, "PRNG seed")->capture_default_str();
    app.add_option("--start-ms", start_ms, "Event time of the first event, epoch ms")->capture_default_str();
    app.add_option("--rate", events_per_second, "Events per second of event time")->capture_default_str();
    app.add_option("--disorder-ms", disorder_ms, "Jitter event times by up to this much (out-of-order input)")
        ->capture_default_str();
    CLI11_PARSE(app, argc, argv);
    if (players == 0) players = 1;

    Random random(seed);
    std::vector<Player> roster(players);
    for (auto& p : roster)
        p = Player{1 + static_cast<int>(random.below(30)), static_cast<int>(random.below(countries.size())),
                   static_cast<int>(random.below(platforms.size()))};
    unsigned total_weight = 0;
    for (const auto& e : event_mix) total_weight += e.weight;

    std::vector<char> out;
    out.reserve(1 << 20);
    char line[512];
    char when[64];
    const double step_ms = 1000.0 / events_per_second;
    for (std::uint64_t i = 0; i < lines; ++i) {
        std::int64_t ms = start_ms + static_cast<std::int64_t>(static_cast<double>(i) * step_ms);
        if (disorder_ms > 0) ms -= static_cast<std::int64_t>(random.below(static_cast<std::uint64_t>(disorder_ms) + 1));
        format_time(when, ms);
        // Skewed player choice: a few players are much more active than most.
        const std::uint64_t id = random.below(4) == 0 ? random.below(players < 100 ? players : 100) : random.below(players);
        Player& player = roster[id];
        unsigned pick = static_cast<unsigned>(random.below(total_weight));
        const char* event = event_mix[0].name;
        for (const auto& e : event_mix) {
            if (pick < e.weight) {
                event = e.name;
                break;
            }
            pick -= e.weight;
        }
        const std::string_view ev(event);
        if (ev == "level_up" && player.level < 60) ++player.level;
        const int game_code = game_codes[random.below(game_codes.size())];
        const bool use_skill = random.below(2) == 0;
        const double price = ev == "purchase" ? static_cast<double>(random.below(10000)) / 100.0 + 0.99 : 0.0;
        const int len = std::snprintf(
            line, sizeof line,
            "{\"ts\":\"%s\",\"game_id\":\"kingdom\",\"event\":\"%s\",\"gameCode\":%d,\"level\":%d,\"useSkill\":%s,"
            "\"member\":{\"playerId\":\"p%06" PRIu64 "\",\"country\":\"%s\",\"platform\":\"%s\"},\"session\":\"s%" PRIu64
            "-%" PRIu64 "\",\"price\":%.2f}\n",
            when, event, game_code, player.level, use_skill ? "true" : "false", id, countries[player.country],
            platforms[player.platform], id, (static_cast<std::uint64_t>(ms) / 1800000) % 1000, price);
        out.insert(out.end(), line, line + len);
        if (out.size() > (1 << 20) - 512) {
            if (std::fwrite(out.data(), 1, out.size(), stdout) != out.size()) return 1;
            out.clear();
        }
    }
    if (!out.empty() && std::fwrite(out.data(), 1, out.size(), stdout) != out.size()) return 1;
    return std::fflush(stdout) == 0 ? 0 : 1;
}
