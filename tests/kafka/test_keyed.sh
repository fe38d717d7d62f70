#!/usr/bin/env bash
# cep-keyby's key becomes the Kafka message key, and Kafka's partitioner, kcat (with the Java
# client's murmur2 partitioner) and cep-keyby --partitions put each key in the same partition.
# Usage: test_keyed.sh TOOLS_DIR MOCK_BROKER
source "$(dirname "$0")/lib.sh"

partitions=5
start_broker --topic ours:$partitions --topic theirs:$partitions
records 2000 >"$work/in.ndjson"

"$tools/cep-keyby" -k member.playerId "$work/in.ndjson" -o "kafka://$BROKERS/ours" 2>"$work/keyby.err" ||
    fail "cep-keyby -o kafka"

# The message key is the player id, and each record arrived once.
kcat_all ours '%k %s\n' >"$work/ours.txt"
[ "$(wc -l <"$work/ours.txt")" -eq 2000 ] || fail "expected 2000 messages, got $(wc -l <"$work/ours.txt")"
awk '{ key = $1; sub(/^[^ ]* /, ""); if (index($0, "\"playerId\":\"" key "\"") == 0) { print "key " key " on " $0; exit 1 } }' \
    "$work/ours.txt" || fail "a message key is not the record's member.playerId"
pass "message keys are cep-keyby's keys"

# Where each key landed when we produced, and when kcat produced the same keys.
kcat_all ours '%k %p\n' | sort -u >"$work/ours-partitions.txt"
[ "$(cut -d' ' -f1 "$work/ours-partitions.txt" | uniq -d | wc -l)" -eq 0 ] || fail "a key landed in two partitions"
cut -d' ' -f1 "$work/ours-partitions.txt" | sed 's/.*/&:{"k":"&"}/' |
    timeout 30 kcat -P -b "$BROKERS" -t theirs -K: -X partitioner=murmur2_random || fail "kcat -P -K:"
kcat_all theirs '%k %p\n' | sort -u >"$work/theirs-partitions.txt"
diff "$work/ours-partitions.txt" "$work/theirs-partitions.txt" || fail "keys land in other partitions than kcat's"
[ "$(cut -d' ' -f2 "$work/ours-partitions.txt" | sort -u | wc -l)" -gt 1 ] || fail "every key in one partition"
pass "each key is in the partition kcat (murmur2) puts it in"

# cep-keyby --partitions N writes partition p to part-p: the same split.
"$tools/cep-keyby" -k member.playerId --partitions $partitions "$work/in.ndjson" -o "$work/part-{p}.ndjson" ||
    fail "cep-keyby --partitions"
for p in $(seq 0 $((partitions - 1))); do
    sed -n 's/.*"playerId":"\([^"]*\)".*/\1/p' "$work/part-$p.ndjson" | sort -u | sed "s/\$/ $p/"
done | sort >"$work/files-partitions.txt"
diff "$work/ours-partitions.txt" "$work/files-partitions.txt" || fail "--partitions files split differently from Kafka"
pass "cep-keyby --partitions $partitions files hold the same keys as the Kafka partitions"

# Per key, the order of the input is kept (one partition, idempotent producer).
for key in p0 p3; do
    grep "\"playerId\":\"$key\"" "$work/in.ndjson" >"$work/want-$key"
    awk -v k="$key" '$1 == k { sub(/^[^ ]* /, ""); print }' "$work/ours.txt" >"$work/got-$key"
    cmp "$work/want-$key" "$work/got-$key" || fail "records of key $key out of order"
done
pass "records of a key keep their order"

stop_broker
