#!/usr/bin/env bash
# ctest `manifest-modes`: every golden manifest (a case directory with manifest.yaml and no cmd)
# that uses only cep tools must give the same standard output, exit status and files when run
# fused (one process) and as processes (one per node, pipes).
#
# Usage: tests/manifest/both_modes.sh CEP MANIFEST_DIR
set -euo pipefail
cep=$1
root=$2
scratch=$(mktemp -d "${TMPDIR:-/tmp}/cep-modes-XXXXXX")
trap 'rm -rf "$scratch"' EXIT
export TZ=UTC LC_ALL=C
failed=0 compared=0
for dir in "$root"/*/; do
    dir=${dir%/}
    name=$(basename "$dir")
    [ -f "$dir/manifest.yaml" ] && [ ! -f "$dir/cmd" ] || continue
    if grep -Eq '^[[:space:]]+command:' "$dir/manifest.yaml"; then
        echo "skip $name: has a foreign command (processes mode only)"
        continue
    fi
    for mode in fused processes; do
        rm -rf "${scratch:?}/$mode"
        mkdir -p "$scratch/$mode"
        cp -RL "$dir/." "$scratch/$mode/"
        rm -rf "$scratch/$mode/files" "$scratch/$mode/out.ndjson"
        set +e
        (cd "$scratch/$mode" && "$cep" run --mode "$mode" manifest.yaml >"$scratch/$mode.stdout" 2>"$scratch/$mode.stderr" </dev/null)
        echo $? >"$scratch/$mode.exit"
        set -e
    done
    compared=$((compared + 1))
    if ! diff -u "$scratch/fused.exit" "$scratch/processes.exit" ||
        ! diff -u "$scratch/fused.stdout" "$scratch/processes.stdout" ||
        ! diff -ru "$scratch/fused" "$scratch/processes"; then
        echo "FAIL $name: fused and processes modes differ"
        sed 's/^/  fused stderr: /' "$scratch/fused.stderr"
        sed 's/^/  processes stderr: /' "$scratch/processes.stderr"
        failed=1
    else
        echo "ok   $name"
    fi
done
[ "$compared" -gt 0 ] || { echo "FAIL: no manifests under $root"; exit 1; }
exit $failed
