#!/usr/bin/env bash
# Differential test: cep-window's tumbling-window aggregates against sqlite3's GROUP BY over the
# same records. The data is out of order by up to 5 s and --max-delay is 10 s, so no record is
# late and every window must match exactly: same groups, counts, minimums and maximums, and
# sums equal to within float rounding (cep sums exactly; sqlite adds doubles in row order).
# --rate 20 spreads the 20000 records over ~17 minutes of event time: 8 countries x 17 windows.
#
#   tests/window/sqlite_diff.sh TOOLS_DIR DATAGEN     (exit 77: no sqlite3 to compare with)
set -euo pipefail
tools=${1:?usage: sqlite_diff.sh TOOLS_DIR DATAGEN}
datagen=${2:?usage: sqlite_diff.sh TOOLS_DIR DATAGEN}
command -v sqlite3 > /dev/null || { echo "sqlite_diff: sqlite3 not installed, skipped" >&2; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$datagen" -n 20000 -p 500 --disorder-ms 5000 -s 3 --rate 20 > "$tmp/events.ndjson"
"$tools/cep-window" -k member.country --tumbling 1m --max-delay 10s \
  --agg 'count(), sum(price), min(level), max(level)' --late "$tmp/late.ndjson" --stats \
  "$tmp/events.ndjson" > "$tmp/windows.ndjson" 2> "$tmp/stats.txt"
grep -q '"late":0' "$tmp/stats.txt" || { echo "sqlite_diff: records were late:" >&2; cat "$tmp/stats.txt" >&2; exit 1; }

cd "$tmp"
report=$(sqlite3 -bail <<'SQL'
-- NDJSON files as tables of JSON values (readfile: the sqlite3 shell's file reader).
CREATE TABLE events AS
  SELECT value AS j FROM json_each('[' || replace(rtrim(CAST(readfile('events.ndjson') AS TEXT), char(10)), char(10), ',') || ']');
CREATE TABLE windows AS
  SELECT value AS j FROM json_each('[' || replace(rtrim(CAST(readfile('windows.ndjson') AS TEXT), char(10)), char(10), ',') || ']');

-- Window start = floor(epoch_ms / 60000) * 60000; whole seconds decide the minute.
CREATE TABLE expected AS
  SELECT json_extract(j, '$.member.country') AS country,
         CAST(strftime('%s', json_extract(j, '$.ts')) AS INTEGER) / 60 * 60000 AS start_ms,
         count(*) AS n, sum(json_extract(j, '$.price')) AS total,
         min(json_extract(j, '$.level')) AS lo, max(json_extract(j, '$.level')) AS hi
  FROM events GROUP BY 1, 2;
CREATE TABLE got AS
  SELECT json_extract(j, '$.member.country') AS country,
         CAST(strftime('%s', json_extract(j, '$.window.start')) AS INTEGER) * 1000 AS start_ms,
         (CAST(strftime('%s', json_extract(j, '$.window.end')) AS INTEGER)
          - CAST(strftime('%s', json_extract(j, '$.window.start')) AS INTEGER)) * 1000 AS size_ms,
         json_extract(j, '$.count') AS n, json_extract(j, '$.sum_price') AS total,
         json_extract(j, '$.min_level') AS lo, json_extract(j, '$.max_level') AS hi
  FROM windows;

SELECT 'groups: ' || (SELECT count(*) FROM expected) || ' expected, ' || (SELECT count(*) FROM got) || ' written';
SELECT 'missing in cep-window: ' || e.country || ' ' || e.start_ms
  FROM expected e LEFT JOIN got g USING (country, start_ms) WHERE g.country IS NULL;
SELECT 'not in sqlite: ' || g.country || ' ' || g.start_ms
  FROM got g LEFT JOIN expected e USING (country, start_ms) WHERE e.country IS NULL;
SELECT 'differs: ' || e.country || ' ' || e.start_ms || ' sqlite ' || e.n || '/' || e.total || '/' || e.lo || '/' || e.hi
       || ' cep ' || g.n || '/' || g.total || '/' || g.lo || '/' || g.hi || '/' || g.size_ms
  FROM expected e JOIN got g USING (country, start_ms)
  WHERE e.n != g.n OR e.lo != g.lo OR e.hi != g.hi OR g.size_ms != 60000
     OR abs(e.total - g.total) > 1e-9 * max(1, abs(e.total));
SQL
)
echo "$report"
if grep -qv '^groups: ' <<< "$report"; then
  echo "sqlite_diff: cep-window and sqlite3 disagree" >&2
  exit 1
fi
expected=$(grep -o '^groups: [0-9]*' <<< "$report" | grep -o '[0-9]*$')
[ "$expected" -gt 100 ] || { echo "sqlite_diff: too few groups to mean anything" >&2; exit 1; }
echo "sqlite_diff: ok"
