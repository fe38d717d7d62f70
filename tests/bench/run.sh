#!/usr/bin/env bash
# Benchmarks, side by side with peers in one run, reported as ratios. Not part of ctest:
# speed is a property of a machine, so it is measured here and written down in notes.
#
#   tests/bench/run.sh [--lines N] [BENCH...]     (default: every benchmark, 10 M lines)
#
# Data: a deterministic generated game-event log (cep-datagen), cached under build/bench-data.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../setup.sh"

lines=10000000
benches=()
while [ $# -gt 0 ]; do
  case "$1" in
    --lines) lines=$2; shift 2 ;;
    *) benches+=("$1"); shift ;;
  esac
done
[ ${#benches[@]} -gt 0 ] || benches=(filter agg window sequence replay manifest)

data_dir=$CEP_BUILD/bench-data
mkdir -p "$data_dir"
events=$data_dir/events-$lines.ndjson
if [ ! -s "$events" ]; then
  echo "generating $lines events into $events" >&2
  "$CEP_BUILD/tests/cep-datagen" -n "$lines" -p 100000 -s 1 > "$events.tmp" && mv "$events.tmp" "$events"
fi
bytes=$(stat -L -c %s "$events") # -L: the data file may be a symlink to a shared copy
cat "$events" > /dev/null # warm the page cache so every tool reads from memory

# Best wall-clock seconds of N runs of a command (stdout to a file).
best_of() {
  local runs=$1 out=$2; shift 2
  local best=""
  for _ in $(seq "$runs"); do
    local start end
    start=$(date +%s.%N)
    "$@" > "$out"
    end=$(date +%s.%N)
    local t
    t=$(echo "$end - $start" | bc -l)
    if [ -z "$best" ] || [ "$(echo "$t < $best" | bc -l)" = 1 ]; then best=$t; fi
  done
  echo "$best"
}

bench_filter() {
  local expr='event == "level_up" && level == 3'
  local jq_prog='select(.event=="level_up" and .level==3)'
  local tmp; tmp=$(mktemp -d)
  local t_cep t_jq
  t_cep=$(best_of 3 "$tmp/cep.out" taskset -c 0 "$CEP_BUILD/tools/cep-filter" "$expr" "$events")
  t_jq=$(best_of 1 "$tmp/jq.out" taskset -c 0 jq -c "$jq_prog" "$events")
  # jq re-serializes numbers (0.00 -> 0), so compare both outputs in jq's canonical form.
  jq -c . "$tmp/cep.out" > "$tmp/cep.canon"
  if ! cmp -s "$tmp/cep.canon" "$tmp/jq.out"; then
    echo "filter: OUTPUT DIFFERS between cep-filter and jq" >&2
    diff <(head -5 "$tmp/cep.canon") <(head -5 "$tmp/jq.out") >&2 || true
    rm -rf "$tmp"
    return 1
  fi
  local matched; matched=$(wc -l < "$tmp/cep.out")
  printf 'filter: %s lines, %.2f GB; %s matched (identical output)\n' "$lines" "$(echo "$bytes/1000000000" | bc -l)" "$matched"
  printf '  cep-filter %-40s %8.3f s  %6.2f GB/s  %6.2f M lines/s\n' "'$expr'" "$t_cep" \
    "$(echo "$bytes/$t_cep/1000000000" | bc -l)" "$(echo "$lines/$t_cep/1000000" | bc -l)"
  printf '  jq -c      %-40s %8.3f s  %6.2f GB/s\n' "'$jq_prog'" "$t_jq" "$(echo "$bytes/$t_jq/1000000000" | bc -l)"
  printf '  ratio: cep-filter is %.1fx faster than jq\n' "$(echo "$t_jq/$t_cep" | bc -l)"
  rm -rf "$tmp"
}

# cep-agg -g event 'count()' against Miller's `count -g event` on the same file, one core each.
bench_agg() {
  local tmp; tmp=$(mktemp -d)
  local t_cep t_mlr
  t_cep=$(best_of 3 "$tmp/cep.out" taskset -c 0 "$CEP_BUILD/tools/cep-agg" -g event 'count()' "$events")
  t_mlr=$(best_of 1 "$tmp/mlr.out" taskset -c 0 mlr --ijsonl --ojsonl count -g event "$events")
  # Both sides as "event count" lines in one order: the counts must agree exactly.
  jq -r '"\(.event) \(.count)"' "$tmp/cep.out" | sort > "$tmp/cep.txt"
  jq -r '"\(.event) \(.count)"' "$tmp/mlr.out" | sort > "$tmp/mlr.txt"
  if ! cmp -s "$tmp/cep.txt" "$tmp/mlr.txt"; then
    echo "agg: COUNTS DIFFER between cep-agg and mlr" >&2
    diff "$tmp/cep.txt" "$tmp/mlr.txt" >&2 || true
    rm -rf "$tmp"
    return 1
  fi
  # bc reads no exponent notation (1e9): powers of ten are written out.
  local groups; groups=$(wc -l < "$tmp/cep.txt")
  printf 'agg: %s lines, %.2f GB; %s groups (identical counts)\n' "$lines" "$(echo "$bytes/1000000000" | bc -l)" "$groups"
  printf '  cep-agg -g event %-22s %8.3f s  %6.2f M events/s\n' "'count()'" "$t_cep" "$(echo "$lines/$t_cep/1000000" | bc -l)"
  printf '  mlr --ijsonl count -g event %-11s %8.3f s  %6.2f M events/s\n' "" "$t_mlr" "$(echo "$lines/$t_mlr/1000000" | bc -l)"
  printf '  ratio: cep-agg is %.1fx faster than mlr\n' "$(echo "$t_mlr/$t_cep" | bc -l)"
  rm -rf "$tmp"
}

# cep-window's target (from the issue): 100k keys x tumbling 1m with count() at >= 3 M events/s.
# Reports the best wall time of 3 runs, with the CPU time and peak memory (GNU time) of the
# best, and checks that the counts add up to the input (in-order data: no record is late).
bench_window() {
  if [ ! -x /usr/bin/time ]; then
    echo "window: needs GNU time for peak memory (apt-get install time)" >&2
    return 1
  fi
  local tmp; tmp=$(mktemp -d)
  local args=(-k member.playerId --tumbling 1m --agg 'count()')
  local best="" rss="" cpu=""
  for _ in 1 2 3; do
    taskset -c 0 /usr/bin/time -f '%e %U %S %M' -o "$tmp/time" "$CEP_BUILD/tools/cep-window" "${args[@]}" "$events" > "$tmp/out"
    local wall user sys kb
    read -r wall user sys kb < "$tmp/time"
    if [ -z "$best" ] || [ "$(echo "$wall < $best" | bc -l)" = 1 ]; then
      best=$wall rss=$kb cpu=$(echo "$user + $sys" | bc -l)
    fi
  done
  local results counted
  results=$(wc -l < "$tmp/out")
  counted=$(grep -o '"count":[0-9]*' "$tmp/out" | awk -F: '{ n += $2 } END { print n + 0 }')
  if [ "$counted" != "$lines" ]; then
    echo "window: the counts add up to $counted, not $lines" >&2
    rm -rf "$tmp"
    return 1
  fi
  local rate; rate=$(echo "$lines/$best/1000000" | bc -l)
  printf 'window: %s lines, %.2f GB; %s results (key x minute), counts add up
' "$lines" "$(echo "$bytes/1000000000" | bc -l)" "$results"
  printf "  cep-window %s %8.3f s  %6.2f M events/s  (CPU %.3f s)  peak RSS %.1f MB\n" "${args[*]}" "$best" "$rate" "$cpu" "$(echo "$rss/1024" | bc -l)"
  if [ "$(echo "$rate >= 3" | bc -l)" = 1 ]; then echo "  target >= 3 M events/s: met"; else echo "  target >= 3 M events/s: NOT met"; fi
  rm -rf "$tmp"
}

# cep-sequence, from the issue: a two-stage mission keyed by player (100k players) at >= 3 M
# events/s, and 1,000 rules at once (mixed kinds, sharing few distinct conditions) at >= 1 M
# events/s; peak memory of each. No peer runs the same patterns, so these are absolute figures.
sequence_rules_1000() { # a deterministic rule file: count, sequence and all-of rules in turn
  local events=(chat dungeon_clear item_pickup kill level_up login logout move purchase quest_complete)
  echo "rules:"
  for i in $(seq 0 999); do
    local e1=${events[i % 10]} e2=${events[(i * 7 + 3) % 10]} e3=${events[(i * 3 + 1) % 10]}
    case $((i % 3)) in
    0) echo "  - {id: count_$i, keyed: member.playerId, where: 'event == \"$e1\" && gameCode == $((1301 + i % 4))', count: $((10 + i % 20)), within: $((5 + i % 30))m, fire: once, emit_events: false}" ;;
    1) echo "  - {id: seq_$i, keyed: member.playerId, pattern: 'a: event == \"$e1\" && level >= $((i % 30)) -> b: event == \"$e2\"', within: $((5 + i % 30))m, skip: skip_past_last, fire: once, emit_events: false}" ;;
    2) echo "  - {id: allof_$i, keyed: member.playerId, within: $((10 + i % 50))m, fire: once, emit_events: false, all_of: [{name: x, where: 'event == \"$e1\"', count: $((2 + i % 3))}, {name: y, where: 'event == \"$e3\"', count: $((1 + i % 2))}]}" ;;
    esac
  done
}

bench_sequence() {
  local tmp; tmp=$(mktemp -d)
  sequence_rules_1000 > "$tmp/rules.yaml"
  "$CEP_BUILD/tools/cep-sequence" --rules "$tmp/rules.yaml" --check > /dev/null
  local name args
  for name in two_stage rules_1000; do
    if [ "$name" = two_stage ]; then
      args=(-k member.playerId --pattern 'a: event == "level_up" -> b: event == "dungeon_clear"' --within 1h
            --skip skip_past_last --no-events)
    else
      args=(--rules "$tmp/rules.yaml")
    fi
    # 1,000 rules run far below the target yet (about 30 k events/s: see the notes of issue 4),
    # so they get the first 1 M lines only, or the run would take most of an hour.
    local n=$lines input=$events
    if [ "$name" = rules_1000 ] && [ "$lines" -gt 1000000 ]; then
      n=1000000 input=$tmp/head.ndjson
      head -n "$n" "$events" > "$input"
    fi
    taskset -c 0 /usr/bin/time -f '%e %U %S %M' -o "$tmp/time" "$CEP_BUILD/tools/cep-sequence" "${args[@]}" "$input" > "$tmp/out"
    local wall user sys kb
    read -r wall user sys kb < "$tmp/time"
    printf 'sequence %-10s %9s lines %8.3f s  %6.2f M events/s  (CPU %.3f s)  peak RSS %.1f MB  %s matches\n' "$name" "$n" "$wall" \
      "$(echo "$n/$wall/1000000" | bc -l)" "$(echo "$user + $sys" | bc -l)" "$(echo "$kb/1024" | bc -l)" "$(wc -l < "$tmp/out")"
  done
  rm -rf "$tmp"
}

# cep-replay over the generated log as one .zst archive against `zstd -dc` of the same file, one
# core each: a single sorted input must cost little more than decompressing it (target: within
# 1.5x). The outputs must be byte-identical (records pass through as their bytes).
bench_replay() {
  local archive=$events.zst
  if [ ! -s "$archive" ]; then
    echo "compressing $events into $archive" >&2
    zstd -q -3 -f "$events" -o "$archive.tmp" && mv "$archive.tmp" "$archive"
  fi
  cat "$archive" > /dev/null
  local tmp; tmp=$(mktemp -d)
  local t_cep t_zstd
  t_cep=$(best_of 3 "$tmp/cep.out" taskset -c 0 "$CEP_BUILD/tools/cep-replay" "$archive")
  t_zstd=$(best_of 3 "$tmp/zstd.out" taskset -c 0 zstd -dc "$archive")
  if ! cmp -s "$tmp/cep.out" "$tmp/zstd.out"; then
    echo "replay: OUTPUT DIFFERS between cep-replay and zstd -dc" >&2
    rm -rf "$tmp"
    return 1
  fi
  local ratio; ratio=$(echo "$t_cep/$t_zstd" | bc -l)
  printf 'replay: %s lines, %.2f GB (%.2f GB compressed); identical output\n' "$lines" \
    "$(echo "$bytes/1000000000" | bc -l)" "$(echo "$(stat -c %s "$archive")/1000000000" | bc -l)"
  printf '  cep-replay FILE.zst %8.3f s  %6.2f M lines/s\n' "$t_cep" "$(echo "$lines/$t_cep/1000000" | bc -l)"
  printf '  zstd -dc FILE.zst   %8.3f s  %6.2f M lines/s\n' "$t_zstd" "$(echo "$lines/$t_zstd/1000000" | bc -l)"
  printf '  ratio: cep-replay takes %.2fx the time of zstd -dc' "$ratio"
  if [ "$(echo "$ratio <= 1.5" | bc -l)" = 1 ]; then echo " (target <= 1.5x: met)"; else echo " (target <= 1.5x: NOT met)"; fi
  rm -rf "$tmp"
}

# The front door, from the issue: a 3-node manifest (filter -> window -> agg) run fused (one
# process, operators chained by calls) against the same manifest as processes and the same
# tools joined by shell pipes, in one run, not pinned (processes may use every core). The three
# outputs must be identical.
bench_manifest() {
  local tmp; tmp=$(mktemp -d)
  cat > "$tmp/pipeline.yaml" <<EOF_MANIFEST
nodes:
  purchases:
    tool: filter
    args: ['event == "purchase"']
    input: $events
  per_country:
    tool: window
    args: {-k: member.country, --tumbling: 1m, --agg: 'count(), sum(price) as revenue'}
    from: purchases
  per_minute:
    tool: agg
    args: [-g, window.start, 'sum(count) as purchases, sum(revenue) as revenue, count() as countries']
    from: per_country
EOF_MANIFEST
  local t_fused t_proc t_pipe
  t_fused=$(best_of 2 "$tmp/fused.out" "$CEP_BUILD/tools/cep" run --mode fused "$tmp/pipeline.yaml")
  t_proc=$(best_of 2 "$tmp/proc.out" "$CEP_BUILD/tools/cep" run --mode processes "$tmp/pipeline.yaml")
  pipeline() {
    "$CEP_BUILD/tools/cep-filter" 'event == "purchase"' "$events" |
      "$CEP_BUILD/tools/cep-window" -k member.country --tumbling 1m --agg 'count(), sum(price) as revenue' |
      "$CEP_BUILD/tools/cep-agg" -g window.start 'sum(count) as purchases, sum(revenue) as revenue, count() as countries'
  }
  t_pipe=$(best_of 2 "$tmp/pipe.out" pipeline)
  if ! cmp -s "$tmp/fused.out" "$tmp/proc.out" || ! cmp -s "$tmp/fused.out" "$tmp/pipe.out"; then
    echo "manifest: OUTPUTS DIFFER between fused, processes and pipes" >&2
    rm -rf "$tmp"
    return 1
  fi
  printf 'manifest: %s lines; filter -> window -> agg, %s result lines, identical in the three runs\n' "$lines" "$(wc -l < "$tmp/fused.out")"
  printf '  cep run --mode fused      %8.3f s\n' "$t_fused"
  printf '  cep run --mode processes  %8.3f s  (fused is %.2fx faster)\n' "$t_proc" "$(echo "$t_proc/$t_fused" | bc -l)"
  printf '  shell pipes               %8.3f s  (fused is %.2fx faster)\n' "$t_pipe" "$(echo "$t_pipe/$t_fused" | bc -l)"
  rm -rf "$tmp"
}

for b in "${benches[@]}"; do
  if ! declare -F "bench_$b" > /dev/null; then
    echo "run.sh: unknown benchmark '$b' (known: filter agg window sequence replay manifest)" >&2
    exit 2
  fi
  "bench_$b"
done
