#!/usr/bin/env bash
# cep-replay --archive from a consumer group commits only records that are on disk: killed
# with SIGKILL while its file is still open, a restart recovers the killed run's .tmp file and
# reads what was not committed, so every record is in the archive at least once.
# Usage: test_archive_commit.sh TOOLS_DIR MOCK_BROKER
source "$(dirname "$0")/lib.sh"

start_broker --topic events:3
group_flags=(-X session.timeout.ms=6000 -X auto.commit.interval.ms=200)
# Event times within one hour, so its file stays open for the whole first run.
hour=1796680800000 # 2026-12-07T22:00:00Z, a whole hour
r() { awk -v n="$1" -v p="$2" -v h="$hour" 'BEGIN { for (i = 1; i <= n; i++)
    printf "{\"ts\":%.0f,\"id\":\"%s%d\",\"pad\":\"%0100d\"}\n", h + i * 10, p, i, i }'; }
r 3000 a >"$work/a.ndjson"
r 3000 b >"$work/b.ndjson"
archive=(--archive "$work/arch" --time-unit ms "kafka://$BROKERS/events?group=arch" "${group_flags[@]}")

timeout 30 kcat -P -b "$BROKERS" -t events -l "$work/a.ndjson" || fail "kcat -P a"
"$tools/cep-replay" "${archive[@]}" 2>"$work/run1.err" &
pid=$!
BG_PIDS+=("$pid")
# Batch a is read and, the input gone quiet, committed (several commit intervals).
for _ in $(seq 100); do [ -n "$(find "$work/arch" -name '*.tmp' 2>/dev/null)" ] && break; sleep 0.1; done
[ -n "$(find "$work/arch" -name '*.tmp')" ] || fail "run 1 opened no archive file"
sleep 3
timeout 30 kcat -P -b "$BROKERS" -t events -l "$work/b.ndjson" || fail "kcat -P b"
sleep 0.3
kill -KILL "$pid"
wait "$pid" 2>/dev/null || true
[ -z "$(find "$work/arch" -name '*.ndjson.zst')" ] || fail "run 1 closed its file: nothing to recover"
[ -n "$(find "$work/arch" -name '*.tmp')" ] || fail "run 1 left no .tmp file"

# Run 2 recovers run 1's file, then reads what run 1 had not committed, to the end.
"$tools/cep-replay" "${archive[@]}" --exit-at-end --stats 2>"$work/run2.err" || fail "run 2: exit $?"
grep -q 'recovered [0-9]* records of a stopped archiver' "$work/run2.err" || fail "run 2 recovered nothing"
[ -z "$(find "$work/arch" -name '*.tmp')" ] || fail ".tmp files left after run 2"
read_again=$(sed -n 's/.*"records_in":\([0-9]*\).*/\1/p' "$work/run2.err" | tail -1)
[ -n "$read_again" ] && [ "$read_again" -lt 6000 ] ||
    fail "run 2 read $read_again records: run 1 committed nothing, a weak test"
for f in $(find "$work/arch" -name '*.ndjson.zst'); do zstd -tq "$f" || fail "$f is not a complete zstd frame"; done

# Three partitions interleave in the files: the replay reorders within a minute.
"$tools/cep-replay" --time-unit ms --max-delay 1m "$work/arch" >"$work/replayed.ndjson" 2>"$work/replay.err" ||
    fail "replay: $(cat "$work/replay.err")"
cmp <(sort "$work/a.ndjson" "$work/b.ndjson") <(sort -u "$work/replayed.ndjson") || fail "records lost"
twice=$(($(wc -l <"$work/replayed.ndjson") - 6000))
pass "killed with its file open, nothing lost (run 2 read $read_again records again; $twice archived twice)"

stop_broker
