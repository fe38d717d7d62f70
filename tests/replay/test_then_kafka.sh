#!/usr/bin/env bash
# --then kafka://: after the archive, the topic continues from the archive's last event time,
# found by offsets-for-times, without gap or overlap.
# Usage: test_then_kafka.sh TOOLS_DIR MOCK_BROKER
source "$(dirname "$0")/../kafka/lib.sh"

start_broker --topic live:1
r() { printf '{"ts":%s,"n":"%s"}\n' "$1" "$2"; }
base=$(now_ms)
sleep 0.1 # message timestamps (produce time) then all come after the archive ends
# The archive: event times base+0..base+30 (ms), ending with two records at base+30.
{ r $((base)) a; r $((base + 10)) b; r $((base + 30)) c; r $((base + 30)) d; } >"$work/archive.ndjson"
# The topic overlaps the archive's end: timestamps are when kcat produces, and the event times
# in the records decide. b and c were archived; e (at base+30) and f were not.
{ r $((base + 10)) b; r $((base + 30)) c; r $((base + 30)) e; r $((base + 5000)) f; } |
    kcat -P -b "$BROKERS" -t live || fail "produce"

"$tools/cep-replay" --time-unit ms "$work/archive.ndjson" --then "kafka://$BROKERS/live" --exit-at-end --stats \
    >"$work/out.ndjson" 2>"$work/replay.err" || fail "cep-replay --then"
{ r $((base)) a; r $((base + 10)) b; r $((base + 30)) c; r $((base + 30)) d; r $((base + 30)) e; r $((base + 5000)) f; } \
    >"$work/expected.ndjson"
cmp -s "$work/expected.ndjson" "$work/out.ndjson" || { diff "$work/expected.ndjson" "$work/out.ndjson" >&2; fail "--then output"; }
grep -q '"already_replayed":2' "$work/replay.err" || fail "expected 2 records already replayed"
pass "--then continues the archive from the topic without gap or overlap"
