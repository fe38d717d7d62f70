#!/usr/bin/env bash
# Writes bash, zsh and fish completions for every cep tool from the tool's own option table
# (`cep-TOOL --cep-options-json`), so completions cannot drift from the flags. The output is
# committed; tests/completions/check.sh fails when it is out of date.
#
# Usage: completions/generate.sh BIN_DIR OUT_DIR [TOOL...]
#   BIN_DIR  where the built cep-TOOL binaries are (e.g. build/tools)
#   OUT_DIR  where bash/, zsh/ and fish/ are written (e.g. completions)
#   TOOL...  tool names without the cep- prefix; default: CEP_TOOLS in tools/CMakeLists.txt
#
# Value completion follows each option's type: FILE and INPUT complete file names, DIR
# directories, `a|b|c` (lowercase) those words; other values (EXPR, DURATION, SLIDE|M, ...)
# complete nothing.
# Needs jq.
set -euo pipefail

if [ $# -lt 2 ]; then
    echo "usage: $0 BIN_DIR OUT_DIR [TOOL...]" >&2
    exit 2
fi
bin_dir=$1
out_dir=$2
shift 2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ $# -gt 0 ]; then
    tools=("$@")
else
    # The same list CMake builds from, so test binaries (cep-golden, ...) are never included.
    read -r -a tools < <(sed -n 's/^set(CEP_TOOLS \(.*\))$/\1/p' "$here/../tools/CMakeLists.txt")
    # ... and the front door, which has no cep- prefix.
    [ -f "$here/../tools/cep.cpp" ] && tools+=(cep)
fi
if [ ${#tools[@]} -eq 0 ]; then
    echo "$0: no tools given and none found in tools/CMakeLists.txt" >&2
    exit 2
fi
command -v jq >/dev/null || { echo "$0: jq is needed (apt-get install jq)" >&2; exit 2; }

regenerate="completions/generate.sh build/tools completions"

# One option per line: kind, short names, long names, takes value, type, description.
# Separated by \x1f (unit separator) rather than tabs, so empty fields survive `read`.
option_table() {
    jq -r '.options[] | [
        (if .positional then "positional" else "option" end),
        ([.names[] | select(startswith("--") | not)] | join(" ")),
        ([.names[] | select(startswith("--"))] | join(" ")),
        (if .takes_value then "1" else "0" end),
        .type,
        .description
    ] | join("\u001f")'
}

# The helpers below set a variable instead of printing, so no subshell is forked per option.

# What a value of TYPE completes to, in $value: files, dirs, choices, command, or none.
value_kind() {
    # Lowercase alternatives are literal values (skip|fail), offered in $words; `every:N`
    # offers `every`. Uppercase ones name what to write (SLIDE|M) and are not offered.
    if [[ $1 =~ ^[a-z][a-z0-9_.-]*(:[^|]*)?(\|[a-z][a-z0-9_.-]*(:[^|]*)?)+$ ]]; then
        value=choices
        words=""
        local -a alternatives
        local alternative
        IFS='|' read -r -a alternatives <<<"$1"
        for alternative in "${alternatives[@]}"; do
            alternative=${alternative%%:*}
            [[ " $words " == *" $alternative "* ]] || words+="${words:+ }$alternative"
        done
        return
    fi
    case $1 in
        *COMMAND*) value=command ;;
        *DIR*) value=dirs ;;
        *FILE* | *INPUT*) value=files ;;
        *) value=none ;;
    esac
}

# Quoting for the three shells' single-quoted strings, in $quoted.
bash_quote() { printf -v quoted "'%s'" "${1//\'/\'\\\'\'}"; }
fish_quote() {
    local text=${1//\\/\\\\}
    printf -v quoted "'%s'" "${text//\'/\\\'}"
}
# zsh _arguments descriptions also treat [ ] : $ ` and \ specially (as clap_complete escapes).
zsh_escape() {
    local text=${1//\\/\\\\}
    text=${text//\[/\\[}
    text=${text//\]/\\]}
    text=${text//:/\\:}
    text=${text//\$/\\\$}
    text=${text//\`/\\\`}
    quoted=${text//\'/\'\\\'\'}
}

write_bash() {
    local tool=$1 table=$2 fn="_${1//-/_}"
    local all_options="" file_options="" dir_options="" none_options="" choice_cases="" has_command=0
    local kind shorts longs takes type desc names
    while IFS=$'\x1f' read -r kind shorts longs takes type desc; do
        if [ "$kind" = positional ]; then
            value_kind "$type"
            [ "$value" = command ] && has_command=1
            continue
        fi
        names="$shorts $longs"
        names=${names# }
        all_options+="${all_options:+ }$names"
        [ "$takes" = 1 ] || continue
        local pattern=${names// /|}
        value_kind "$type"
        case $value in
            files) file_options+="${file_options:+|}$pattern" ;;
            dirs) dir_options+="${dir_options:+|}$pattern" ;;
            choices)
                bash_quote "$words"
                choice_cases+="        $pattern)
            COMPREPLY=(\$(compgen -W $quoted -- \"\$cur\"))
            return
            ;;
" ;;
            *) none_options+="${none_options:+|}$pattern" ;;
        esac
    done <<<"$table"

    {
        echo "# bash completion for $tool                                -*- shell-script -*-"
        echo "# Generated from \`$tool --cep-options-json\` by completions/generate.sh; do not edit."
        echo "# Regenerate with: $regenerate"
        echo
        echo "$fn()"
        echo "{"
        echo "    local cur prev words cword split"
        echo "    if declare -F _init_completion >/dev/null; then"
        echo "        _init_completion -s || return"
        echo "    else"
        echo "        # Without bash-completion: words as bash split them, '=' being a word of its own."
        echo "        words=(\"\${COMP_WORDS[@]}\") cword=\$COMP_CWORD"
        echo "        cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD - 1]}"
        echo "        if [[ \$cur == = ]]; then"
        echo "            cur="
        echo "        elif [[ \$prev == = && \$COMP_CWORD -ge 2 ]]; then"
        echo "            prev=\${COMP_WORDS[COMP_CWORD - 2]}"
        echo "        fi"
        echo "    fi"
        if [ "$has_command" = 1 ]; then
            echo
            echo "    # After --, a command line of its own."
            echo "    local i"
            echo "    for ((i = 1; i < cword; i++)); do"
            echo "        if [[ \${words[i]} == -- ]]; then"
            echo "            if declare -F _command_offset >/dev/null; then"
            echo "                _command_offset \$((i + 1))"
            echo "            elif ((cword == i + 1)); then"
            echo "                COMPREPLY=(\$(compgen -c -- \"\$cur\"))"
            echo "            else"
            echo "                COMPREPLY=(\$(compgen -f -- \"\$cur\"))"
            echo "            fi"
            echo "            return"
            echo "        fi"
            echo "    done"
        fi
        if [ -n "$subcommands" ]; then
            bash_quote "$subcommands"
            echo
            echo "    # The first word: a subcommand or a tool."
            echo "    if ((cword == 1)) && [[ \$cur != -* ]]; then"
            echo "        COMPREPLY=(\$(compgen -W $quoted -- \"\$cur\"))"
            echo "        return"
            echo "    fi"
        fi
        echo
        echo "    case \$prev in"
        if [ -n "$file_options" ]; then
            echo "        $file_options)"
            echo "            if declare -F _filedir >/dev/null; then _filedir; else COMPREPLY=(\$(compgen -f -- \"\$cur\")); fi"
            echo "            return"
            echo "            ;;"
        fi
        if [ -n "$dir_options" ]; then
            echo "        $dir_options)"
            echo "            if declare -F _filedir >/dev/null; then _filedir -d; else COMPREPLY=(\$(compgen -d -- \"\$cur\")); fi"
            echo "            return"
            echo "            ;;"
        fi
        printf '%s' "$choice_cases"
        if [ -n "$none_options" ]; then
            echo "        $none_options)"
            echo "            return"
            echo "            ;;"
        fi
        echo "    esac"
        echo
        bash_quote "$all_options"
        echo "    if [[ \$cur == -* ]]; then"
        echo "        COMPREPLY=(\$(compgen -W $quoted -- \"\$cur\"))"
        echo "        return"
        echo "    fi"
        echo "    if declare -F _filedir >/dev/null; then _filedir; else COMPREPLY=(\$(compgen -f -- \"\$cur\")); fi"
        echo "} &&"
        echo "    complete -F $fn $tool"
        echo
        echo "# ex: filetype=sh"
    } >"$out_dir/bash/$tool"
}

write_zsh() {
    local tool=$1 table=$2
    local kind shorts longs takes type desc
    {
        echo "#compdef $tool"
        echo "# Generated from \`$tool --cep-options-json\` by completions/generate.sh; do not edit."
        echo "# Regenerate with: $regenerate"
        echo
        echo "_arguments -s -S \\"
        if [ -n "$subcommands" ]; then
            zsh_escape "$subcommands"
            echo "  '1:command:($quoted)' \\"
        fi
        while IFS=$'\x1f' read -r kind shorts longs takes type desc; do
            local action="" names=() name spec
            value_kind "$type"
            if [ "$takes" = 1 ]; then
                case $value in
                    files) action="_files" ;;
                    dirs) action="_files -/" ;;
                    choices) action="($words)" ;;
                    command) action="_command_names -e" ;;
                    *) action=" " ;;
                esac
            fi
            if [ "$kind" = positional ]; then
                # Remaining words: inputs are files; a command (after --) is completed as one.
                zsh_escape "$type"
                [ "$value" = files ] && echo "  '*:$quoted:_files' \\"
                continue
            fi
            read -r -a names <<<"$shorts $longs"
            local exclusion=""
            [ ${#names[@]} -gt 1 ] && exclusion="(${names[*]})"
            zsh_escape "$desc"
            local description=$quoted
            zsh_escape "$type"
            local message=$quoted
            for name in "${names[@]}"; do
                spec="$name"
                if [ "$takes" = 1 ]; then
                    # --name=VALUE or --name VALUE; -n VALUE.
                    [[ $name == --* ]] && spec+="="
                    spec+="[$description]:$message:$action"
                else
                    spec+="[$description]"
                fi
                echo "  '$exclusion$spec' \\"
            done
        done <<<"$table"
        echo "  && return 0"
    } >"$out_dir/zsh/_$tool"
}

write_fish() {
    local tool=$1 table=$2
    local kind shorts longs takes type desc
    {
        echo "# fish completion for $tool"
        echo "# Generated from \`$tool --cep-options-json\` by completions/generate.sh; do not edit."
        echo "# Regenerate with: $regenerate"
        echo
        local sub summary
        while IFS=$'\x1f' read -r sub summary; do
            [ -n "$sub" ] || continue
            fish_quote "$summary"
            echo "complete -c $tool -n __fish_use_subcommand -f -a $sub -d $quoted"
        done <<<"$subcommand_table"
        while IFS=$'\x1f' read -r kind shorts longs takes type desc; do
            [ "$kind" = positional ] && continue
            local line="complete -c $tool" name
            for name in $shorts; do line+=" -s ${name#-}"; done
            for name in $longs; do line+=" -l ${name#--}"; done
            if [ "$takes" = 1 ]; then
                value_kind "$type"
                case $value in
                    files) line+=" -r -F" ;;
                    dirs) line+=" -x -a '(__fish_complete_directories)'" ;;
                    choices)
                        fish_quote "$words"
                        line+=" -x -a $quoted"
                        ;;
                    *) line+=" -x" ;;
                esac
            fi
            fish_quote "$desc"
            echo "$line -d $quoted"
        done <<<"$table"
    } >"$out_dir/fish/$tool.fish"
}

mkdir -p "$out_dir/bash" "$out_dir/zsh" "$out_dir/fish"
for name in "${tools[@]}"; do
    # tools/golden naming: the front door is `cep` itself, every other tool `cep-NAME`.
    if [ "$name" = cep ]; then tool=cep; else tool=cep-$name; fi
    binary=$bin_dir/$tool
    if [ ! -x "$binary" ]; then
        echo "$0: $binary not found or not executable (build first)" >&2
        exit 1
    fi
    json=$("$binary" --cep-options-json)
    table=$(option_table <<<"$json")
    # The front door completes its subcommands and the tools as its first word.
    subcommand_table=$(jq -r '(.subcommands // [])[] | [.name, .summary] | join("\u001f")' <<<"$json")
    subcommands=$(jq -r '[(.subcommands // [])[].name] | join(" ")' <<<"$json")
    write_bash "$tool" "$table"
    write_zsh "$tool" "$table"
    write_fish "$tool" "$table"
done
