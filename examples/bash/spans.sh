#!/usr/bin/env bash
# Emits nested tracer spans from a shell script: each marker is one `echo` to /dev/null
# (set TRACER_SINK=FILE to append them to FILE instead). The id is the script's pid ($$),
# so markers written from subshells and pipelines still pair.
set -euo pipefail

TRACER_SINK=${TRACER_SINK:-/dev/null}
TRACER_ID=$$

# Escapes the bytes that would end a field: \ : , = > < and LF.
tracer_escape() {
    local s=$1
    s=${s//\\/\\\\}
    s=${s//:/\\:}
    s=${s//,/\\,}
    s=${s//=/\\=}
    s=${s//>/\\>}
    s=${s//</\\<}
    s=${s//$'\n'/\\$'\n'}
    printf '%s' "$s"
}

# tracer_args k v [k v ...]  ->  k=v,k=v (escaped)
tracer_args() {
    local out="" sep=""
    while (($# >= 2)); do
        out+="$sep$(tracer_escape "$1")=$(tracer_escape "$2")"
        sep=","
        shift 2
    done
    printf '%s' "$out"
}

# span_enter TAG.PATH [k v ...] / span_exit TAG.PATH [k v ...]
# (the dots of TAG.PATH separate nesting levels; they are not escaped)
span_enter() { local t=$1; shift; echo ">:$TRACER_ID:$t:$(tracer_args "$@"):" >>"$TRACER_SINK"; }
span_exit() { local t=$1; shift; echo "<:$TRACER_ID:$t:$(tracer_args "$@"):" >>"$TRACER_SINK"; }

span_enter backup host "db:1" mode full
    span_enter backup.dump
    rows=$(printf 'a\nb\nc\n' | wc -l)
    span_exit backup.dump rows "$rows"

    span_enter backup.compress
    printf 'payload' | gzip -c >/dev/null
    span_exit backup.compress

    span_enter backup.upload
    for n in 1 2; do
        ( span_enter backup.upload.part n "$n"; sleep 0.01; span_exit backup.upload.part )
    done
    span_exit backup.upload
span_exit backup status ok
