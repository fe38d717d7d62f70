#!/usr/bin/env bash
# Where a consumer starts and stops: beginning, end, N, -N, s@TS / e@TS (epoch ms and RFC 3339),
# --exit-at-end, and `--time @kafka` (event time from the message timestamp).
# Usage: test_offsets.sh TOOLS_DIR MOCK_BROKER
source "$(dirname "$0")/lib.sh"

start_broker --topic t:1 --topic t2:2
records 100 a >"$work/a.ndjson"
records 100 b >"$work/b.ndjson"
records 100 c >"$work/c.ndjson"
# Three batches a second apart, so message timestamps separate them.
"$tools/cep-filter" true "$work/a.ndjson" -o "kafka://$BROKERS/t" || fail "produce a"
sleep 1.2
t1=$(now_ms)
sleep 0.2
"$tools/cep-filter" true "$work/b.ndjson" -o "kafka://$BROKERS/t" || fail "produce b"
sleep 1.2
t2=$(now_ms)
sleep 0.2
"$tools/cep-filter" true "$work/c.ndjson" -o "kafka://$BROKERS/t" || fail "produce c"

consume() { # consume NAME ARGS... -> $work/NAME.ndjson
    local name=$1
    shift
    "$tools/cep-filter" true -b "$BROKERS" kafka:t --exit-at-end "$@" >"$work/$name.ndjson" 2>"$work/$name.err" ||
        fail "consume $name: $*"
}
expect() { # expect NAME FILES...
    local name=$1
    shift
    cmp <(cat "$@") "$work/$name.ndjson" || fail "$name: not the expected records"
}

consume all
expect all "$work/a.ndjson" "$work/b.ndjson" "$work/c.ndjson"
consume end --offset end
[ ! -s "$work/end.ndjson" ] || fail "--offset end read old records"
consume abs --offset 200
expect abs "$work/c.ndjson"
consume tail --offset -100
expect tail "$work/c.ndjson"
pass "beginning, end, absolute and relative offsets"

consume from_t1 --offset "s@$t1"
expect from_t1 "$work/b.ndjson" "$work/c.ndjson"
consume until_t2 --offset "e@$t2"
expect until_t2 "$work/a.ndjson" "$work/b.ndjson"
consume range --offset "s@$t1" --offset "e@$t2"
expect range "$work/b.ndjson"
rfc1=$(date -u -d "@$((t1 / 1000)).$(printf %03d $((t1 % 1000)))" +%Y-%m-%dT%H:%M:%S.%3NZ)
consume range_rfc --offset "s@$rfc1" --offset "e@$t2"
expect range_rfc "$work/b.ndjson"
"$tools/cep-filter" true "kafka://$BROKERS/t?offset=s@$t1&offset=e@$t2&exit-at-end" >"$work/range_url.ndjson" ||
    fail "offsets in the name"
expect range_url "$work/b.ndjson"
pass "s@TS and e@TS, in epoch ms, RFC 3339 and in the name"

# e@ alone stops without --exit-at-end once every partition passed it.
timeout 30 "$tools/cep-filter" true -b "$BROKERS" kafka:t --offset "e@$t1" >"$work/stop_only.ndjson" ||
    fail "e@ without --exit-at-end did not stop"
expect stop_only "$work/a.ndjson"
pass "e@TS stops by itself"

# --exit-at-end stops at the end seen at start, even while more records arrive.
timeout 30 "$tools/cep-filter" true -b "$BROKERS" kafka:t2 --exit-at-end >"$work/empty.ndjson" || fail "empty topic"
[ ! -s "$work/empty.ndjson" ] || fail "empty topic"
pass "--exit-at-end on an empty topic ends at once"

# --time @kafka: the message timestamp is the event time (seen in progress control records,
# which a filter that drops everything writes for the tool after it).
# Pending progress is written when the input goes quiet, so this one keeps running a moment.
"$tools/cep-filter" false -b "$BROKERS" kafka:t --time @kafka --watermarks always \
    >"$work/progress.ndjson" 2>"$work/progress.err" &
pid=$!
BG_PIDS+=("$pid")
wait_lines "$work/progress.ndjson" 1 30
kill -TERM "$pid"
wait "$pid" || fail "--time @kafka: exit $?"
last=$(tail -1 "$work/progress.ndjson")
ns=$(sed -n 's/.*"t":\([0-9]*\)}.*/\1/p' <<<"$last")
[ -n "$ns" ] || fail "no progress record: $last"
# The last progress is batch c's timestamp (produced after t2), not a time from the records.
[ $((ns / 1000000)) -ge "$t2" ] && [ $((ns / 1000000)) -le "$(now_ms)" ] || fail "progress $ns is not a Kafka timestamp after $t2"
pass "--time @kafka drives event time ($last)"

status=0
"$tools/cep-filter" true "$work/a.ndjson" --time @kafka --watermarks always >/dev/null 2>"$work/notkafka.err" || status=$?
[ $status -eq 0 ] || fail "--time @kafka on a file: exit $status"

status=0
"$tools/cep-filter" true -b "$BROKERS" kafka:t --offset soon 2>"$work/usage.err" || status=$?
[ $status -eq 2 ] || fail "a bad offset: exit $status, expected 2"
status=0
"$tools/cep-filter" true -b "$BROKERS" -G g kafka:t --offset 5 2>"$work/usage2.err" || status=$?
[ $status -eq 2 ] || fail "an absolute offset with a group: exit $status, expected 2"
pass "bad offsets are usage errors"

stop_broker
