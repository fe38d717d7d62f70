#!/usr/bin/env bash
# cep-keyby -j N reading Kafka: copy i gets exactly the keys of partition i of N, in the order
# of their Kafka partition; with a group, offsets are committed only once the copies have
# exited cleanly and their output is written, so a failed copy loses nothing.
# Usage: test_keyby_jobs.sh TOOLS_DIR MOCK_BROKER
source "$(dirname "$0")/lib.sh"

start_broker --topic events:4
group_flags=(-X session.timeout.ms=6000)

# Keyed messages (key|record), so all the records of a key are in one partition, in order.
keyed() { awk '{ k = $0; sub(/.*"playerId":"/, "", k); sub(/".*/, "", k); print k "|" $0 }' "$1"; }
produce() { keyed "$1" | timeout 30 kcat -P -b "$BROKERS" -t events -K'|' -X partitioner=murmur2_random || fail "kcat -P $1"; }
# The records of each key together, each key's records in their order (a stable sort by key).
by_key() { awk '{ k = $0; sub(/.*"playerId":"/, "", k); sub(/".*/, "", k); print k "\t" $0 }' "$@" | sort -s -t$'\t' -k1,1; }

records 2000 a >"$work/a.ndjson"
records 500 b >"$work/b.ndjson"
records 300 c >"$work/c.ndjson"
records 400 d >"$work/d.ndjson"
produce "$work/a.ndjson"

# Without a group: every partition is read; copy p writes job-p, which must hold exactly the
# records with level > 2 whose key is in partition p of 3, each key's records in input order.
"$tools/cep-keyby" -k member.playerId -j 3 -b "$BROKERS" kafka:events --exit-at-end -o "$work/job-{p}.ndjson" \
    -- "$tools/cep-filter" 'level > 2' 2>"$work/nogroup.err" || fail "cep-keyby -j 3 kafka:events: exit $?"
grep -E '"level":[34]' "$work/a.ndjson" >"$work/want.ndjson"
"$tools/cep-keyby" -k member.playerId --partitions 3 "$work/want.ndjson" -o "$work/want-{p}.ndjson" || fail "split"
for p in 0 1 2; do
    [ -s "$work/want-$p.ndjson" ] || fail "partition $p of 3 holds no key: a weak test"
    diff <(by_key "$work/want-$p.ndjson") <(by_key "$work/job-$p.ndjson") >"$work/diff-$p" ||
        fail "copy $p of 3 did not get exactly its keys' records in order: $(head -5 "$work/diff-$p")"
done
pass "without a group, copy p gets exactly partition p's keys, in order"

# A group and a Kafka output: everything once; a second run resumes at the committed offsets.
run_group() { # run_group OUTFILE_OR_TOPIC -- COMMAND...  (a Kafka output when it has no slash)
    local output=$1
    shift 2
    if [[ $output == */* ]]; then set -- -o "$output" -- "$@"; else set -- -o "kafka:$output" -- "$@"; fi
    "$tools/cep-keyby" -k member.playerId -j 2 -b "$BROKERS" "kafka:events" -G kj --exit-at-end \
        "${group_flags[@]}" "$@"
}
run_group copy -- "$tools/cep-filter" true 2>"$work/group1.err" || fail "group run 1: exit $?"
cmp <(sort "$work/a.ndjson") <(kcat_all copy | sort) || fail "group run 1 did not copy batch a exactly once"
produce "$work/b.ndjson"
run_group copy -- "$tools/cep-filter" true 2>"$work/group2.err" || fail "group run 2: exit $?"
cmp <(sort "$work/a.ndjson" "$work/b.ndjson") <(kcat_all copy | sort) ||
    fail "group run 2 did not resume at the offsets run 1 committed"
pass "a group commits when the copies are done; the next run reads only new records"

# A copy that fails: exit 1, and nothing is committed, so the next run reads batch c again.
produce "$work/c.ndjson"
status=0
run_group "$work/failed.ndjson" -- sh -c 'cat >/dev/null; exit 3' 2>"$work/failed.err" || status=$?
[ $status -eq 1 ] || fail "a failing copy: exit $status, expected 1"
grep -q 'exited with status 3' "$work/failed.err" || fail "the failing copy is not reported: $(cat "$work/failed.err")"
run_group "$work/again.ndjson" -- "$tools/cep-filter" true 2>"$work/again.err" || fail "run after the failure: exit $?"
cmp <(sort "$work/c.ndjson") <(sort "$work/again.ndjson") || fail "records fed to a failed copy were committed"
pass "a failed copy commits nothing: its records are read again"

# A live run (no --exit-at-end) ended as Ctrl-C on a terminal ends it: SIGINT to its whole
# process group (setsid makes one). The input ends, the copies (in a group of their own, so
# spared) finish, the offsets are committed, exit 0.
produce "$work/d.ndjson"
setsid "$tools/cep-keyby" -k member.playerId -j 2 -b "$BROKERS" kafka:events -G kj "${group_flags[@]}" \
    -o "$work/live.ndjson" -- "$tools/cep-filter" true 2>"$work/live.err" &
pid=$!
BG_PIDS+=("$pid")
wait_lines "$work/live.ndjson" 400 60
kill -INT -- "-$pid"
status=0
wait "$pid" || status=$?
[ $status -eq 0 ] || fail "SIGINT to the process group: exit $status, expected 0"
cmp <(sort "$work/d.ndjson") <(sort "$work/live.ndjson") || fail "the live run did not read batch d exactly once"
run_group "$work/after.ndjson" -- "$tools/cep-filter" true 2>"$work/after.err" || fail "run after SIGINT: exit $?"
[ ! -s "$work/after.ndjson" ] || fail "SIGINT did not commit: $(wc -l <"$work/after.ndjson") records read again"
pass "Ctrl-C: the copies finish, offsets are committed, exit 0"

stop_broker
