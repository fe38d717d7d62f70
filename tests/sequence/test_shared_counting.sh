#!/bin/sh
# Count and all-of rules count through one log per key and condition (shared counting), unless
# --timeouts asks for per-rule counting. Both must write the same matches, in the same order,
# and report the same counts, for many rules of every form over generated data with disorder
# (fire once, every N and every time, events written or not, templates reading a part, no
# window, schedules, parts sharing a condition), with sequence rules among them.
# Usage: test_shared_counting.sh TOOLS_DIR DATAGEN
set -eu
tools=$1 datagen=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$datagen" -n 40000 -p 400 -s 11 --disorder-ms 1500 > "$tmp/events.ndjson"

events="chat dungeon_clear item_pickup kill level_up login logout move purchase quest_complete"
pick() { # INDEX: the INDEX-th event name (mod 10)
  set -- $events
  shift $(($1 % 10))
  echo "$1"
}
{
  echo "rules:"
  i=0
  while [ $i -lt 120 ]; do
    e1=$(pick $i) e2=$(pick $((i * 7 + 3))) e3=$(pick $((i * 3 + 1)))
    case $((i % 6)) in
    0) fire="fire: once" ;;
    1) fire="fire: {every: 2}" ;;
    *) fire="fire: every" ;;
    esac
    case $((i % 4)) in
    0) echo "  - {id: count_$i, keyed: member.playerId, where: 'event == \"$e1\"', count: $((2 + i % 5)), within: $((1 + i % 4))m, $fire, emit_events: $([ $((i % 8)) = 0 ] && echo true || echo false)}" ;;
    1) echo "  - {id: allof_$i, keyed: member.playerId, within: $((1 + i % 3))m, $fire, emit_events: false, emit: {lvl: '\${x.level}'}, all_of: [{name: x, where: 'event == \"$e1\"', count: $((1 + i % 3))}, {name: y, where: 'event == \"$e3\" && level >= $((i % 20))', count: $((1 + i % 2))}]}" ;;
    2) echo "  - {id: seq_$i, keyed: member.playerId, pattern: 'a: event == \"$e1\" -> b: event == \"$e2\"', within: $((1 + i % 5))m, skip: skip_past_last, $fire, emit_events: false}" ;;
    3) if [ $((i % 8)) = 3 ]; then
         echo "  - {id: ever_$i, keyed: member.playerId, where: 'event == \"$e1\"', count: $((3 + i % 4)), $fire, emit_events: false}"
       else
         echo "  - {id: later_$i, keyed: member.playerId, where: 'event == \"$e1\"', count: 2, within: 2m, active: {from: '2026-11-01T12:00:02Z'}, $fire}"
       fi ;;
    esac
    i=$((i + 1))
  done
} > "$tmp/rules.yaml"
"$tools/cep-sequence" --rules "$tmp/rules.yaml" --check > /dev/null

for mode in shared per_rule; do
  extra=""
  [ "$mode" = per_rule ] && extra="--timeouts $tmp/timeouts.ndjson"
  # shellcheck disable=SC2086
  "$tools/cep-sequence" --rules "$tmp/rules.yaml" --max-delay 1s --late "$tmp/$mode.late" --stats $extra \
    "$tmp/events.ndjson" > "$tmp/$mode.out" 2> "$tmp/$mode.err"
  grep '"records_in"' "$tmp/$mode.err" | sed -E 's/"(seconds|records_per_second|memory_bytes)":[0-9.e+-]+,?//g' > "$tmp/$mode.stats"
done
fail=0
for part in out late stats; do
  if ! cmp -s "$tmp/shared.$part" "$tmp/per_rule.$part"; then
    echo "FAIL: $part differs between shared and per-rule counting" >&2
    diff "$tmp/shared.$part" "$tmp/per_rule.$part" | head -5 >&2
    fail=1
  fi
done
# The comparison means something only if every kind matched.
for kind in count allof seq ever later; do
  if ! grep -q "\"rule\":\"${kind}_" "$tmp/shared.out"; then
    echo "FAIL: no $kind rule matched" >&2
    fail=1
  fi
done
[ $fail = 0 ] && echo "ok: $(wc -l < "$tmp/shared.out") matches identical with shared and per-rule counting"
exit $fail
