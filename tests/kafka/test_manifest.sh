#!/usr/bin/env bash
# Kafka inside manifests: a node's -b, -G and -X apply to its kafka: inputs and outputs in both
# run modes, also when cep run writes the topic itself (fan-out through the tee); a group's
# offsets are committed once the outputs are written; cep check finds a kafka: name without
# brokers, with its position. kcat produces the input and reads the output.
# Usage: test_manifest.sh TOOLS_DIR MOCK_BROKER
source "$(dirname "$0")/lib.sh"

start_broker --topic events:2 --topic kills-fused:1 --topic kills-processes:1
cd "$work"
players=(ann bob cyd)
for i in $(seq 1 40); do
    event=level_up
    [ $((i % 4)) -eq 0 ] && event=kill
    printf '{"ts":%d,"event":"%s","player":"%s"}\n' $((1000 * i)) "$event" "${players[i % 3]}"
done >events.ndjson
timeout 30 kcat -P -b "$BROKERS" -t events -l events.ndjson || fail "kcat -P"
grep '"kill"' events.ndjson | sort >expected-kills.ndjson
# Kills 4, 8, ..., 40: ann (i % 3 == 0) 3 times, bob 4, cyd 3.
expected_counts='{"player":"ann","n":3}
{"player":"bob","n":4}
{"player":"cyd","n":3}'

for mode in fused processes; do
    # kills writes a topic and a file and feeds per_player: in processes mode cep run's tee
    # writes the topic, with the node's -b and -X.
    cat >"$mode.yaml" <<EOF
nodes:
  kills:
    tool: filter
    args: ['event == "kill"', -b, '$BROKERS', -G, 'manifest-$mode', -X, 'session.timeout.ms=6000', --exit-at-end]
    input: kafka:events
    output: [kafka:kills-$mode, kills-$mode.ndjson]
  per_player:
    tool: agg
    args: [-g, player, 'count() as n']
    from: kills
EOF
    "$tools/cep" check "$mode.yaml" >/dev/null 2>"check-$mode.err" || fail "$mode: cep check: $(cat "check-$mode.err")"
    timeout 120 "$tools/cep" run --mode "$mode" "$mode.yaml" >"counts-$mode.ndjson" 2>"run-$mode.err" ||
        fail "$mode: cep run exited $?"
    [ "$(sort "counts-$mode.ndjson")" = "$expected_counts" ] || fail "$mode: counts $(cat "counts-$mode.ndjson")"
    cmp expected-kills.ndjson <(sort "kills-$mode.ndjson") || fail "$mode: the file output"
    kcat_all "kills-$mode" | sort >"topic-$mode.ndjson"
    cmp expected-kills.ndjson "topic-$mode.ndjson" || fail "$mode: the topic kills-$mode (read by kcat)"
    pass "$mode: kafka:events -> filter -> kafka:kills-$mode, a file and an agg"

    # The group committed its offsets at the end: run again, nothing new is read.
    timeout 120 "$tools/cep" run --mode "$mode" "$mode.yaml" >"again-$mode.ndjson" 2>"again-$mode.err" ||
        fail "$mode: second run exited $?"
    # (cep-agg -g with no records has no groups: no output.)
    [ ! -s "again-$mode.ndjson" ] || fail "$mode: the second run read records again: $(cat "again-$mode.ndjson")"
    [ ! -s "kills-$mode.ndjson" ] || fail "$mode: the second run wrote kills again"
    pass "$mode: the consumer group's offsets were committed"
done

# A kafka: name with no brokers is found by cep check, at its position; a foreign command
# cannot take -b.
cat >nobrokers.yaml <<'EOF'
nodes:
  kills:
    tool: filter
    args: ['event == "kill"']
    input: events.ndjson
    output: kafka:kills
  copy:
    command: cat
    from: kills
    output: kafka:copy
EOF
status=0
"$tools/cep" check nobrokers.yaml >/dev/null 2>nobrokers.err || status=$?
[ $status -eq 2 ] || fail "no brokers: cep check exited $status, expected 2"
grep -q "^nobrokers.yaml:6:13: node 'kills': 'kafka:kills': no brokers" nobrokers.err ||
    fail "no brokers: $(cat nobrokers.err)"
grep -q "^nobrokers.yaml:10:13: node 'copy': .*no brokers.*a command: node has no Kafka flags" nobrokers.err ||
    fail "no brokers, foreign: $(cat nobrokers.err)"
pass "cep check: a kafka: output without brokers, with file:line:col"

stop_broker
