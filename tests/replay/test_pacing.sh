#!/usr/bin/env bash
# --speed: event-time gaps replayed on the wall clock. Three records 200 ms apart take at
# least 0.4 s at 1x, and at 10x about a tenth of that. Bounds are loose so a busy host cannot
# make them flake: 1x must take >= 0.38 s; 10x must take < 0.3 s; max must not wait.
#
#   tests/replay/test_pacing.sh TOOLS_DIR
set -euo pipefail
tools=${1:?usage: test_pacing.sh TOOLS_DIR}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

cat >"$tmp/in.ndjson" <<'JSON'
{"ts":"2026-11-01T12:00:00.000Z","n":1}
{"ts":"2026-11-01T12:00:00.200Z","n":2}
{"ts":"2026-11-01T12:00:00.400Z","n":3}
JSON

elapsed() { # elapsed SPEED -> seconds, output checked
    local start end
    start=$(date +%s%N)
    "$tools/cep-replay" --speed "$1" "$tmp/in.ndjson" >"$tmp/out.ndjson"
    end=$(date +%s%N)
    cmp -s "$tmp/in.ndjson" "$tmp/out.ndjson" || fail "--speed $1: output differs from the input"
    echo $(((end - start) / 1000000))
}

ms=$(elapsed 1x)
[ "$ms" -ge 380 ] || fail "--speed 1x took ${ms} ms, expected >= 400"
ms10=$(elapsed 10x)
[ "$ms10" -lt 300 ] || fail "--speed 10x took ${ms10} ms, expected about 40"
msmax=$(elapsed max)
[ "$msmax" -lt 300 ] || fail "--speed max took ${msmax} ms"
echo "ok: pacing (1x ${ms} ms, 10x ${ms10} ms, max ${msmax} ms)"

# A live reader sees each record when it is due, not at the end: the first record is out
# before the last one is due.
mkfifo "$tmp/pipe"
"$tools/cep-replay" --speed 1x "$tmp/in.ndjson" >"$tmp/pipe" &
pid=$!
start=$(date +%s%N)
IFS= read -r first <"$tmp/pipe" || true
first_ms=$((($(date +%s%N) - start) / 1000000))
wait "$pid" || true
[ "$first" = '{"ts":"2026-11-01T12:00:00.000Z","n":1}' ] || fail "first record through the pipe: '$first'"
[ "$first_ms" -lt 350 ] || fail "the first record reached the reader after ${first_ms} ms"
echo "ok: output flushed before waiting (first record after ${first_ms} ms)"
