#!/bin/sh
# cep-sequence rule reloading (--watch and SIGHUP): what golden cases cannot pin down because it
# happens while a process runs. Records go through a FIFO so the rules can change between them.
#
#   tests/sequence/test_reload.sh BIN_DIR      (BIN_DIR holds cep-sequence)
#
# Every run is under a timeout, so a hang fails instead of blocking the suite.
set -u

BIN_DIR=$(cd "${1:?usage: test_reload.sh BIN_DIR}" && pwd)
SEQ="$BIN_DIR/cep-sequence"
[ -x "$SEQ" ] || {
    echo "no cep-sequence in $BIN_DIR" >&2
    exit 2
}
WORK=$(mktemp -d)
trap 'exec 3>&- 2>/dev/null; rm -rf "$WORK"' EXIT
failures=0
pass() { echo "ok   $1"; }
fail() {
    echo "FAIL $1${2:+: $2}"
    failures=$((failures + 1))
}
# Long enough for the tool to read a record or notice a file change (it polls every 20ms).
settle() { sleep 0.4; }

# start ARGS...: runs cep-sequence on $WORK/in.fifo in the background, fd 3 writes to it.
start() {
    rm -f "$WORK/in.fifo" "$WORK/out" "$WORK/err"
    mkfifo "$WORK/in.fifo"
    (cd "$WORK" && exec timeout 30 "$SEQ" --idle-timeout 20ms "$@" in.fifo > out 2> err) &
    pid=$!
    exec 3> "$WORK/in.fifo"
}
stop() {
    exec 3>&-
    wait "$pid"
    status=$?
}
send() { echo "$1" >&3; }

# 1. --watch: a changed rule keeps its count, a removed one is gone, an added one reads a new field.
cat > "$WORK/rules.yaml" <<'EOF'
rules:
  - {id: two_a, keyed: k, where: 't == "a"', count: 2, emit: {v: 1}, emit_events: false}
  - {id: a_then_b, keyed: k, pattern: 'a: t == "a" -> b: t == "b"', emit_events: false}
EOF
start --rules rules.yaml --watch
send '{"ts":1,"k":"x","t":"a"}'
settle
cat > "$WORK/rules.yaml" <<'EOF'
rules:
  - {id: two_a, keyed: k, where: 't == "a"', count: 2, emit: {v: 2}, emit_events: false}
  - {id: c_lvl, keyed: k, where: 't == "c" && lvl > 3', emit_events: false}
EOF
settle
send '{"ts":2,"k":"x","t":"a"}'
send '{"ts":3,"k":"x","t":"b"}'
send '{"ts":4,"k":"x","t":"c","lvl":5}'
settle
stop
expected='{"rule":"two_a","key":"x","match_start":1,"match_end":2,"v":2}
{"rule":"c_lvl","key":"x","match_start":4,"match_end":4}'
if [ "$status" -eq 0 ] && [ "$(cat "$WORK/out")" = "$expected" ] &&
    grep -q "rules reloaded: 0 unchanged, 1 changed and kept, 0 changed and reset, 1 removed, 1 added" "$WORK/err"; then
    pass "--watch: changed rule keeps its partial count, removed rule dropped, new rule reads a new field"
else
    fail "--watch reload" "status $status; out: $(cat "$WORK/out"); err: $(cat "$WORK/err")"
fi

# 2. on_change: reset starts the changed rule over; an unchanged sequence keeps its partial match.
cat > "$WORK/rules.yaml" <<'EOF'
rules:
  - {id: two_a, keyed: k, where: 't == "a"', count: 2, on_change: reset, emit_events: false}
  - {id: a_then_b, keyed: k, pattern: 'a: t == "a" -> b: t == "b"', emit_events: false}
EOF
start --rules rules.yaml --watch
send '{"ts":1,"k":"x","t":"a"}'
settle
cat > "$WORK/rules.yaml" <<'EOF'
rules:
  - {id: two_a, keyed: k, where: 't == "a"', count: 2, on_change: reset, emit: {v: 2}, emit_events: false}
  - {id: a_then_b, keyed: k, pattern: 'a: t == "a" -> b: t == "b"', emit_events: false}
EOF
settle
send '{"ts":2,"k":"x","t":"a"}'
send '{"ts":3,"k":"x","t":"b"}'
settle
stop
expected='{"rule":"a_then_b","key":"x","match_start":1,"match_end":3}
{"rule":"a_then_b","key":"x","match_start":2,"match_end":3}'
if [ "$(cat "$WORK/out")" = "$expected" ] && grep -q "1 unchanged, 0 changed and kept, 1 changed and reset" "$WORK/err"; then
    pass "on_change: reset drops the changed rule's state; an unchanged rule keeps its partial match"
else
    fail "on_change: reset" "out: $(cat "$WORK/out"); err: $(cat "$WORK/err")"
fi

# 3. A rule whose stages change starts over even with on_change: keep, and says so.
cat > "$WORK/rules.yaml" <<'EOF'
rules:
  - {id: seq, keyed: k, pattern: 'a: t == "a" -> b: t == "b"', emit_events: false}
EOF
start --rules rules.yaml --watch
send '{"ts":1,"k":"x","t":"a"}'
settle
cat > "$WORK/rules.yaml" <<'EOF'
rules:
  - {id: seq, keyed: k, pattern: 'a: t == "a" -> b{2}: t == "b"', emit_events: false}
EOF
settle
send '{"ts":2,"k":"x","t":"b"}'
send '{"ts":3,"k":"x","t":"b"}'
settle
stop
if [ ! -s "$WORK/out" ] && grep -q "rule 'seq' changed its key, stages or parts" "$WORK/err"; then
    pass "a changed shape resets the rule's partial matches"
else
    fail "shape change" "out: $(cat "$WORK/out"); err: $(cat "$WORK/err")"
fi

# 4. A bad file is rejected with file:line:col and the running rules stay.
cat > "$WORK/rules.yaml" <<'EOF'
rules:
  - {id: two_a, keyed: k, where: 't == "a"', count: 2, emit_events: false}
EOF
start --rules rules.yaml --watch
send '{"ts":1,"k":"x","t":"a"}'
settle
printf 'rules:\n  - {id: two_a, keyed: k, where: "t === 1", count: 2}\n' > "$WORK/rules.yaml"
settle
send '{"ts":2,"k":"x","t":"a"}'
settle
stop
if [ "$status" -eq 0 ] && [ "$(cat "$WORK/out")" = '{"rule":"two_a","key":"x","match_start":1,"match_end":2}' ] &&
    grep -q "rules not reloaded: rules.yaml:2:" "$WORK/err" && grep -q "the previous rules keep running" "$WORK/err"; then
    pass "a bad rules file is rejected with file:line:col; the old rules keep running"
else
    fail "bad file" "status $status; out: $(cat "$WORK/out"); err: $(cat "$WORK/err")"
fi

# 5. SIGHUP reloads without --watch.
cat > "$WORK/rules.yaml" <<'EOF'
rules:
  - {id: one, keyed: k, where: 't == "a"', emit_events: false}
EOF
start --rules rules.yaml
send '{"ts":1,"k":"x","t":"a"}'
settle
cat > "$WORK/rules.yaml" <<'EOF'
rules:
  - {id: one, keyed: k, where: 't == "a"', emit_events: false}
  - {id: two, keyed: k, where: 't == "b"', emit_events: false}
EOF
settle
# Not reloaded yet: without --watch only SIGHUP reloads.
send '{"ts":2,"k":"x","t":"b"}'
settle
kill -HUP "$pid"
settle
send '{"ts":3,"k":"x","t":"b"}'
settle
stop
expected='{"rule":"one","key":"x","match_start":1,"match_end":1}
{"rule":"two","key":"x","match_start":3,"match_end":3}'
if [ "$status" -eq 0 ] && [ "$(cat "$WORK/out")" = "$expected" ] &&
    grep -q "rules reloaded: 1 unchanged, 0 changed and kept, 0 changed and reset, 0 removed, 1 added" "$WORK/err"; then
    pass "SIGHUP reloads the rules"
else
    fail "SIGHUP" "status $status; out: $(cat "$WORK/out"); err: $(cat "$WORK/err")"
fi

[ "$failures" -eq 0 ] && echo "all reload tests passed"
exit "$failures"
