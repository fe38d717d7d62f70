#!/usr/bin/env bash
# ctest `manifest-metrics`: `cep run --metrics FILE` writes the same lines in fused and processes
# mode, with exact final counts, and lines while the input is quiet.
#
#  1. filter -> window (a file) and filter -> agg (stdout), run in both modes: the final line of
#     every node is exact (records in and out, watermark, state) and both modes agree.
#  2. processes mode with a foreign command (counted on the pipes cep run owns, reporting false)
#     and a parallel: 2 window (its copies' counters summed, the slowest copy's watermark).
#  3. the input is a FIFO that pauses for a second: during the pause the lines show the records
#     so far and the filter waiting for input, in both modes.
#
# Usage: tests/manifest/metrics.sh CEP
set -euo pipefail
cep=${1:?usage: metrics.sh CEP}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cep-metrics-XXXXXX")
trap 'exec 3>&- 2>/dev/null || true; rm -rf "$tmp"' EXIT
cd "$tmp"
export TZ=UTC LC_ALL=C
failed=0

fail() {
    echo "FAIL $*" >&2
    failed=1
}

# 24 events, 10 s apart from 12:00:00: even ones are kills, by dave, alice and carol (i % 3).
players=(dave alice carol)
for i in $(seq 0 23); do
    event=level_up
    [ $((i % 2)) -eq 0 ] && event=kill
    printf '{"ts":"2026-11-01T12:%02d:%02dZ","event":"%s","player":"%s"}\n' \
        $((i / 6)) $((i % 6 * 10)) "$event" "${players[i % 3]}"
done >events.ndjson

# The final line of each node, without what depends on timing.
finals() {
    jq -c 'select(.final) | {node, records_in, records_out, watermark, state, reporting}' "$1"
}

# Every line has these fields, in this order; a node's own final line has numbers (before its
# first report a node's state and shares are null); shares are between 0 and 1.
check_fields() {
    local file=$1 label=$2 bad
    bad=$(jq -c 'select(
        (keys_unsorted != ["node","elapsed_s","records_in","records_out","in_per_s","out_per_s",
                           "watermark","watermark_lag_s","state","waiting_in_s","blocked_out_s",
                           "waiting_in_share","blocked_out_share","reporting","final"])
        or (.elapsed_s | type) != "number"
        or (.final | type) != "boolean"
        or (.final and .reporting and ((.records_in | type) != "number" or (.state | type) != "number"
                            or (.waiting_in_share | type) != "number" or (.blocked_out_share | type) != "number"))
        or (.waiting_in_share != null and (.waiting_in_share < 0 or .waiting_in_share > 1))
        or (.blocked_out_share != null and (.blocked_out_share < 0 or .blocked_out_share > 1))
        or ((.watermark == null) != (.watermark_lag_s == null)))' "$file")
    [ -z "$bad" ] || fail "$label: lines with missing or wrong fields: $bad"
}

# --- 1. the same final lines in both modes ---
cat >tools.yaml <<'EOF'
nodes:
  kills:
    tool: filter
    args: ['event == "kill"']
    input: events.ndjson
  per_player:
    tool: window
    args: -k player --tumbling 1m --agg 'count() as kills'
    from: kills
    output: per-player.ndjson
  total:
    tool: agg
    args: ['count() as kills']
    from: kills
EOF
cat >expected-tools <<'EOF'
{"node":"kills","records_in":24,"records_out":12,"watermark":null,"state":0,"reporting":true}
{"node":"per_player","records_in":12,"records_out":12,"watermark":"2026-11-01T12:03:39.999999999Z","state":0,"reporting":true}
{"node":"total","records_in":12,"records_out":1,"watermark":null,"state":0,"reporting":true}
EOF
for mode in fused processes; do
    rm -f "m-$mode.ndjson"
    if ! "$cep" run --mode "$mode" --metrics "m-$mode.ndjson" tools.yaml >"out-$mode" 2>"err-$mode"; then
        fail "$mode: cep run failed: $(cat "err-$mode")"
        continue
    fi
    [ "$(cat "out-$mode")" = '{"kills":12}' ] || fail "$mode: output $(cat "out-$mode")"
    check_fields "m-$mode.ndjson" "$mode"
    if ! diff -u expected-tools <(finals "m-$mode.ndjson"); then
        fail "$mode: final metrics lines differ from the expected ones"
    fi
done

# --- 2. a foreign command and a parallel: node, in processes mode ---
cat >mixed.yaml <<'EOF'
nodes:
  kills:
    tool: filter
    args: ['event == "kill"']
    input: events.ndjson
  slim:
    command: "grep -v dave"
    from: kills
  per_player:
    tool: window
    args: -k player --tumbling 1m --agg 'count() as kills'
    from: slim
    parallel: 2
    key: player
    output: per-player.ndjson
  total:
    tool: agg
    args: ['count() as kills']
    from: kills
EOF
# slim drops dave's 4 kills; per_player's copies hold alice (last kill 12:03:40) and carol
# (12:03:20) apart: the node's watermark is the slower copy's.
cat >expected-mixed <<'EOF'
{"node":"kills","records_in":24,"records_out":12,"watermark":null,"state":0,"reporting":true}
{"node":"slim","records_in":12,"records_out":8,"watermark":null,"state":null,"reporting":false}
{"node":"per_player","records_in":8,"records_out":8,"watermark":"2026-11-01T12:03:19.999999999Z","state":0,"reporting":true}
{"node":"total","records_in":12,"records_out":1,"watermark":null,"state":0,"reporting":true}
EOF
printf '{"player":"alice"}\n{"player":"carol"}\n' | "$(dirname "$cep")/cep-keyby" -k player --partitions 2 -o 'part-{p}.ndjson'
[ "$(wc -l <part-0.ndjson)" -eq 1 ] && [ "$(wc -l <part-1.ndjson)" -eq 1 ] ||
    fail "precondition: alice and carol are expected in different partitions of 2"
rm -f m-mixed.ndjson
if "$cep" run --mode processes --metrics m-mixed.ndjson mixed.yaml >out-mixed 2>err-mixed; then
    [ "$(cat out-mixed)" = '{"kills":12}' ] || fail "mixed: output $(cat out-mixed)"
    check_fields m-mixed.ndjson mixed
    if ! diff -u expected-mixed <(finals m-mixed.ndjson); then
        fail "mixed: final metrics lines differ from the expected ones"
    fi
    # What a foreign command cannot know is null.
    [ "$(jq -c 'select(.node == "slim" and .final) | [.waiting_in_share, .blocked_out_share]' m-mixed.ndjson)" = '[null,null]' ] ||
        fail "mixed: slim should report no shares"
else
    fail "mixed: cep run failed: $(cat err-mixed)"
fi

# --- 3. lines while the input pauses ---
sed -e 's/input: events.ndjson/input: live.fifo/' tools.yaml >live.yaml
for mode in fused processes; do
    rm -f live.fifo "live-$mode.ndjson"
    mkfifo live.fifo
    "$cep" run --mode "$mode" --metrics "live-$mode.ndjson" --metrics-interval 100ms live.yaml >"live-out-$mode" 2>"live-err-$mode" &
    pid=$!
    exec 3>live.fifo
    head -n 12 events.ndjson >&3
    sleep 1.2
    tail -n 12 events.ndjson >&3
    exec 3>&-
    status=0
    wait "$pid" || status=$?
    [ "$status" -eq 0 ] || fail "live $mode: exit $status: $(cat "live-err-$mode")"
    check_fields "live-$mode.ndjson" "live $mode"
    # During the pause the filter had read the first 12 records and was waiting for more.
    paused=$(jq -c 'select(.node == "kills" and (.final | not) and .records_in == 12 and .waiting_in_share > 0.5)' \
        "live-$mode.ndjson" | wc -l)
    [ "$paused" -ge 3 ] || fail "live $mode: expected lines showing the filter waiting at 12 records, got $paused"
    # Counts never go back, and the last line is the final one with the whole input.
    jq -s -e 'group_by(.node) | all(map(.records_in) as $c | $c == ($c | sort))' "live-$mode.ndjson" >/dev/null ||
        fail "live $mode: a node's records_in went back"
    [ "$(jq -c 'select(.final) | [.node, .records_in]' "live-$mode.ndjson" | tr -d '\n')" = '["kills",24]["per_player",12]["total",12]' ] ||
        fail "live $mode: final counts"
    # The window's watermark lags the wall clock by more than a month (the data is from 2026-11-01).
    jq -e -s 'map(select(.node == "per_player" and .final))[0].watermark_lag_s > 86400' "live-$mode.ndjson" >/dev/null ||
        fail "live $mode: the window's watermark lag"
done

[ "$failed" -eq 0 ] && echo "manifest-metrics: ok"
exit "$failed"
