#!/usr/bin/env bash
# --follow: after the archive, the live file is read as it grows, from exactly where the
# archive ended (records before its last time skipped, lines at that time written once), and
# across a rotation. Then SIGTERM ends the run with exit 0.
#
#   tests/replay/test_follow.sh TOOLS_DIR
set -euo pipefail
tools=${1:?usage: test_follow.sh TOOLS_DIR}
tmp=$(mktemp -d)
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; [ -f "$tmp/out.ndjson" ] && cat "$tmp/out.ndjson" >&2; cat "$tmp/err" >&2 2>/dev/null; exit 1; }
r() { printf '{"ts":"2026-11-01T12:00:%02dZ","n":"%s"}\n' "$1" "$2"; }

# The archive ends at :03 with two records at that time; the live log overlaps it.
{ r 1 a; r 2 b; r 3 c; r 3 d; } >"$tmp/archive.ndjson"
{ r 2 b; r 3 c; r 3 e; } >"$tmp/live.ndjson"

"$tools/cep-replay" "$tmp/archive.ndjson" --follow "$tmp/live.ndjson" --stats >"$tmp/out.ndjson" 2>"$tmp/err" &
pid=$!

wait_lines() {
    for _ in $(seq 100); do
        [ "$(wc -l <"$tmp/out.ndjson")" -ge "$1" ] && return 0
        sleep 0.1
    done
    fail "expected $1 lines of output"
}
wait_lines 5
# Appended while followed; a half-written line waits for its newline.
r 4 f >>"$tmp/live.ndjson"
printf '{"ts":"2026-11-01T12:00:05Z",' >>"$tmp/live.ndjson"
sleep 0.3
printf '"n":"g"}\n' >>"$tmp/live.ndjson"
wait_lines 7
# Rotation: the old file is moved away and a new one written under the name.
mv "$tmp/live.ndjson" "$tmp/live.ndjson.1"
r 6 h >"$tmp/live.ndjson"
wait_lines 8
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
pid=""
[ "$status" -eq 0 ] || fail "exit status $status after SIGTERM"

{ r 1 a; r 2 b; r 3 c; r 3 d; r 3 e; r 4 f; printf '{"ts":"2026-11-01T12:00:05Z","n":"g"}\n'; r 6 h; } >"$tmp/expected"
cmp -s "$tmp/expected" "$tmp/out.ndjson" || { diff "$tmp/expected" "$tmp/out.ndjson" >&2; fail "--follow output"; }
grep -q '"already_replayed":2' "$tmp/err" || fail "stats: expected already_replayed 2"
echo "ok: --follow continues the archive without gap or overlap, through appends and a rotation"
