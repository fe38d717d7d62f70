#!/usr/bin/env bash
# ctest `manifest-signals`: cep run on a never-ending input (a FIFO whose writer stays), in both
# modes:
#
#  1. SIGTERM drains the pipeline: exit 0, every record read before the signal is in the
#     outputs (windows still open are emitted, files flushed), and no node is left running.
#     Processes mode has a foreign command and a parallel: node, which must drain too.
#  2. (processes) a node killed from outside stops the run: cep run names it and shows the end
#     of its stderr, exits 1, and no node is left running.
#
# Every node's command line holds a marker unique to this run, so `pgrep -f` finds exactly
# this run's processes.
#
# Usage: tests/manifest/signals.sh CEP
set -euo pipefail
cep=${1:?usage: signals.sh CEP}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cep-signals-XXXXXX")
marker="mark$$x$RANDOM"
cleanup() {
    exec 3>&- 2>/dev/null || true
    pkill -KILL -f "$marker" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
cd "$tmp"
export TZ=UTC LC_ALL=C
failed=0
fail() {
    echo "FAIL $*" >&2
    failed=1
}

# wait_for COMMAND...: up to 10 s, until it succeeds.
wait_for() {
    for _ in $(seq 100); do
        "$@" && return 0
        sleep 0.1
    done
    return 1
}
lines() { [ -f "$1" ] && [ "$(wc -l <"$1")" -ge "$2" ]; }

# 8 kills of two players within one minute; no record closes their windows.
for i in $(seq 1 8); do
    printf '{"ts":"2026-11-01T12:00:%02dZ","event":"kill","player":"%s"}\n' $((i * 5)) "$([ $((i % 2)) -eq 0 ] && echo ann || echo bob)"
done >events.ndjson

cat >fused.yaml <<EOF
nodes:
  kills:
    tool: filter
    args: ['event == "kill" || event == "$marker"']
    input: live.fifo
    output: kills.ndjson
  per_player:
    tool: window
    args: [-k, player, --tumbling, 1m, --agg, 'count() as $marker']
    from: kills
EOF
cat >processes.yaml <<EOF
nodes:
  kills:
    tool: filter
    args: ['event == "kill" || event == "$marker"']
    input: live.fifo
    output: kills.ndjson
  slim:
    command: "grep -v $marker"
    from: kills
  per_player:
    tool: window
    args: [-k, player, --tumbling, 1m, --agg, 'count() as $marker']
    from: slim
    parallel: 2
    key: player
EOF
expected="{\"player\":\"ann\",\"window\":{\"start\":\"2026-11-01T12:00:00Z\",\"end\":\"2026-11-01T12:01:00Z\"},\"$marker\":4}
{\"player\":\"bob\",\"window\":{\"start\":\"2026-11-01T12:00:00Z\",\"end\":\"2026-11-01T12:01:00Z\"},\"$marker\":4}"

# --- 1. SIGTERM drains ---
for mode in fused processes; do
    rm -f live.fifo kills.ndjson
    mkfifo live.fifo
    "$cep" run --mode "$mode" "$mode.yaml" >"out-$mode" 2>"err-$mode" &
    pid=$!
    exec 3>live.fifo
    cat events.ndjson >&3
    # The records went through the first node (its file is flushed while the input is quiet);
    # the writer stays: the input never ends.
    wait_for lines kills.ndjson 8 || fail "$mode: the filter's output did not arrive"
    kill -TERM "$pid"
    status=0
    wait "$pid" || status=$?
    exec 3>&-
    [ "$status" -eq 0 ] || fail "$mode: SIGTERM: exit $status, expected 0: $(cat "err-$mode")"
    [ "$(sort "out-$mode")" = "$expected" ] || fail "$mode: the open windows were not emitted: $(cat "out-$mode")"
    cmp -s events.ndjson kills.ndjson || fail "$mode: kills.ndjson is not every record read"
    left=$(pgrep -f "$marker" || true)
    [ -z "$left" ] || fail "$mode: processes left after cep run ended: $(ps -o pid,args -p "${left//$'\n'/,}" || true)"
    [ "$failed" -eq 0 ] && echo "ok   $mode: SIGTERM drained the pipeline, nothing left running"
done

# --- 2. a node killed from outside ---
rm -f live.fifo kills.ndjson
mkfifo live.fifo
"$cep" run --mode processes processes.yaml >out-killed 2>err-killed &
pid=$!
exec 3>live.fifo
cat events.ndjson >&3
wait_for lines kills.ndjson 8 || fail "killed: the filter's output did not arrive"
victim=$(pgrep -f "^/bin/sh -c grep -v $marker" || true)
[ -n "$victim" ] || fail "killed: the foreign node is not running"
kill -KILL $victim 2>/dev/null || true
status=0
wait "$pid" || status=$?
exec 3>&-
[ "$status" -eq 1 ] || fail "killed: exit $status, expected 1"
grep -q "^cep run: node 'slim' (grep -v $marker) was killed by signal Killed" err-killed ||
    fail "killed: the failing node is not named: $(cat err-killed)"
left=$(pgrep -f "$marker" || true)
[ -z "$left" ] || fail "killed: processes left after cep run ended: $left"
[ "$failed" -eq 0 ] && echo "ok   processes: a node killed from outside stops the run, named, nothing left"

exit "$failed"
