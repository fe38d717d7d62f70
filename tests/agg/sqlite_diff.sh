#!/usr/bin/env bash
# Differential test of cep-agg against SQLite: the same generated events, loaded into SQLite as
# one JSON text per row, aggregated with GROUP BY over json_extract(); count, sum, min, max, avg
# and count(DISTINCT) must agree for every group of several group-bys.
#
#   tests/agg/sqlite_diff.sh BIN_DIR DATAGEN [LINES]
#
# Counts, min, max and exact distinct counts must be equal; sums and averages of decimals are
# compared with a relative tolerance of 1e-9 (SQLite prints 15 significant digits and sums in
# another order). Exits 77 (skipped) without sqlite3 or jq.
set -euo pipefail

bin_dir=${1:?usage: sqlite_diff.sh BIN_DIR DATAGEN [LINES]}
datagen=${2:?usage: sqlite_diff.sh BIN_DIR DATAGEN [LINES]}
lines=${3:-50000}
for tool in sqlite3 jq; do
  command -v "$tool" >/dev/null || { echo "sqlite_diff: $tool not found, skipping" >&2; exit 77; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$datagen" -n "$lines" -p 700 -s 7 > "$tmp/events.ndjson"
# A few records with the awkward cases: a missing field, a null, a string where a number is
# expected (SQL's json_extract would turn "7" into text; both sides must ignore it in sums).
cat >> "$tmp/events.ndjson" <<'EOF'
{"ts":"2026-11-01T13:00:00.000Z","event":"purchase","gameCode":1302,"level":5,"useSkill":true,"member":{"playerId":"p999991","country":"KR","platform":"pc"},"price":null}
{"ts":"2026-11-01T13:00:00.001Z","event":"purchase","gameCode":1302,"level":6,"useSkill":false,"member":{"playerId":"p999992","country":"KR","platform":"pc"}}
EOF

# One row per line: ASCII mode splits rows on 0x1E, which JSON text never contains raw.
tr '\n' '\036' < "$tmp/events.ndjson" > "$tmp/events.ascii"
sqlite3 "$tmp/events.db" ".mode ascii" "CREATE TABLE events(j TEXT)" ".import $tmp/events.ascii events"

failures=0
# compare GROUP_PATHS (comma-separated, as for -g; empty for none)
compare() {
  local groups=$1
  local select="" group_by="" jq_keys=""
  IFS=, read -r -a paths <<< "$groups"
  local i=0
  for path in "${paths[@]}"; do
    [ -n "$path" ] || continue
    # SQLite gives true/false as 1/0; so does the jq side below.
    select+="json_extract(j, '\$.$path') AS g$i, "
    group_by+="${group_by:+, }g$i"
    jq_keys+="(.$path | if type == \"boolean\" then (if . then 1 else 0 end) else . end | tostring), "
    i=$((i + 1))
  done
  local num="CASE WHEN json_type(j, '\$.%s') IN ('integer', 'real') THEN json_extract(j, '\$.%s') END"
  local price level
  # shellcheck disable=SC2059
  price=$(printf "$num" price price)
  # shellcheck disable=SC2059
  level=$(printf "$num" level level)
  sqlite3 -separator '|' "$tmp/events.db" \
    "SELECT ${select}count(*), count(json_extract(j, '\$.price')), sum($price), min($level), max($level), avg($price),
            count(DISTINCT json_extract(j, '\$.member.playerId'))
     FROM events ${group_by:+GROUP BY $group_by}" | sort > "$tmp/sqlite.txt"

  local g_flag=()
  [ -n "$groups" ] && g_flag=(-g "$groups")
  "$bin_dir/cep-agg" "${g_flag[@]}" \
    'count(), count(price), sum(price), min(level), max(level), avg(price), count_distinct(member.playerId)' \
    "$tmp/events.ndjson" > "$tmp/cep.ndjson"
  jq -r "[${jq_keys}(.count | tostring), (.count_price | tostring), (.sum_price | tostring),
          (.min_level | tostring), (.max_level | tostring), (.avg_price | tostring),
          (.count_distinct_member_playerId | tostring)] | join(\"|\")" "$tmp/cep.ndjson" | sort > "$tmp/cep.txt"

  local keys=$i
  if ! awk -F'|' -v keys="$keys" -v label="-g ${groups:-(none)}" '
      function differs(a, b) {
        if (a == b || (a == "null" && b == "")) return 0  # SQL NULL prints as nothing
        if (a == "" || b == "" || a == "null" || b == "null") return 1
        d = a - b; if (d < 0) d = -d
        m = (a < 0 ? -a : a); if ((b < 0 ? -b : b) > m) m = (b < 0 ? -b : b)
        return d > 1e-9 * m
      }
      NR == FNR { want[FNR] = $0; n = FNR; next }
      {
        got = FNR
        split(want[FNR], w, "|")
        for (f = 1; f <= NF; f++) {
          exact = (f <= keys + 2) || f == keys + 4 || f == keys + 5 || f == keys + 7
          if ((exact && $f != w[f] && !($f == "null" && w[f] == "")) || (!exact && differs($f, w[f]))) {
            printf "%s: row %d field %d: cep-agg %s, sqlite %s\n  cep:    %s\n  sqlite: %s\n", label, FNR, f, $f, w[f], $0, want[FNR]
            bad = 1
            break
          }
        }
      }
      END {
        if (got != n) { printf "%s: %d rows from cep-agg, %d from sqlite\n", label, got, n; bad = 1 }
        exit bad
      }' "$tmp/sqlite.txt" "$tmp/cep.txt"; then
    failures=$((failures + 1))
  else
    echo "ok   -g ${groups:-(none)}: $(wc -l < "$tmp/cep.txt") groups agree"
  fi
}

compare ""
compare "event"
compare "member.country,member.platform"
compare "gameCode"
compare "useSkill,event"
compare "member.playerId"
compare "level,member.country"

if [ "$failures" -gt 0 ]; then
  echo "sqlite_diff: $failures group-by(s) differ" >&2
  exit 1
fi
echo "sqlite_diff: cep-agg agrees with sqlite3 on $lines events"
