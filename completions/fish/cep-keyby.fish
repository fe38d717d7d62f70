# fish completion for cep-keyby
# Generated from `cep-keyby --cep-options-json` by completions/generate.sh; do not edit.
# Regenerate with: completions/generate.sh build/tools completions

complete -c cep-keyby -s h -l help -d 'Print this help message and exit'
complete -c cep-keyby -l version -d 'Display program version information and exit'
complete -c cep-keyby -s k -l key -x -d 'Key field(s): PATH or PATH,PATH,... (composite keys are JSON arrays, see KEY ENCODING)'
complete -c cep-keyby -l partitions -x -d 'Split records into N outputs by Kafka\'s partition of their key (murmur2); -o must contain {p}'
complete -c cep-keyby -l missing-key -x -a 'error null' -d 'A record without a key field: error (dead letter, exit 1) or null (key it as null)'
complete -c cep-keyby -l emit-key -x -d 'Also write the key into each record, as the string field NAME (placed first)'
complete -c cep-keyby -s j -l jobs -x -d 'Run N (1-1024) copies of the COMMAND given after --; copy i gets the records of partition i and their outputs are merged line by line'
complete -c cep-keyby -s o -l output -r -F -d 'Write records to FILE (`-` is stdout; a .zst name compresses)'
complete -c cep-keyby -l dead-letter -r -F -d 'Write bad records to FILE as JSON lines with source, line, reason and raw text'
complete -c cep-keyby -l on-error -x -a 'skip fail' -d 'On a bad record: skip it and exit 1 at the end, or fail at once'
complete -c cep-keyby -l stats -d 'Print one JSON line of counters to stderr at the end'
complete -c cep-keyby -l stats-interval -x -d 'Also print the counters every DURATION (e.g. 5s)'
complete -c cep-keyby -l progress -x -a 'auto always never' -d 'Progress bar on stderr: auto (when stderr is a terminal), always, never'
complete -c cep-keyby -l max-line-bytes -x -d 'Longest accepted input line in bytes (default 128 MiB)'
complete -c cep-keyby -l strict -d 'Fully validate every record, including fields no operator reads (slower)'
complete -c cep-keyby -l time -x -d 'Event-time field: an RFC 3339 string or an epoch number'
complete -c cep-keyby -l time-unit -x -a 's ms us ns' -d 'Unit of numeric event times'
complete -c cep-keyby -l watermarks -x -a 'auto always never' -d 'Write event-time control records for a cep tool reading our output: auto (when the reader is a cep tool), always, never'
