# Shared by the Kafka integration tests: a mock broker per test, kcat as the independent client.
# Usage, at the top of a test:  source "$(dirname "$0")/lib.sh" TOOLS_DIR MOCK_BROKER
# Exits 77 (ctest: skipped) when kcat is not installed.
set -euo pipefail

tools=$1
mock_bin=$2
command -v kcat >/dev/null || { echo "SKIP: kcat is not installed (apt-get install kcat)"; exit 77; }
work=$(mktemp -d "${TMPDIR:-/tmp}/cep-kafka.XXXXXX")
MOCK_PID=""
BG_PIDS=()

cleanup() {
    local status=$?
    for pid in "${BG_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    if [ -n "$MOCK_PID" ]; then kill "$MOCK_PID" 2>/dev/null || true; wait "$MOCK_PID" 2>/dev/null || true; fi
    if [ $status -ne 0 ] && [ $status -ne 77 ]; then
        echo "--- failed; work directory kept: $work" >&2
        for log in "$work"/*.err; do [ -s "$log" ] && { echo "--- $log" >&2; tail -20 "$log" >&2; }; done
    else
        rm -rf "$work"
    fi
    exit $status
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok: $*"; }

# start_broker [--brokers N] [--topic NAME:PARTITIONS]...  -> sets BROKERS
start_broker() {
    mkfifo "$work/mock.in"
    "$mock_bin" "$@" <"$work/mock.in" >"$work/mock.out" 2>"$work/mock.err" &
    MOCK_PID=$!
    exec {MOCK_FD}>"$work/mock.in"
    for _ in $(seq 100); do [ -s "$work/mock.out" ] && break; sleep 0.1; done
    BROKERS=$(head -1 "$work/mock.out")
    [ -n "$BROKERS" ] || fail "the mock broker did not start"
}

# mock COMMAND...: sends one fixture command and waits for its `ok` answer.
mock() {
    local before
    before=$(wc -l <"$work/mock.out")
    echo "$*" >&"$MOCK_FD"
    for _ in $(seq 100); do
        [ "$(wc -l <"$work/mock.out")" -gt "$before" ] && break
        sleep 0.05
    done
    local answer
    answer=$(tail -1 "$work/mock.out")
    [ "$answer" = ok ] || fail "mock '$*' answered: $answer"
}

stop_broker() {
    echo quit >&"$MOCK_FD"
    exec {MOCK_FD}>&-
    wait "$MOCK_PID" || true
    MOCK_PID=""
}

# wait_lines FILE N [SECONDS]: until FILE has at least N lines.
wait_lines() {
    local file=$1 want=$2 seconds=${3:-30}
    for _ in $(seq $((seconds * 10))); do
        [ -f "$file" ] && [ "$(wc -l <"$file")" -ge "$want" ] && return 0
        sleep 0.1
    done
    fail "$file has $(wc -l <"$file" 2>/dev/null || echo 0) lines after ${seconds}s, expected $want"
}

# kcat_all TOPIC [FORMAT]: every message of TOPIC, from the beginning, then exit.
kcat_all() {
    timeout 30 kcat -C -b "$BROKERS" -t "$1" -o beginning -e -q -f "${2:-%s\n}"
}

# records N [PREFIX]: N distinct NDJSON records with a nested player id (8 distinct keys).
records() {
    local n=$1 prefix=${2:-r}
    awk -v n="$n" -v p="$prefix" 'BEGIN {
        for (i = 1; i <= n; i++)
            printf "{\"id\":\"%s%d\",\"member\":{\"playerId\":\"p%d\"},\"level\":%d,\"name\":\"caf\\u00e9 %d\"}\n", p, i, i % 8, i % 5, i
    }'
}

now_ms() { date +%s%3N; }
