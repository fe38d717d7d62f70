#!/usr/bin/env bash
# Consumer groups: offsets are committed after the output is written, so a restarted consumer
# resumes where the last one stopped, without losing or repeating a record.
# Usage: test_group.sh TOOLS_DIR MOCK_BROKER
source "$(dirname "$0")/lib.sh"

start_broker --topic events:3
# The mock's first group join takes ~3 s; shorter sessions can livelock it.
group_flags=(-X session.timeout.ms=6000 -X auto.commit.interval.ms=200)

records 1500 a >"$work/a.ndjson"
records 1500 b >"$work/b.ndjson"
records 1500 c >"$work/c.ndjson"
timeout 30 kcat -P -b "$BROKERS" -t events -l "$work/a.ndjson" || fail "kcat -P a"

# Run 1 reads batch a and keeps waiting; SIGTERM ends it: drain, commit, exit 0.
"$tools/cep-filter" true "kafka://$BROKERS/events?group=g1" "${group_flags[@]}" \
    >"$work/run1.ndjson" 2>"$work/run1.err" &
pid=$!
BG_PIDS+=("$pid")
wait_lines "$work/run1.ndjson" 1500 60
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
[ $status -eq 0 ] || fail "SIGTERM: exit $status, expected 0"
cmp <(sort "$work/a.ndjson") <(sort "$work/run1.ndjson") || fail "run 1 did not read batch a exactly once"
pass "SIGTERM drains, commits and exits 0"

# Run 2, after more records: only the new ones.
timeout 30 kcat -P -b "$BROKERS" -t events -l "$work/b.ndjson" || fail "kcat -P b"
"$tools/cep-filter" true -b "$BROKERS" -G g1 kafka:events --exit-at-end "${group_flags[@]}" \
    >"$work/run2.ndjson" 2>"$work/run2.err" || fail "run 2"
cmp <(sort "$work/b.ndjson") <(sort "$work/run2.ndjson") || fail "run 2 did not resume at the committed offsets"
pass "a restarted group member resumes at the committed offsets"

# A group with no committed offsets starts at the beginning (or where --offset end says).
"$tools/cep-filter" true "kafka://$BROKERS/events?group=fresh" --exit-at-end "${group_flags[@]}" \
    >"$work/fresh.ndjson" 2>"$work/fresh.err" || fail "fresh group"
cmp <(sort "$work/a.ndjson" "$work/b.ndjson") <(sort "$work/fresh.ndjson") || fail "a new group did not start at the beginning"
"$tools/cep-filter" true "kafka://$BROKERS/events?group=late&offset=end" --exit-at-end "${group_flags[@]}" \
    >"$work/late.ndjson" 2>"$work/late.err" || fail "group with offset=end"
[ ! -s "$work/late.ndjson" ] || fail "offset=end for a new group read old records"
pass "a new group starts at the beginning, or at the end with offset=end"

# A crash (SIGKILL) loses nothing: what was not committed is read again.
timeout 30 kcat -P -b "$BROKERS" -t events -l "$work/c.ndjson" || fail "kcat -P c"
"$tools/cep-filter" true "kafka://$BROKERS/events?group=g1" "${group_flags[@]}" \
    >"$work/run3.ndjson" 2>"$work/run3.err" &
pid=$!
BG_PIDS+=("$pid")
wait_lines "$work/run3.ndjson" 500 60
kill -KILL "$pid"
wait "$pid" 2>/dev/null || true
"$tools/cep-filter" true "kafka://$BROKERS/events?group=g1" --exit-at-end "${group_flags[@]}" \
    >"$work/run4.ndjson" 2>"$work/run4.err" || fail "run 4"
cmp <(sort "$work/c.ndjson") <(sort -u "$work/run3.ndjson" "$work/run4.ndjson") || fail "records lost after a crash"
pass "after SIGKILL, nothing is lost ($(($(cat "$work/run3.ndjson" "$work/run4.ndjson" | wc -l) - 1500)) read twice)"

# The commit follows the output: with a Kafka output, offsets are committed only for
# delivered records, so the copy holds every record exactly once across a restart.
"$tools/cep-filter" true "kafka://$BROKERS/events?group=copier" --exit-at-end "${group_flags[@]}" \
    -o "kafka://$BROKERS/copy" 2>"$work/copy.err" || fail "copy to kafka"
kcat_all copy >"$work/copy.ndjson"
cmp <(sort "$work/a.ndjson" "$work/b.ndjson" "$work/c.ndjson") <(sort "$work/copy.ndjson") || fail "kafka -> kafka copy"
pass "kafka -> kafka in a group"

stop_broker
