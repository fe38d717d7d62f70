#!/bin/sh
# cep-keyby -j: behaviour that golden cases cannot pin down because the merged output order
# depends on scheduling, or because it is about processes, pipes and time.
#
#   tests/keyby/test_jobs.sh BIN_DIR      (BIN_DIR holds cep-keyby and cep-filter)
#
# Needs jq, awk, timeout. Every check runs under a timeout, so a deadlock fails instead of hangs.
set -u

BIN_DIR=$(cd "${1:?usage: test_jobs.sh BIN_DIR}" && pwd)
KEYBY="$BIN_DIR/cep-keyby"
[ -x "$KEYBY" ] || {
    echo "no cep-keyby in $BIN_DIR" >&2
    exit 2
}
PATH="$BIN_DIR:$PATH"
export PATH
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
failures=0
pass() { echo "ok   $1"; }
fail() {
    echo "FAIL $1${2:+: $2}"
    failures=$((failures + 1))
}

# Deterministic input: 60000 records over 500 keys, with a per-record sequence number.
awk 'BEGIN {
    srand(7)
    for (i = 0; i < 60000; i++) {
        pad = sprintf("%" int(rand() * 120) "s", "")
        gsub(/ /, "x", pad)
        printf "{\"member\":{\"playerId\":\"p%d\"},\"seq\":%d,\"level\":%d,\"pad\":\"%s\"}\n", int(rand() * 500), i, int(rand() * 50), pad
    }
}' > "$WORK/in.ndjson"

# 1. Every record comes out exactly once, byte for byte.
if timeout 60 "$KEYBY" -k member.playerId -j 3 "$WORK/in.ndjson" -- cat > "$WORK/out1" &&
    sort "$WORK/in.ndjson" > "$WORK/a" && sort "$WORK/out1" > "$WORK/b" && cmp -s "$WORK/a" "$WORK/b"; then
    pass "-j 3 -- cat: every record exactly once"
else
    fail "-j 3 -- cat: every record exactly once"
fi

# 2. Per-key order is kept: within a key, seq only grows.
result=$(timeout 60 "$KEYBY" -k member.playerId -j 4 "$WORK/in.ndjson" -- cat |
    jq -r '[.member.playerId, .seq] | @tsv' |
    awk '{ if (($1 in last) && last[$1] > $2) bad++; last[$1] = $2 } END { print NR, bad + 0 }')
[ "$result" = "60000 0" ] && pass "-j 4: per-key order kept" || fail "-j 4: per-key order kept" "records, violations: $result"

# 3. N keyed copies of a cep tool give what one copy gives.
if command -v cep-filter > /dev/null 2>&1; then
    timeout 60 cep-filter 'level >= 30' "$WORK/in.ndjson" | sort > "$WORK/a"
    timeout 60 "$KEYBY" -k member.playerId -j 4 "$WORK/in.ndjson" -- cep-filter 'level >= 30' | sort > "$WORK/b"
    if [ -s "$WORK/a" ] && cmp -s "$WORK/a" "$WORK/b"; then
        pass "-j 4 -- cep-filter: same records as one cep-filter"
    else
        fail "-j 4 -- cep-filter: same records as one cep-filter"
    fi
else
    fail "-j 4 -- cep-filter" "cep-filter not found in $BIN_DIR"
fi

# 4. Copies that write far more than they read while we still feed them: no deadlock, and
#    lines from different copies never interleave.
lines=$(timeout 60 "$KEYBY" -k member.playerId -j 3 "$WORK/in.ndjson" -- awk '{ for (i = 0; i < 40; i++) print }' |
    grep -c '^{"member":{"playerId":"p[0-9]*"},"seq":[0-9]*,"level":[0-9]*,"pad":"x*"}$')
[ "$lines" = 2400000 ] && pass "copies writing 40x their input: no deadlock, whole lines" ||
    fail "copies writing 40x their input" "got $lines lines, want 2400000 (timeout or broken lines)"

# 5. Records of several MiB pass through whole.
big=$(head -c 3000000 /dev/zero | tr '\0' y)
for i in 0 1 2 3; do printf '{"k":%d,"big":"%s"}\n' "$i" "$big"; done > "$WORK/big.ndjson"
if [ "$(wc -c < "$WORK/big.ndjson")" -gt 12000000 ] &&
    timeout 60 "$KEYBY" -k k -j 2 "$WORK/big.ndjson" -- cat | sort | cmp -s - "$WORK/big.ndjson"; then
    pass "multi-MiB records"
else
    fail "multi-MiB records"
fi

# 6. A copy that fails makes us exit 1 and names it; the other copies' output still arrives.
timeout 60 "$KEYBY" -k member.playerId -j 3 "$WORK/in.ndjson" -- sh -c 'cat; exit 1' > /dev/null 2> "$WORK/err"
code=$?
if [ "$code" = 1 ] && grep -q "error: job 0 of 3 (sh -c .*) exited with status 1" "$WORK/err"; then
    pass "failing copy: exit 1, named on stderr"
else
    fail "failing copy: exit 1, named on stderr" "exit $code: $(cat "$WORK/err")"
fi

# 7. A copy that stops reading early and exits 0 (like head) is not a failure.
timeout 60 "$KEYBY" -k member.playerId -j 2 "$WORK/in.ndjson" -- head -n 1 > "$WORK/out7"
code=$?
[ "$code" = 0 ] && [ "$(wc -l < "$WORK/out7")" = 2 ] && pass "copies that stop reading early (head)" ||
    fail "copies that stop reading early (head)" "exit $code"

# 8. Our reader goes away: exit 0, and no copy is left running.
cp "$(command -v cat)" "$WORK/kbcat-$$"
(
    yes '{"member":{"playerId":"p1"}}' | timeout 60 "$KEYBY" -k member.playerId -j 3 -- "$WORK/kbcat-$$"
    echo $? > "$WORK/status8"
) | head -n 2 > /dev/null
sleep 0.3
left=$(pgrep -f "kbcat-$$" | wc -l)
[ "$(cat "$WORK/status8")" = 0 ] && [ "$left" = 0 ] && pass "broken downstream pipe: exit 0, copies reaped" ||
    fail "broken downstream pipe: exit 0, copies reaped" "exit $(cat "$WORK/status8"), $left copies left"

# 9. A live stream is not held back in our buffers: the first record comes out while the
#    input is still open.
(
    echo '{"member":{"playerId":"p1"},"n":1}'
    sleep 3
    echo '{"member":{"playerId":"p2"},"n":2}'
) | timeout 60 "$KEYBY" -k member.playerId -j 2 -- cat > "$WORK/live" &
sleep 1.5
first=$(wc -l < "$WORK/live")
wait
[ "$first" = 1 ] && [ "$(wc -l < "$WORK/live")" = 2 ] && pass "live input flows through at once" ||
    fail "live input flows through at once" "after 1.5 s: $first lines"

# 10. Copy i sees exactly partition i: the same split as --partitions.
timeout 60 "$KEYBY" -k member.playerId --partitions 4 -o "$WORK/part-{p}.ndjson" "$WORK/in.ndjson"
timeout 60 "$KEYBY" -k member.playerId -j 4 -o "$WORK/copy-{p}.ndjson" "$WORK/in.ndjson" -- cat
same=1
for p in 0 1 2 3; do cmp -s "$WORK/part-$p.ndjson" "$WORK/copy-$p.ndjson" || same=0; done
[ "$same" = 1 ] && pass "copy i gets exactly partition i" || fail "copy i gets exactly partition i"

# 11. Event-time control records pass through the copies; the merged watermark waits for all.
printf '%s\n' '{"member":{"playerId":"p1"}}' '{"member":{"playerId":"p6"}}' '{"$cep":"watermark","t":5000}' \
    '{"member":{"playerId":"p1"}}' > "$WORK/ctl.ndjson"
CEP_WATERMARKS=always timeout 60 "$KEYBY" -k member.playerId -j 2 "$WORK/ctl.ndjson" -- cat > "$WORK/out11"
watermarks=$(grep -c '"\$cep":"watermark"' "$WORK/out11")
records=$(grep -vc '"\$cep"' "$WORK/out11")
[ "$watermarks" = 1 ] && [ "$records" = 3 ] && pass "control records merged across copies" ||
    fail "control records merged across copies" "$watermarks watermarks, $records records"

if [ "$failures" -gt 0 ]; then
    echo "$failures failed"
    exit 1
fi
echo "all passed"
