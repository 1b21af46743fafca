#!/usr/bin/env bash
# End-to-end analysis time of the `tracer` command vs sysdig 0.29.3 on the same captures:
#   tracer by evtin.span.tags -r F   vs  sysdig -r F -c fdbytes_by evtin.span.tags
#   tracer summary -r F              vs  csysdig --raw -v traces_summary -r F
# Medians of RUNS (default 5) wall-clock runs each, interleaved, as ratios.
#
# Captures: the demo's (demo-out/capture.scap, when present) and a synthetic one written by
# tracer-scap's `synthcap` example (SYNTH_ITERATIONS, default 110000 ≈ 4.2 M events).
# Environment: TRACER (default: builds <target>/release/tracer), CAPTURES (space-separated
# list replacing the defaults), RUNS.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
cd "$repo"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}" TZ=UTC
RUNS="${RUNS:-5}"
command -v sysdig >/dev/null || { echo "SKIP cli_vs_sysdig: sysdig not on PATH"; exit 0; }
if [ -z "${TRACER:-}" ]; then
    cargo build --release --quiet -p tracer-cli
    TRACER="$CARGO_TARGET_DIR/release/tracer"
fi
if [ -z "${CAPTURES:-}" ]; then
    CAPTURES=""
    [ -f "$repo/demo-out/capture.scap" ] && CAPTURES="$repo/demo-out/capture.scap"
    synth="$CARGO_TARGET_DIR/bench-synth.scap"
    iters="${SYNTH_ITERATIONS:-110000}"
    if [ ! -f "$synth.$iters" ]; then
        cargo run --release --quiet -p tracer-scap --example synthcap "$synth" "$iters" 2>/dev/null
        touch "$synth.$iters"
    fi
    CAPTURES="$CAPTURES $synth"
fi

# Prints the median wall time (seconds) of the commands' runs, interleaved.
python3 - "$TRACER" "$RUNS" $CAPTURES <<'EOF'
import os, statistics, subprocess, sys, time

tracer, runs, caps = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
pairs = [
    ("by evtin.span.tags", [tracer, "--color", "never", "by", "evtin.span.tags", "-r"],
     ["sysdig", "-c", "fdbytes_by", "evtin.span.tags", "-r"]),
    ("traces summary", [tracer, "--color", "never", "summary", "-r"],
     ["csysdig", "--raw", "-v", "traces_summary", "-r"]),
]

def timed(cmd):
    t = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t

for cap in caps:
    size = os.path.getsize(cap)
    for name, ours, theirs in pairs:
        a, b = [], []
        for i in range(runs):
            for cmd, acc in (((ours, a), (theirs, b)) if i % 2 == 0 else ((theirs, b), (ours, a))):
                acc.append(timed(cmd + [cap]))
        ma, mb = statistics.median(a), statistics.median(b)
        print("cli %-18s on %s (%.1f MiB): tracer %.3fs, sysdig %.3fs, ratio sysdig/tracer %.1fx "
              "(medians of %d)" % (name, os.path.basename(cap), size / 2**20, ma, mb, mb / ma, runs))
EOF
