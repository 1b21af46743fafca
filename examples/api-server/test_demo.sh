#!/usr/bin/env bash
# Shortened demo pipeline as a test (called by `make test`): small blobs, a few seconds of
# capture under siege, then checks on the --json results:
#   1. the culprit reported is the largest blob;
#   2. download_handler's max duration is above its median (traces summary);
#   3. the culprit comes from spans slower than the threshold (not the fallback).
# Needs root and a kernel with BTF (the eBPF probe); prints a loud SKIP otherwise.
#
# Environment: TRACER (default: builds and uses <target>/debug/tracer), VENV (default
# <repo>/.venv; the wheel is built into it when sysdig_tracer is missing), KEEP=1 keeps
# the output directory, DEMO_SECONDS (default 5).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

skip() {
    printf '\n*** SKIP test_demo: %s ***\n\n' "$*"
    exit 0
}
[ "$(id -u)" -eq 0 ] || skip "needs root to load the eBPF probe (run as root, as CI does)"
[ -r /sys/kernel/btf/vmlinux ] || skip "kernel without BTF (/sys/kernel/btf/vmlinux missing)"
command -v siege >/dev/null || skip "siege is not installed (apt-get install siege)"

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"
if [ -z "${TRACER:-}" ]; then
    echo "test_demo: cargo build -p tracer-cli"
    (cd "$repo" && cargo build --quiet -p tracer-cli)
    TRACER="$CARGO_TARGET_DIR/debug/tracer"
fi
VENV="${VENV:-$repo/.venv}"
if ! "$VENV/bin/python" -c 'import sysdig_tracer' 2>/dev/null; then
    echo "test_demo: building the Python SDK into $VENV"
    VENV="$VENV" bash "$repo/bindings/python/dev.sh" wheel >/dev/null
fi

out="$(mktemp -d /tmp/tracer-test-demo.XXXXXX)"
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$out"' EXIT
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
sizes="64K,96K,80K,32M"

echo "test_demo: running the demo (blobs $sizes, ${DEMO_SECONDS:-5}s, port $port, out $out)"
if ! SKIP_BUILD=1 TRACER="$TRACER" VENV="$VENV" OUT="$out" PORT="$port" \
    BLOB_SIZES="$sizes" DEMO_SECONDS="${DEMO_SECONDS:-5}" SLOW=50ms NO_COLOR=1 \
    bash "$here/demo.sh" >"$out/demo.log" 2>&1; then
    cat "$out/demo.log"
    echo "FAIL test_demo: demo.sh failed"
    exit 1
fi

python3 - "$out" "$TRACER" <<'EOF'
import json, os, subprocess, sys

out, tracer = sys.argv[1], sys.argv[2]
data = os.path.join(out, "data")
blobs = [os.path.join(data, f) for f in os.listdir(data) if f.startswith("blob.bin.")]
largest = max(blobs, key=os.path.getsize)
culprit = json.load(open(os.path.join(out, "culprit.json")))
summary = json.load(open(os.path.join(out, "summary.json")))
failures = []

if culprit["culprit"] is None or os.path.realpath(culprit["culprit"]) != os.path.realpath(largest):
    failures.append("culprit %r is not the largest blob %r" % (culprit["culprit"], largest))
if culprit["slow_spans"] < 1:
    failures.append("no download_handler span slower than %s" % culprit["slow"])
rows = {r["tag"]: r for r in summary["rows"]}
dh = rows.get("download_handler")
if dh is None:
    failures.append("no download_handler row in the traces summary: %s" % sorted(rows))
elif not dh["max_ns"] > dh["p50_ns"]:
    failures.append("download_handler max %d ns is not above its median %d ns"
                    % (dh["max_ns"], dh["p50_ns"]))
# When `tracer by` can keep only the I/O of slow spans, its top file must agree.
if "--span-min-duration" in subprocess.run([tracer, "by", "--help"], capture_output=True,
                                           text=True).stdout:
    by = json.loads(subprocess.run(
        [tracer, "by", "fd.name", "-r", os.path.join(out, "capture.scap"), "--json",
         "--span-min-duration", culprit["slow"],
         "evtin.span.tag[0]=download_handler and fd.type=file"],
        capture_output=True, text=True, check=True).stdout)
    top = by["rows"][0]["key"] if by["rows"] else None
    if top is None or os.path.realpath(top) != os.path.realpath(largest):
        failures.append("tracer by --span-min-duration: top file %r, expected %r" % (top, largest))
for tag in ("fib_handler", "empty_handler", "fib"):
    if tag not in rows:
        failures.append("no %s row in the traces summary" % tag)

if failures:
    print(open(os.path.join(out, "demo.log")).read())
    for f in failures:
        print("FAIL test_demo:", f)
    sys.exit(1)
print("ok test_demo: culprit %s (%d slow spans); download_handler max %.1f ms > median %.1f ms; "
      "%d download_handler spans"
      % (os.path.basename(culprit["culprit"]), culprit["slow_spans"], dh["max_ns"] / 1e6,
         dh["p50_ns"] / 1e6, dh["hits"]))
EOF
