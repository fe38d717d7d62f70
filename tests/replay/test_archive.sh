#!/usr/bin/env bash
# --archive round trip: a stream archived into hourly .zst files and replayed from the
# directory gives back the same records (byte for byte when the input was sorted), the files
# are complete zstd frames, and no .tmp file is left.
#
#   tests/replay/test_archive.sh TOOLS_DIR DATAGEN
set -euo pipefail
tools=${1:?usage: test_archive.sh TOOLS_DIR DATAGEN}
datagen=${2:?usage: test_archive.sh TOOLS_DIR DATAGEN}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# Sorted input over several hours: the round trip is the identity.
"$datagen" -n 20000 -p 100 -s 3 --rate 2 >"$tmp/sorted.ndjson"
"$tools/cep-replay" --archive "$tmp/arch" "$tmp/sorted.ndjson" --stats 2>"$tmp/archive.err" ||
    fail "archive: $(cat "$tmp/archive.err")"
files=$(find "$tmp/arch" -name '*.ndjson.zst' | wc -l)
[ "$files" -ge 2 ] || fail "expected several hourly files, got $files"
[ -z "$(find "$tmp/arch" -name '*.tmp')" ] || fail ".tmp files left behind"
for f in $(find "$tmp/arch" -name '*.ndjson.zst'); do
    zstd -tq "$f" || fail "$f is not a complete zstd frame"
    [[ "$f" =~ /[0-9]{4}/[0-9]{2}/[0-9]{2}/[0-9]{2}\.ndjson\.zst$ ]] || fail "unexpected name $f"
done
"$tools/cep-replay" "$tmp/arch" >"$tmp/replayed.ndjson"
cmp -s "$tmp/sorted.ndjson" "$tmp/replayed.ndjson" || fail "sorted input: the replay is not byte-identical"
echo "ok: archive of sorted input replays byte for byte ($files files)"

# Out of order input (within --max-delay): every record lands in its hour; the replay is the
# same records, in event-time order.
"$datagen" -n 20000 -p 100 -s 4 --rate 2 --disorder-ms 60000 >"$tmp/disordered.ndjson"
"$tools/cep-replay" --archive "$tmp/arch2" --max-delay 2m "$tmp/disordered.ndjson" --stats 2>"$tmp/archive2.err" ||
    fail "archive 2"
grep -q '"late":0' "$tmp/archive2.err" || fail "records were late: $(cat "$tmp/archive2.err")"
"$tools/cep-replay" --max-delay 2m "$tmp/arch2" >"$tmp/replayed2.ndjson"
cmp -s <(sort "$tmp/disordered.ndjson") <(sort "$tmp/replayed2.ndjson") || fail "out-of-order input: records differ"
"$tools/cep-replay" --max-delay 2m "$tmp/disordered.ndjson" >"$tmp/sorted2.ndjson"
cmp -s "$tmp/sorted2.ndjson" "$tmp/replayed2.ndjson" || fail "the archive's replay is not the sorted input"
# Each file holds only records of its hour.
for f in $(find "$tmp/arch2" -name '*.ndjson.zst'); do
    hour=$(echo "$f" | sed -E 's#.*/([0-9]{4})/([0-9]{2})/([0-9]{2})/([0-9]{2})\.ndjson\.zst#\1-\2-\3T\4#')
    bad=$(zstd -dc "$f" | grep -vc "\"ts\":\"$hour" || true)
    [ "$bad" -eq 0 ] || fail "$f holds $bad records of another hour"
done
echo "ok: out-of-order records archived in their hours and replayed in order"

# A second run for the same hours does not overwrite: both are replayed.
"$tools/cep-replay" --archive "$tmp/arch" "$tmp/sorted.ndjson"
n=$("$tools/cep-replay" "$tmp/arch" | wc -l)
[ "$n" -eq 40000 ] || fail "after a second archive run: $n records, expected 40000"
echo "ok: a second run adds files instead of overwriting"
