#!/usr/bin/env bash
# ctest `completions`: the committed completions must be exactly what completions/generate.sh
# makes from the built tools, so a flag added without regenerating fails the suite. Then the
# bash completions must load and, where bash-completion is installed, complete.
#
# Usage: tests/completions/check.sh BIN_DIR SOURCE_DIR TOOL...
set -euo pipefail

if [ $# -lt 3 ]; then
    echo "usage: $0 BIN_DIR SOURCE_DIR TOOL..." >&2
    exit 2
fi
bin_dir=$1
src=$2
shift 2
tools=("$@")
regenerate="completions/generate.sh build/tools completions"

scratch=$(mktemp -d "${TMPDIR:-/tmp}/cep-completions-XXXXXX")
trap 'rm -rf "$scratch"' EXIT
failed=0
fail() {
    echo "FAIL: $*"
    failed=1
}

"$src/completions/generate.sh" "$bin_dir" "$scratch" "${tools[@]}"
for shell in bash zsh fish; do
    if ! diff -ru "$src/completions/$shell" "$scratch/$shell" >"$scratch/$shell.diff"; then
        cat "$scratch/$shell.diff"
        fail "completions/$shell is out of date with the tools' options."
    fi
done
if [ $failed -ne 0 ]; then
    echo
    echo "Regenerate from a fresh build and commit the result:"
    echo "    $regenerate"
    exit 1
fi
echo "ok: committed completions match the tools' option tables (${tools[*]})"

for name in "${tools[@]}"; do
    if [ "$name" = cep ]; then tool=cep; else tool=cep-$name; fi
    file=$src/completions/bash/$tool
    # Loads in a plain bash (no bash-completion) and registers a completion function.
    registered=$(bash -c 'source "$1" && complete -p "$2"' _ "$file" "$tool" 2>&1) ||
        fail "$file does not load in bash: $registered"
    [[ $registered == "complete -F _${tool//-/_} $tool" ]] || fail "$file registers '$registered'"
    if command -v zsh >/dev/null; then
        zsh -n "$src/completions/zsh/_$tool" || fail "completions/zsh/_$tool: zsh syntax error"
    fi
    if command -v fish >/dev/null; then
        fish --no-execute "$src/completions/fish/$tool.fish" || fail "completions/fish/$tool.fish: fish syntax error"
    fi
done

# With bash-completion installed, complete for real: every long option is offered after `--`,
# and options with a fixed set of values offer exactly those values.
bash_completion=/usr/share/bash-completion/bash_completion
if [ -r "$bash_completion" ]; then
    # Answers completion queries, one per input line (words separated by \x1f, the last one
    # being completed), with one line each: the sorted candidates. One bash per tool, since
    # loading bash-completion is the slow part.
    complete_queries() { # FILE TOOL
        bash -c '
            source "$1" >/dev/null 2>&1; source "$2"
            fn=$(complete -p "$3" | sed "s/.*-F \([^ ]*\).*/\1/")
            while IFS= read -r line; do
                IFS=$'"'"'\x1f'"'"' read -r -a COMP_WORDS <<<"$line"
                [[ $line == *$'"'"'\x1f'"'"' ]] && COMP_WORDS+=("")
                COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
                COMP_LINE="${COMP_WORDS[*]}" COMP_POINT=${#COMP_LINE} COMPREPLY=()
                "$fn" "$3" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}" 2>/dev/null
                printf "%s\n" "${COMPREPLY[@]}" | sort | paste -sd " "
            done' _ "$bash_completion" "$1" "$2"
    }
    for name in "${tools[@]}"; do
        if [ "$name" = cep ]; then tool=cep; else tool=cep-$name; fi
        options=$("$bin_dir/$tool" --cep-options-json)
        # Query and expected answer: every long option after `--`, and each fixed set of values.
        queries=("$tool"$'\x1f'"--")
        wants=("$(jq -r '.options[].names[] | select(startswith("--"))' <<<"$options" | sort | paste -sd " ")")
        # Lowercase alternatives are values (`every:N` offers `every`); SLIDE|M names are not.
        while IFS=$'\t' read -r option choices; do
            queries+=("$tool"$'\x1f'"$option"$'\x1f')
            wants+=("$choices")
        done < <(jq -r '.options[]
                        | select(.takes_value and (.names | length > 0)
                                 and (.type | test("^[a-z][a-z0-9_.-]*(:[^|]*)?([|][a-z][a-z0-9_.-]*(:[^|]*)?)+$")))
                        | [(.names | last), (.type | split("|") | map(sub(":.*"; "")) | unique | join(" "))]
                        | @tsv' <<<"$options")
        mapfile -t answers < <(printf '%s\n' "${queries[@]}" | complete_queries "$src/completions/bash/$tool" "$tool")
        for i in "${!queries[@]}"; do
            if [ "${answers[i]-}" != "${wants[i]}" ]; then
                fail "${queries[i]//$'\x1f'/ }<TAB> offers: ${answers[i]-}; expected: ${wants[i]}"
            fi
        done
    done
    [ $failed -eq 0 ] && echo "ok: bash completes every long option and every fixed set of values"
else
    echo "skipped: functional bash checks ($bash_completion not installed)"
fi

exit $failed
