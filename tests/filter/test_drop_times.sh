#!/bin/sh
# cep-filter writing to another cep tool (--watermarks always) passes on the event times of the
# records it drops, as progress records. Its raw prefilter drops records unparsed and reads their
# times from the bytes (a record whose time is not its first field is parsed for it), so the
# records and control records it writes must be those of parsing every record (--strict).
# Usage: test_drop_times.sh TOOLS_DIR DATAGEN
set -eu
tools=$1 datagen=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$datagen" -n 60000 -p 300 -s 7 > "$tmp/gen.ndjson"
# Halfway through (about 12:00:14): a dropped record whose time is not its first field and
# jumps ahead, so progress stalls until the stream passes it unless it is parsed for that time;
# a malformed record the filter could select, and one whose time is not first: both parsed and
# reported; a malformed record it rules out by its bytes, with its time first: dropped unparsed
# and not reported (cep-filter(1)), its time (an old one) moving nothing.
head -n 30000 "$tmp/gen.ndjson" > "$tmp/events.ndjson"
printf '%s\n' '{"event":"kill","ts":"2026-11-01T12:00:20.000Z","level":1}' \
  '{"ts":"2026-11-01T12:00:14.000Z","event":"purchase" "price":1}' \
  '{"event":"kill","ts":"2026-11-01T12:00:21.000Z" "level":1}' \
  '{"ts":"2026-11-01T11:00:00.000Z","event":"kill" "level":1}' >> "$tmp/events.ndjson"
tail -n +30001 "$tmp/gen.ndjson" >> "$tmp/events.ndjson"

fail=0
for mode in fast strict; do
  extra=""
  [ "$mode" = strict ] && extra=--strict
  # shellcheck disable=SC2086
  "$tools/cep-filter" 'event == "purchase"' $extra --watermarks always --dead-letter "$tmp/$mode.dead" --stats \
    "$tmp/events.ndjson" > "$tmp/$mode.out" 2> "$tmp/$mode.err" && status=0 || status=$?
  echo "$status" > "$tmp/$mode.exit"
  grep -o '"records_in":[0-9]*,"records_out":[0-9]*' "$tmp/$mode.err" > "$tmp/$mode.counts"
done
# The one difference: the malformed record ruled out by its bytes is reported only by --strict.
if [ "$(wc -l < "$tmp/strict.dead")" -ne 3 ]; then
  echo "FAIL: --strict should report 3 malformed records" >&2
  fail=1
fi
grep -v '11:00:00.000Z' "$tmp/strict.dead" > "$tmp/strict.dead.expected"
mv "$tmp/strict.dead.expected" "$tmp/strict.dead"
for part in out exit dead counts; do
  if ! cmp -s "$tmp/fast.$part" "$tmp/strict.$part"; then
    echo "FAIL: $part differs from --strict" >&2
    diff "$tmp/fast.$part" "$tmp/strict.$part" | head -5 >&2
    fail=1
  fi
done
progress=$(grep -c '^{"\$cep":"progress"' "$tmp/fast.out" || true)
records=$(grep -vc '^{"\$cep"' "$tmp/fast.out" || true)
dead=$(wc -l < "$tmp/fast.dead")
if [ "$progress" -lt 50 ] || [ "$records" -lt 1000 ] || [ "$dead" -ne 2 ] || [ "$(cat "$tmp/fast.exit")" != 1 ]; then
  echo "FAIL: expected progress records ($progress), purchases ($records), 2 dead letters ($dead), exit 1" >&2
  fail=1
fi
[ "$fail" = 0 ] && echo "ok: records dropped unparsed pass on the times of full parsing"
exit "$fail"
