#!/usr/bin/env bash
# Differential test of the expression language: for random expressions over random records,
# cep-filter must select exactly the records that jq selects with the translated condition.
#
#   tests/diff/run.sh BIN_DIR [GENERATOR]
#
# BIN_DIR holds cep-filter; GENERATOR is cep-diff-gen (default: BIN_DIR/../tests/cep-diff-gen).
# Environment: CEP_DIFF_SEED (default 1), CEP_DIFF_RECORDS (600), CEP_DIFF_EXPRESSIONS (320).
# Exit 0 when all agree, 1 at the first disagreement, 77 (ctest's skip) without jq.
set -euo pipefail

bin_dir=${1:?usage: run.sh BIN_DIR [GENERATOR]}
generator=${2:-$bin_dir/../tests/cep-diff-gen}
filter=$bin_dir/cep-filter

if ! command -v jq >/dev/null 2>&1; then
    echo "diff-jq: jq not found; skipping"
    exit 77
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

seed=${CEP_DIFF_SEED:-1}
"$generator" --seed "$seed" --records "${CEP_DIFF_RECORDS:-600}" \
    --expressions "${CEP_DIFF_EXPRESSIONS:-320}" "$work"
records=$work/records.ndjson
prelude=$(<"$work/prelude.jq")

# One cep-filter run per expression, but jq runs in batches of 50 conditions: starting jq and
# parsing the records dominates otherwise. Each case's output ends with a {"__case__":N} marker.
batch_size=50
count=0
: >"$work/cep.raw"
while IFS=$'\t' read -r expression condition; do
    count=$((count + 1))
    # `--` so that an expression starting with `-` is not read as an option.
    if ! "$filter" -- "$expression" "$records" >>"$work/cep.raw" 2>"$work/cep.err"; then
        echo "diff-jq: cep-filter failed on expression $count (seed $seed):"
        echo "  $expression"
        cat "$work/cep.err"
        exit 1
    fi
    echo "{\"__case__\":$count}" >>"$work/cep.raw"
    printf '(($r[] | select(%s)), {"__case__":%d}),\n' "$condition" "$count" \
        >>"$work/batch.$(printf '%05d' $(((count - 1) / batch_size)))"
    printf '%s\t%s\n' "$expression" "$condition" >>"$work/case.$count"
done <"$work/cases.tsv"

: >"$work/jq.out"
for batch in "$work"/batch.*; do
    if ! jq -n -c "$prelude [inputs] as \$r | $(<"$batch") empty" "$records" >>"$work/jq.out" 2>"$work/jq.err"; then
        echo "diff-jq: jq failed on a batch of translations (seed $seed):"
        cat "$work/jq.err"
        exit 1
    fi
done

# Both sides go through `jq -c .`: cep-filter passes records through byte for byte while jq
# re-serialises them (3.0 becomes 3), so compare the values, not the spelling.
jq -c . "$work/cep.raw" >"$work/cep.out"
number_cases() { awk '/^\{"__case__":/ { n++; next } { print n + 1 "\t" $0 }' "$1"; }
if ! cmp -s "$work/cep.out" "$work/jq.out"; then
    number_cases "$work/cep.out" >"$work/cep.numbered"
    number_cases "$work/jq.out" >"$work/jq.numbered"
    first=$(diff "$work/cep.numbered" "$work/jq.numbered" | grep -m1 "^[<>]" | cut -c3- | cut -f1 || true)
    IFS=$'\t' read -r expression condition <"$work/case.$first"
    echo "diff-jq: expression $first (seed $seed) selects different records:"
    echo "  cep: $expression"
    echo "  jq:  select($condition)"
    echo "--- only cep-filter selected / +++ only jq selected:"
    diff <(grep "^$first	" "$work/cep.numbered" | cut -f2-) <(grep "^$first	" "$work/jq.numbered" | cut -f2-) |
        grep '^[<>]' | sed 's/^</---/; s/^>/+++/' | head -20 || true
    exit 1
fi

selected=$(grep -vc '^{"__case__":' "$work/jq.out" || true)
echo "diff-jq: $count expressions over $(wc -l <"$records") records agree with jq" \
    "($selected records selected in all; seed $seed)"
