#!/usr/bin/env bash
# Kafka throughput against the mock broker, cep vs kcat in one run (not part of ctest: speed
# is a property of the machine). Produces N generated records with cep-filter and with kcat,
# then consumes each topic back to its end with both.
#
#   tests/kafka/bench.sh [--lines N] [--partitions P]   (default 1000000 lines, 256 partitions)
#
# The mock keeps only a few MiB per partition and drops older data silently, so the topics
# have many partitions and both producers spread unkeyed records evenly
# (sticky.partitioning.linger.ms=0); the record counts read back are checked.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../setup.sh"

lines=1000000
partitions=256
while [ $# -gt 0 ]; do
    case "$1" in
    --lines) lines=$2; shift 2 ;;
    --partitions) partitions=$2; shift 2 ;;
    *) echo "usage: $0 [--lines N] [--partitions P]" >&2; exit 2 ;;
    esac
done
set -- "$CEP_BUILD/tools" "$CEP_BUILD/tests/cep-mock-broker"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

data_dir=$CEP_BUILD/bench-data
mkdir -p "$data_dir"
events=$data_dir/events-$lines.ndjson
if [ ! -s "$events" ]; then
    "$CEP_BUILD/tests/cep-datagen" -n "$lines" -p 100000 -s 1 >"$events.tmp" && mv "$events.tmp" "$events"
fi
cat "$events" >/dev/null

start_broker --topic ours:$partitions --topic theirs:$partitions

# Wall time, and the client's CPU time (user + system): on a shared machine the wall time
# swings with the load, while the CPU a client spends per record barely moves.
seconds() { # seconds COMMAND... (stdout to $work/out) -> "WALL_MS CPU_MS"
    local TIMEFORMAT='%3R %3U %3S' times
    times=$({ time "$@" >"$work/out"; } 2>&1) || return
    awk '{ printf "%d %d\n", $1 * 1000, ($2 + $3) * 1000 }' <<<"${times##*$'\n'}"
}
report() { # report WHAT "CEP_WALL CEP_CPU" "KCAT_WALL KCAT_CPU"
    local cep=($2) kcat=($3)
    printf '%-8s cep %6d ms  kcat %6d ms  cep/kcat %.2f   cpu: cep %6d ms  kcat %6d ms  cep/kcat %.2f  (%d records)\n' \
        "$1" "${cep[0]}" "${kcat[0]}" "$(echo "${cep[0]} / ${kcat[0]}" | bc -l)" \
        "${cep[1]}" "${kcat[1]}" "$(echo "${cep[1]} / ${kcat[1]}" | bc -l)" "$lines"
}

spread=(-X sticky.partitioning.linger.ms=0)
p_cep=$(seconds "$tools/cep-filter" true "$events" -o "kafka://$BROKERS/ours" "${spread[@]}")
# The same guarantees on both sides: cep-filter produces idempotently (no duplicates on retry).
p_kcat=$(seconds kcat -P -b "$BROKERS" -t theirs -X partitioner=murmur2_random -X enable.idempotence=true "${spread[@]}" -l "$events")
report produce "$p_cep" "$p_kcat"

c_cep=$(seconds "$tools/cep-filter" true "kafka://$BROKERS/ours" --exit-at-end)
n_cep=$(wc -l <"$work/out")
c_kcat=$(seconds kcat -C -b "$BROKERS" -t theirs -o beginning -e -q)
n_kcat=$(wc -l <"$work/out")
report consume "$c_cep" "$c_kcat"
[ "$n_cep" -eq "$lines" ] && [ "$n_kcat" -eq "$lines" ] ||
    echo "warning: read back $n_cep (cep) and $n_kcat (kcat) of $lines: the mock dropped data; use more --partitions" >&2
stop_broker
