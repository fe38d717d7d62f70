#!/bin/sh
# cep-sequence reads records that no rule's condition can accept only for their leading time
# field (see time_only_prefilter in operator.hpp). --strict parses every record in full, so
# the two runs must agree on everything: matches, timeouts, late records and the counts.
# Usage: test_time_only.sh TOOLS_DIR DATAGEN
set -eu
tools=$1 datagen=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Out of order by up to 1.5 s, held by --max-delay 1s, so some records are late.
"$datagen" -n 60000 -p 300 -s 7 --disorder-ms 1500 > "$tmp/events.ndjson"
# A record whose time is not its first field goes the parsing way. A malformed record a rule
# could accept is parsed and reported (one no rule can accept is only checked for its outline,
# as documented in cep(7)).
printf '%s\n' '{"event":"level_up","ts":"2026-11-01T12:00:10.000Z","level":31,"member":{"playerId":"p000001"}}' \
  '{"ts":"2026-11-01T12:00:11.000Z","event":"dungeon_clear" "level":1}' >> "$tmp/events.ndjson"

fail=0
run_case() { # NAME ARGS...
  name=$1; shift
  for mode in fast strict; do
    extra=""
    [ "$mode" = strict ] && extra=--strict
    # shellcheck disable=SC2086
    "$tools/cep-sequence" "$@" $extra --max-delay 1s --timeouts "$tmp/$name.$mode.timeouts" \
      --late "$tmp/$name.$mode.late" --dead-letter "$tmp/$name.$mode.dead" --stats \
      "$tmp/events.ndjson" > "$tmp/$name.$mode.out" 2> "$tmp/$name.$mode.err" || true
    # The stats line without its timing fields.
    grep '"records_in"' "$tmp/$name.$mode.err" | sed -E 's/"(seconds|records_per_second|memory_bytes|time_only_records)":[0-9.e+-]+,?//g' > "$tmp/$name.$mode.stats"
  done
  if ! grep -q '"time_only_records":[1-9]' "$tmp/$name.fast.err"; then
    echo "FAIL $name: no record took the time-only path" >&2
    fail=1
  fi
  for part in out timeouts late dead stats; do
    if ! cmp -s "$tmp/$name.fast.$part" "$tmp/$name.strict.$part"; then
      echo "FAIL $name: $part differs from --strict" >&2
      diff "$tmp/$name.fast.$part" "$tmp/$name.strict.$part" | head -5 >&2
      fail=1
    fi
  done
  if [ ! -s "$tmp/$name.fast.out" ] || [ ! -s "$tmp/$name.fast.timeouts" ] || [ ! -s "$tmp/$name.fast.late" ] ||
     [ ! -s "$tmp/$name.fast.dead" ]; then
    echo "FAIL $name: expected matches, timeouts, late records and a dead letter" >&2
    fail=1
  fi
}

run_case two_stage -k member.playerId --pattern 'a: event == "level_up" -> b: event == "dungeon_clear"' \
  --within 2m --skip skip_past_last
# Missions without conditions on earlier stages (those make every record count).
cat > "$tmp/rules.yaml" <<'EOF'
rules:
  - id: veteran_dungeon
    keyed: member.playerId
    pattern: 'a: event == "level_up" && level >= 30 -> b: event == "dungeon_clear"'
    within: 10m
    skip: skip_past_last
    emit: {reward: gems, player: "${key}", level: "${a.level}"}
  - id: killing_spree
    keyed: member.playerId
    where: 'event == "kill" && gameCode == 1302'
    count: 3
    within: 1m
    emit_events: false
  - id: daily_set
    keyed: member.playerId
    within: 30m
    all_of:
      - {name: quests, where: 'event == "quest_complete"', count: 2}
      - {name: kills, where: 'event == "kill"', count: 3}
  - id: kept_playing
    keyed: member.playerId
    pattern: 'buy: event == "purchase" -> !quit: event == "logout"'
    within: 2m
EOF
run_case missions --rules "$tmp/rules.yaml" --key-ttl 5m

[ "$fail" = 0 ] && echo "ok: time-only records give the results of full parsing"
exit "$fail"
