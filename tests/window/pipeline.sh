#!/usr/bin/env bash
# Two cep-window stages in a pipe, with the first's watermarks flowing to the second as control
# records: per-country minutes rolled up into 5-minute totals by window.start must equal
# 5-minute windows computed directly, with no result of the first stage late in the second.
#
#   tests/window/pipeline.sh TOOLS_DIR DATAGEN
set -euo pipefail
tools=${1:?usage: pipeline.sh TOOLS_DIR DATAGEN}
datagen=${2:?usage: pipeline.sh TOOLS_DIR DATAGEN}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$datagen" -n 200000 -p 1000 -s 5 --rate 200 --disorder-ms 2000 > "$tmp/events.ndjson"
window="$tools/cep-window"
"$window" -k member.country --tumbling 1m --max-delay 5s --watermarks always "$tmp/events.ndjson" > "$tmp/minutes.ndjson"
grep -q '^{"\$cep":"watermark"' "$tmp/minutes.ndjson" || { echo "pipeline: no watermarks written" >&2; exit 1; }
"$window" --time window.start --tumbling 5m --agg 'sum(count) as count' --stats --late "$tmp/late.ndjson" \
  "$tmp/minutes.ndjson" > "$tmp/rolled.ndjson" 2> "$tmp/stats.txt"
"$window" --tumbling 5m --max-delay 5s "$tmp/events.ndjson" > "$tmp/direct.ndjson"

if ! cmp -s "$tmp/rolled.ndjson" "$tmp/direct.ndjson"; then
  echo "pipeline: the rolled-up minutes differ from the direct 5-minute windows" >&2
  diff "$tmp/rolled.ndjson" "$tmp/direct.ndjson" >&2 || true
  exit 1
fi
grep -q '"late":0' "$tmp/stats.txt" || { echo "pipeline: late results in the second stage:" >&2; cat "$tmp/stats.txt" >&2; exit 1; }
# The first stage's control records are followed, never counted as records.
records=$(grep -vc '^{"\$cep"' "$tmp/minutes.ndjson")
grep -q "\"records_in\":$records," "$tmp/stats.txt" || { echo "pipeline: control records were counted:" >&2; cat "$tmp/stats.txt" >&2; exit 1; }
echo "pipeline: ok ($(wc -l < "$tmp/direct.ndjson") five-minute windows, $records minute results)"
