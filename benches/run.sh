#!/usr/bin/env bash
# Every overhead figure of the project in one run (`make bench`).
#
# Runs each component's benchmark (each measures its own baseline in the same run and
# reports medians), keeps the full output in $OUT/<name>.log, and prints the summary
# lines of all of them at the end (also saved to $OUT/summary.txt).
#
#   benches/run.sh                 all benchmarks
#   benches/run.sh emit-rust probe only these (names: emit-rust emit-c emit-python
#                                  probe analysis cli engine engine-synth otlp filter)
#   QUICK=1 benches/run.sh         shorter criterion runs and fewer probe rounds
#
# Environment: OUT (default <repo>/target/bench-results), CARGO_TARGET_DIR, VENV.
# The probe benchmark needs root (it prints SKIP otherwise); the analysis benchmark needs
# sysdig on PATH; the Python one needs PyPI once (sysdig-tracers 0.1.2, maturin).
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
cd "$repo"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"
OUT="${OUT:-$CARGO_TARGET_DIR/bench-results}"
mkdir -p "$OUT"
export TZ=UTC

crit=()
if [ "${QUICK:-0}" = 1 ]; then
    crit=(-- --warm-up-time 1 --measurement-time 2)
    export TRACER_BENCH_RUNS="${TRACER_BENCH_RUNS:-3}" TRACER_BENCH_SUSTAIN_S="${TRACER_BENCH_SUSTAIN_S:-3}"
    export TRACER_BENCH_ITERATIONS="${TRACER_BENCH_ITERATIONS:-30000}"
fi

# name | what | command | grep -E pattern of the summary lines
benches=(
    "emit-rust|Rust emitter (tracer-tag) vs 2 raw write(2)|cargo bench -p tracer-tag --bench span ${crit[*]}|^tracer-tag span:"
    "emit-c|C emitter (libtracer_tag) vs 2 raw write(2)|make -s -C bindings/c bench|^C tracer span:"
    "emit-python|Python SDK vs 2 raw os.write and vs sysdig-tracers 0.1.2|bash bindings/python/dev.sh bench|^(Python |variant|raw 2x|sysdig_tracer |sysdig-tracers |speed-up)"
    "probe|eBPF probe: ns added per syscall vs no probe; sustained event rate|cargo bench -p tracer-probe --bench probe_overhead|^(SKIP|probe_overhead:|setup|none|noop|other|outside|inside|goals|sustained)"
    "analysis|read + spans + bytes by evtin.span.tags vs sysdig -r on the same capture|cargo bench -p tracer-scap --bench read ${crit[*]}|^(===|  *wall|tracer-scap \+|  of which|ours_threaded|sysdig 0\.29|ratio sysdig|tables agree)"
    "cli|tracer by / summary vs sysdig -c fdbytes_by / csysdig traces_summary, whole command|bash benches/cli_vs_sysdig.sh|^(SKIP|cli )"
    "engine|tracer-core engine throughput vs a plain pass|cargo bench -p tracer-core --bench engine ${crit[*]}|^summary:"
    "engine-synth|engine + bytes by span on the synthetic capture workload, in memory, ns per syscall|cargo bench -p tracer-core --bench engine_synth|^(engine_synth|  \[fastest)"
    "otlp|OTLP span mapping and encoding vs a plain engine pass|cargo bench -p tracer-otlp --bench mapping|^(events .* spans|engine)"
    "filter|compiled filters vs hand-written predicates|cargo bench -p tracer-core --bench filter ${crit[*]}|^filter summary:"
)

want=("$@")
selected() {
    [ ${#want[@]} -eq 0 ] && return 0
    local w
    for w in "${want[@]}"; do [ "$w" = "$1" ] && return 0; done
    return 1
}

machine="$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1), $(nproc) CPUs, \
$(uname -r), $(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")"
summary="$OUT/summary.txt"
{
    echo "Tracer benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC'), git $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
    echo "machine: $machine"
} >"$summary"

total=0
for b in "${benches[@]}"; do
    IFS='|' read -r name _ _ _ <<<"$b"
    selected "$name" && total=$((total + 1))
done
[ "$total" -gt 0 ] || { echo "bench: no benchmark named ${want[*]}" >&2; exit 2; }

i=0
failed=()
t0=$SECONDS
for b in "${benches[@]}"; do
    IFS='|' read -r name what cmd pattern <<<"$b"
    selected "$name" || continue
    i=$((i + 1))
    log="$OUT/$name.log"
    printf '==> [%d/%d] %s: %s\n    %s  (log: %s)\n' "$i" "$total" "$name" "$what" "$cmd" "$log"
    start=$SECONDS
    # shellcheck disable=SC2086 # $cmd is a trusted command line from the table above
    if bash -c "$cmd" >"$log" 2>&1; then
        status="ok"
    else
        status="FAILED (exit $?)"
        failed+=("$name")
    fi
    printf '    %s in %ds\n' "$status" $((SECONDS - start))
    {
        echo
        echo "## $name — $what"
        echo "\$ $cmd"
        grep -E "$pattern" "$log" || echo "(no summary line found; see $log)"
        [ "$status" = ok ] || echo "$status"
    } >>"$summary"
done

echo
cat "$summary"
echo
echo "bench: done in $((SECONDS - t0))s; logs and summary in $OUT"
if [ ${#failed[@]} -gt 0 ]; then
    echo "bench: failed: ${failed[*]}" >&2
    exit 1
fi
