#!/usr/bin/env bash
# --idle-timeout: a window must fire while the input is silent, before the input ends.
#
# A record 0.5 s before its window's end arrives through a FIFO, then nothing: after the idle
# timeout the watermark moves as if event time kept pace with the wall clock, so within a
# second the window [12:00, 12:01) fires and its result is on the output, while the writer
# still holds the FIFO open. Margins are generous (200 ms timeout, 1.5 s wait) for slow hosts.
#
#   tests/window/idle_timeout.sh TOOLS_DIR
set -euo pipefail
tools=${1:?usage: idle_timeout.sh TOOLS_DIR}
tmp=$(mktemp -d)
trap 'exec 3>&- 2>/dev/null || true; [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT

mkfifo "$tmp/in"
"$tools/cep-window" --tumbling 1m --idle-timeout 200ms < "$tmp/in" > "$tmp/out" &
pid=$!
exec 3> "$tmp/in"
echo '{"ts":"2026-11-01T12:00:59.500Z","n":1}' >&3
sleep 1.5

got=$(cat "$tmp/out")
expected='{"window":{"start":"2026-11-01T12:00:00.000Z","end":"2026-11-01T12:01:00.000Z"},"count":1}'
if [ "$got" != "$expected" ]; then
  echo "idle_timeout: expected the window to fire while the input was idle" >&2
  echo "  expected: $expected" >&2
  echo "  got:      ${got:-<nothing>}" >&2
  exit 1
fi

# A record for the closed window is now late; the input ends; the run ends cleanly.
echo '{"ts":"2026-11-01T12:00:30.000Z","n":2}' >&3
exec 3>&-
status=0
wait "$pid" || status=$?
pid=
if [ "$status" -ne 0 ] || [ "$(wc -l < "$tmp/out")" -ne 1 ]; then
  echo "idle_timeout: after the input ended: exit $status, output:" >&2
  cat "$tmp/out" >&2
  exit 1
fi
echo "idle_timeout: ok (window fired after idle input; late record dropped)"
