#!/usr/bin/env bash
# File -> Kafka -> file through cep tools, byte for byte; and kcat on either side instead.
# Usage: test_roundtrip.sh TOOLS_DIR MOCK_BROKER
source "$(dirname "$0")/lib.sh"

start_broker --topic one:1 --topic three:3 --topic fromkcat:1 --topic manyin:2
records 3000 >"$work/in.ndjson"

# One partition keeps the order, so the round trip is byte-identical.
"$tools/cep-filter" true "$work/in.ndjson" -o "kafka://$BROKERS/one" 2>"$work/produce.err" ||
    fail "producing to kafka://.../one"
"$tools/cep-filter" true "kafka://$BROKERS/one?offset=beginning" --exit-at-end >"$work/out.ndjson" \
    2>"$work/consume.err" || fail "consuming kafka://.../one"
cmp "$work/in.ndjson" "$work/out.ndjson" || fail "file -> kafka -> file is not byte-identical"
pass "file -> cep -> kafka -> cep -> file is byte-identical"

# kcat reads what we produced, message for message.
kcat_all one >"$work/kcat-out.ndjson"
cmp "$work/in.ndjson" "$work/kcat-out.ndjson" || fail "kcat does not read back what cep-filter produced"
pass "kcat reads cep's output unchanged"

# We read what kcat produced; -b with kafka:TOPIC, the kcat way.
timeout 30 kcat -P -b "$BROKERS" -t fromkcat -l "$work/in.ndjson" || fail "kcat -P"
"$tools/cep-filter" true -b "$BROKERS" kafka:fromkcat --exit-at-end >"$work/from-kcat.ndjson" \
    2>"$work/consume-kcat.err" || fail "consuming what kcat produced"
cmp "$work/in.ndjson" "$work/from-kcat.ndjson" || fail "kcat -> kafka -> cep is not byte-identical"
pass "kcat -> kafka -> cep-filter is byte-identical"

# Several partitions: every record exactly once (order holds only within a partition).
"$tools/cep-filter" true "$work/in.ndjson" -o "kafka://$BROKERS/three" 2>"$work/produce3.err" ||
    fail "producing to a 3-partition topic"
"$tools/cep-filter" true -b "$BROKERS" kafka://three --exit-at-end >"$work/out3.ndjson" \
    2>"$work/consume3.err" || fail "consuming a 3-partition topic"
cmp <(sort "$work/in.ndjson") <(sort "$work/out3.ndjson") || fail "3 partitions: records lost or duplicated"
pass "3 partitions: every record exactly once"

# A filter between topics, and several topics in one input.
"$tools/cep-filter" 'level == 3' "kafka://$BROKERS/one" --exit-at-end -o "kafka://$BROKERS/manyin" \
    2>"$work/between.err" || fail "filtering kafka -> kafka"
"$tools/cep-filter" 'level == 3' "$work/in.ndjson" >"$work/level3.ndjson"
kcat_all manyin >"$work/manyin.ndjson"
cmp <(sort "$work/level3.ndjson") <(sort "$work/manyin.ndjson") || fail "kafka -> cep-filter -> kafka"
"$tools/cep-filter" true "kafka://$BROKERS/one,manyin" --exit-at-end >"$work/two-topics.ndjson" \
    2>"$work/two.err" || fail "reading two topics"
cmp <(sort "$work/in.ndjson" "$work/level3.ndjson") <(sort "$work/two-topics.ndjson") || fail "two topics in one input"
pass "kafka -> cep-filter -> kafka, and two topics in one input"

# Messages that are not one NDJSON record are data errors with topic[partition] and offset.
printf '%s\n' '{"ok":1}' 'not json' '{"ok":2}' | timeout 30 kcat -P -b "$BROKERS" -t bad -p 0 || fail "kcat -P bad"
printf 'line one\nline two' | timeout 30 kcat -P -b "$BROKERS" -t bad -p 0 -D '\x01' || fail "kcat -P newline"
status=0
"$tools/cep-filter" true "kafka://$BROKERS/bad" --exit-at-end --dead-letter "$work/dead.ndjson" \
    >"$work/bad-out.ndjson" 2>"$work/bad.err" || status=$?
[ $status -eq 1 ] || fail "bad messages: exit $status, expected 1"
[ "$(cat "$work/bad-out.ndjson")" = "$(printf '%s\n' '{"ok":1}' '{"ok":2}')" ] || fail "bad messages: good ones not kept"
grep -q '"source":"bad\[0\]","line":1' "$work/dead.ndjson" || fail "dead letter lacks bad[0] offset 1: $(cat "$work/dead.ndjson")"
grep -q '"line":3' "$work/dead.ndjson" || fail "dead letter lacks the message with a newline"
grep -q 'newline' "$work/dead.ndjson" || fail "dead letter does not say why"
pass "bad messages go to the dead letter with topic[partition] and offset"

stop_broker
