#!/usr/bin/env bash
# ctest `man-options`: every long option a tool accepts (its --cep-options-json table) must be
# documented in its man page source, man/cep-TOOL.1.scd, as an entry of the OPTIONS section (a
# line starting with `*`, such as `*-o*, *--output* _FILE_`), and the page must render with
# scdoc. A flag added without a word in the manual fails the suite.
#
# Usage: tests/docs/check_man_options.sh BIN_DIR SOURCE_DIR TOOL...
set -euo pipefail

if [ $# -lt 3 ]; then
    echo "usage: $0 BIN_DIR SOURCE_DIR TOOL..." >&2
    exit 2
fi
bin_dir=$1
src=$2
shift 2
failed=0
for name in "$@"; do
    if [ "$name" = cep ]; then tool=cep; else tool=cep-$name; fi
    page=$src/man/$tool.1.scd
    if [ ! -f "$page" ]; then
        echo "FAIL: $tool has no man page: man/$tool.1.scd"
        failed=1
        continue
    fi
    # The entry headings of the OPTIONS section; a mention in passing elsewhere does not count.
    headings=$(awk '/^# /{section=$0; next} section=="# OPTIONS" && /^\*/' "$page")
    missing=()
    while read -r option; do
        # Whole option names only: --time must not be satisfied by --time-unit.
        grep -Eq -- "(^|[^a-z0-9-])${option}([^a-z0-9-]|\$)" <<<"$headings" || missing+=("$option")
    done < <("$bin_dir/$tool" --cep-options-json | jq -r '.options[].names[] | select(startswith("--"))')
    if [ ${#missing[@]} -gt 0 ]; then
        echo "FAIL: man/$tool.1.scd has no OPTIONS entry for: ${missing[*]}"
        failed=1
    fi
    if command -v scdoc >/dev/null; then
        if ! errors=$(scdoc <"$page" 2>&1 >/dev/null); then
            echo "FAIL: man/$tool.1.scd does not render: $errors"
            failed=1
        fi
    fi
    [ ${#missing[@]} -eq 0 ] && echo "ok: man/$tool.1.scd documents every long option of $tool"
done
exit $failed
