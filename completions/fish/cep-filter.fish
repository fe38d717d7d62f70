# fish completion for cep-filter
# Generated from `cep-filter --cep-options-json` by completions/generate.sh; do not edit.
# Regenerate with: completions/generate.sh build/tools completions

complete -c cep-filter -s h -l help -d 'Print this help message and exit'
complete -c cep-filter -l version -d 'Display program version information and exit'
complete -c cep-filter -s c -l conditions -r -F -d 'Read the condition from FILE instead: a YAML or JSON list of {field, value, type, operator}'
complete -c cep-filter -s v -l invert -d 'Keep the records that do not match'
complete -c cep-filter -s o -l output -r -F -d 'Write records to FILE (`-` is stdout; a .zst name compresses)'
complete -c cep-filter -l dead-letter -r -F -d 'Write bad records to FILE as JSON lines with source, line, reason and raw text'
complete -c cep-filter -l on-error -x -a 'skip fail' -d 'On a bad record: skip it and exit 1 at the end, or fail at once'
complete -c cep-filter -l stats -d 'Print one JSON line of counters to stderr at the end'
complete -c cep-filter -l stats-interval -x -d 'Also print the counters every DURATION (e.g. 5s)'
complete -c cep-filter -l progress -x -a 'auto always never' -d 'Progress bar on stderr: auto (when stderr is a terminal), always, never'
complete -c cep-filter -l max-line-bytes -x -d 'Longest accepted input line in bytes (default 128 MiB)'
complete -c cep-filter -l strict -d 'Fully validate every record, including fields no operator reads (slower)'
complete -c cep-filter -l time -x -d 'Event-time field: an RFC 3339 string or an epoch number'
complete -c cep-filter -l time-unit -x -a 's ms us ns' -d 'Unit of numeric event times'
complete -c cep-filter -l watermarks -x -a 'auto always never' -d 'Write event-time control records for a cep tool reading our output: auto (when the reader is a cep tool), always, never'
