#!/usr/bin/env bash
# The main job on the bundled example data, no Kafka needed. Installs missing Debian packages
# (as root), builds a Release build, then runs the pipeline and prints what it found.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../tests/setup.sh"
cd "$CEP_ROOT"
data=examples/data/game-events.ndjson.zst   # 50k events, 2,000 players (cep-datagen -n 50000 -p 2000 --rate 20 --disorder-ms 3000 -s 7)
out=$CEP_BUILD/quickstart
rm -rf "$out" && mkdir -p "$out"

echo "== Players reaching level 30 or more (cep-filter, expression form)"
cep-filter 'game_id == "kingdom" && event == "level_up" && level >= 30' "$data" -o "$out/level30.ndjson" --stats
echo "   $(wc -l < "$out/level30.ndjson") level-ups; first one:"
head -1 "$out/level30.ndjson"

echo
echo "== Kills with a skill in game 1302 (cep-filter, the operators' conditions form),"
echo "   split by player into 4 Kafka-compatible partitions (cep-keyby, murmur2)"
cep-filter --conditions examples/conditions/kill-with-skill.yaml "$data" \
  | cep-keyby -k member.playerId --partitions 4 -o "$out/kills-part-{p}.ndjson"
for f in "$out"/kills-part-*.ndjson; do
  printf '   %s: %s kills by %s players\n' "$(basename "$f")" "$(wc -l < "$f")" \
    "$(cep-keyby -k member.playerId "$f" | grep -o '"playerId":"[^"]*"' | sort -u | wc -l)"
done

echo
echo "== Missions (cep-sequence, rules as data in examples/missions/missions.yaml): matches per rule"
cep-sequence --rules examples/missions/missions.yaml --max-delay 5s "$data" -o "$out/rewards.ndjson"
cep-agg -g rule 'count() as matches, count_distinct(key) as players' "$out/rewards.ndjson" | sed 's/^/   /'
echo "   a reward record:"
grep -m1 '"veteran_dungeon"' "$out/rewards.ndjson" | sed 's/^/   /'

echo
echo "== A manifest (cep run examples/pipelines/sessions): sessions, bot-like sessions, metrics"
cp -rL examples/pipelines/sessions "$out/pipeline"
(cd "$out/pipeline" && cep run manifest.yaml > metrics.ndjson)
printf '   %s sessions, %s bot-like, %s country-minute metrics\n' "$(wc -l < "$out/pipeline/sessions.ndjson")" \
  "$(wc -l < "$out/pipeline/bots.ndjson")" "$(wc -l < "$out/pipeline/metrics.ndjson")"

echo
echo "Outputs are in $out"
