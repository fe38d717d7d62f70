#!/usr/bin/env bash
# Faults: brokers down for a few seconds mid-stream lose nothing; a longer outage than
# --kafka-outage-limit exits 1; records that cannot be delivered exit 1 with a message; SIGINT
# drains what was read to a Kafka output and exits 0.
# Usage: test_faults.sh TOOLS_DIR MOCK_BROKER
source "$(dirname "$0")/lib.sh"

start_broker --topic in:2 --topic out:2
records 3000 x >"$work/in.ndjson"

# Producing through an outage: a slow writer, the broker down for 3 s in the middle.
(
    head -1500 "$work/in.ndjson"
    sleep 2
    tail -n +1501 "$work/in.ndjson"
) | "$tools/cep-filter" true -o "kafka://$BROKERS/out" 2>"$work/produce.err" &
pid=$!
BG_PIDS+=("$pid")
sleep 1
mock down 1
sleep 3
mock up 1
status=0
wait "$pid" || status=$?
[ $status -eq 0 ] || fail "producing through an outage: exit $status"
kcat_all out >"$work/out.ndjson"
cmp <(sort "$work/in.ndjson") <(sort "$work/out.ndjson") || fail "records lost or duplicated producing through an outage"
pass "producer: broker down 3 s mid-stream, every record delivered once"

# Consuming through an outage: the consumer waits it out (kcat would exit).
timeout 30 kcat -P -b "$BROKERS" -t in -l <(head -1500 "$work/in.ndjson") || fail "kcat -P first half"
"$tools/cep-filter" true "kafka://$BROKERS/in?group=g" -X session.timeout.ms=6000 -X auto.commit.interval.ms=200 \
    >"$work/consumed.ndjson" 2>"$work/consume.err" &
pid=$!
BG_PIDS+=("$pid")
wait_lines "$work/consumed.ndjson" 1500 60
mock down 1
sleep 4
mock up 1
timeout 30 kcat -P -b "$BROKERS" -t in -l <(tail -n +1501 "$work/in.ndjson") || fail "kcat -P second half"
wait_lines "$work/consumed.ndjson" 3000 60
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
[ $status -eq 0 ] || fail "consumer after an outage: exit $status"
cmp <(sort "$work/in.ndjson") <(sort "$work/consumed.ndjson") || fail "consumer: records lost or duplicated"
pass "consumer: broker down 4 s mid-stream, every record read once"

# SIGINT mid-stream, Kafka to Kafka, with slow broker answers so that records are in flight:
# exit 0, and a restart of the group copies the rest: every record exactly once.
mock rtt 1 150
"$tools/cep-filter" true "kafka://$BROKERS/in?group=sig" -X session.timeout.ms=6000 \
    -o "kafka://$BROKERS/sigout" 2>"$work/sigint.err" &
pid=$!
BG_PIDS+=("$pid")
sleep 5
kill -INT "$pid"
status=0
wait "$pid" || status=$?
[ $status -eq 0 ] || fail "SIGINT with a Kafka output: exit $status"
first=$(kcat_all sigout | wc -l)
mock rtt 1 0
"$tools/cep-filter" true "kafka://$BROKERS/in?group=sig" -X session.timeout.ms=6000 --exit-at-end \
    -o "kafka://$BROKERS/sigout" 2>"$work/sigint2.err" || fail "restart after SIGINT"
kcat_all sigout >"$work/sigout.ndjson"
cmp <(sort "$work/in.ndjson") <(sort "$work/sigout.ndjson") || fail "SIGINT then restart: records lost or duplicated"
pass "SIGINT drains a Kafka output and exits 0 ($first copied before it, the rest after a restart)"

# An outage longer than the limit: exit 1, with a message.
mock down -1
status=0
records 10 y | timeout 60 "$tools/cep-filter" true -o "kafka://$BROKERS/out" --kafka-outage-limit 3s \
    2>"$work/outage.err" || status=$?
mock up -1
[ $status -eq 1 ] || fail "outage over the limit: exit $status, expected 1"
grep -q 'kafka-outage-limit' "$work/outage.err" || fail "no outage message: $(cat "$work/outage.err")"
pass "an outage over --kafka-outage-limit exits 1: $(grep -m1 'outage' "$work/outage.err")"

# A topic that does not exist: nothing delivered, exit 1. (The 2.0 mock creates topics even
# with allow.auto.create.topics=false, so the fixture makes its metadata say "unknown".)
mock topic-error nosuchtopic UNKNOWN_TOPIC_OR_PART
status=0
records 5 z | timeout 60 "$tools/cep-filter" true -o "kafka://$BROKERS/nosuchtopic" \
    -X allow.auto.create.topics=false -X message.timeout.ms=3000 2>"$work/unknown.err" || status=$?
[ $status -eq 1 ] || fail "unknown topic: exit $status, expected 1"
grep -q 'not delivered' "$work/unknown.err" || fail "unknown topic: no message: $(cat "$work/unknown.err")"
pass "an unknown topic exits 1: $(grep -m1 'not delivered' "$work/unknown.err")"

# The broker refuses every Produce request: exit 1, never 0.
mock error out Produce TOPIC_AUTHORIZATION_FAILED 1000
status=0
records 5 w | timeout 60 "$tools/cep-filter" true -o "kafka://$BROKERS/out" 2>"$work/refused.err" || status=$?
[ $status -eq 1 ] || fail "refused produce: exit $status, expected 1"
grep -q 'not delivered\|fatal' "$work/refused.err" || fail "refused produce: no message: $(cat "$work/refused.err")"
pass "a refused Produce exits 1: $(grep -m1 'not delivered\|fatal' "$work/refused.err")"

stop_broker
