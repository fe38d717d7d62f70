#!/usr/bin/env bash
# Kappa-style reprocessing on the bundled game events, step by step:
#   1. archive: the stream so far (events before 12:30) is written as 10-minute .zst files,
#      the way a service archives a topic (cep-replay --archive);
#   2. reprocess: a new version of a job (events per player per 5 minutes) runs over the whole
#      archive at full speed, in event-time order;
#   3. go live: the same job continues on the live log (--follow), from exactly where the
#      archive ended: no gap, no record counted twice.
# The results equal one run of the job over all the data, which the script checks.
#
#   bash examples/kappa/walkthrough.sh [BIN_DIR]     (default: build/tools)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bin=${1:-$root/build/tools}
data=$root/examples/data/game-events.ndjson.zst
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
job=(-k member.playerId --tumbling 5m --max-delay 5s --agg 'count() as n')

echo "1. archive the stream so far into $work/archive"
"$bin/cep-filter" 'ts < "2026-11-01T12:30:00"' "$data" |
    "$bin/cep-replay" --max-delay 5s --archive "$work/archive" --archive-every 10m
find "$work/archive" -type f | sort | sed "s|$work/||; s|^|   |"

echo "2. reprocess the archive with the new job, then 3. follow the live log"
: > "$work/live.ndjson"
"$bin/cep-replay" --max-delay 5s "$work/archive" --follow "$work/live.ndjson" |
    "$bin/cep-window" "${job[@]}" > "$work/results.ndjson" &
pipeline=$!
# The live log grows while the job runs: the events from 12:30 on, in two writes.
"$bin/cep-filter" 'ts >= "2026-11-01T12:30:00"' "$data" > "$work/new.ndjson"
half=$(($(wc -l < "$work/new.ndjson") / 2))
head -n "$half" "$work/new.ndjson" >> "$work/live.ndjson"
sleep 1
tail -n +"$((half + 1))" "$work/new.ndjson" >> "$work/live.ndjson"
sleep 1
# Stopping the replay ends the pipeline: the window job flushes every open window.
pkill -TERM -f -- "--follow $work/live.ndjson" || true
wait "$pipeline"

"$bin/cep-window" "${job[@]}" "$data" > "$work/one-pass.ndjson"
if cmp -s "$work/results.ndjson" "$work/one-pass.ndjson"; then
    echo "   $(wc -l < "$work/results.ndjson") results, identical to one pass over all the data"
else
    echo "   results differ from one pass over all the data:" >&2
    diff <(sort "$work/results.ndjson") <(sort "$work/one-pass.ndjson") | head >&2
    exit 1
fi
