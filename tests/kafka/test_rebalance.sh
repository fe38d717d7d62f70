#!/usr/bin/env bash
# Two members of one group: when the second joins, the first loses partitions, writes out what
# it emitted and commits before letting go. Nothing may be lost across the rebalances. A real
# broker accepts that commit, so nothing is read twice either; librdkafka's 2.0 mock refuses
# commits while the group is joining (REBALANCE_IN_PROGRESS), so here records read since the
# last periodic commit (-X auto.commit.interval.ms=200) may be read again by the new owner.
# Usage: test_rebalance.sh TOOLS_DIR MOCK_BROKER
source "$(dirname "$0")/lib.sh"

start_broker --topic events:4
flags=(-X session.timeout.ms=6000 -X heartbeat.interval.ms=500 -X auto.commit.interval.ms=200)
records 2000 a >"$work/a.ndjson"
records 2000 b >"$work/b.ndjson"
records 2000 c >"$work/c.ndjson"

timeout 30 kcat -P -b "$BROKERS" -t events -l "$work/a.ndjson" || fail "kcat -P a"
"$tools/cep-filter" true "kafka://$BROKERS/events?group=g" "${flags[@]}" >"$work/one.ndjson" 2>"$work/one.err" &
one=$!
BG_PIDS+=("$one")
wait_lines "$work/one.ndjson" 2000 60

# The second member joins: partitions move from the first to it.
"$tools/cep-filter" true "kafka://$BROKERS/events?group=g" "${flags[@]}" >"$work/two.ndjson" 2>"$work/two.err" &
two=$!
BG_PIDS+=("$two")
# Batch b trickles in over ~15 s, so that the rebalance (a few seconds on the mock, longer on a
# loaded machine) happens while it flows.
split -l 100 "$work/b.ndjson" "$work/b-part."
for part in "$work"/b-part.*; do
    timeout 30 kcat -P -b "$BROKERS" -t events -l "$part" || fail "kcat -P $part"
    sleep 0.75
done
for _ in $(seq 300); do
    [ "$(cat "$work/one.ndjson" "$work/two.ndjson" | wc -l)" -ge 4000 ] && break
    sleep 0.1
done
[ -s "$work/two.ndjson" ] || fail "the second member got no records (no rebalance?)"

# The first leaves (SIGTERM): its partitions go back to the second.
kill -TERM "$one"
status=0
wait "$one" || status=$?
[ $status -eq 0 ] || fail "first member: exit $status"
timeout 30 kcat -P -b "$BROKERS" -t events -l "$work/c.ndjson" || fail "kcat -P c"
for _ in $(seq 300); do
    [ "$(cat "$work/one.ndjson" "$work/two.ndjson" | wc -l)" -ge 6000 ] && break
    sleep 0.1
done
kill -TERM "$two"
status=0
wait "$two" || status=$?
[ $status -eq 0 ] || fail "second member: exit $status"

sort "$work/a.ndjson" "$work/b.ndjson" "$work/c.ndjson" >"$work/want"
sort -u "$work/one.ndjson" "$work/two.ndjson" >"$work/got"
cmp "$work/want" "$work/got" || fail "across rebalances: records lost ($(wc -l <"$work/got") of 6000 distinct)"
total=$(cat "$work/one.ndjson" "$work/two.ndjson" | wc -l)
# Bounded: at most what the revoking member read since its last commit, never a full batch.
[ "$total" -lt 8000 ] || fail "across rebalances: $((total - 6000)) records read twice"
pass "two members, two rebalances: nothing lost ($(wc -l <"$work/one.ndjson") + $(wc -l <"$work/two.ndjson"), $((total - 6000)) read twice because the mock refuses commits while joining)"

stop_broker
