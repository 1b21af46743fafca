#!/usr/bin/env bash
# The classic Sysdig Tracers walk-through, end to end (`make demo`).
#
# Builds `tracer` and the Python SDK, starts the instrumented API server under
# `tracer capture`, loads it with siege, then shows what the original blog post showed:
# the traces summary, the spectrogram, the slow spans, bytes by span, network vs disk,
# the files read by the slow spans, and the culprit file, computed from the capture.
#
# Environment knobs (defaults in brackets):
#   DEMO_SECONDS [30]   capture length; siege runs for DEMO_SECONDS-3 s of it
#   BLOB_SIZES   [1M,1.5M,1.3M,512M]  sizes of blob.bin.1..4
#   PORT         [8888] server port (binds 127.0.0.1)
#   OUT          [<repo>/demo-out]   capture, images, logs, JSON results
#   DATA_DIR     [$OUT/data]         where the blobs live (created once)
#   CLIENTS      [5]    siege concurrent users
#   SLOW         [500ms] "slow span" threshold
#   SKIP_BUILD   [0]    1: use the existing target/release/tracer and venv
#   VENV         [<repo>/.venv]      Python venv for the SDK
#   TRACER       [$CARGO_TARGET_DIR/release/tracer]
# Needs root (or sudo) for the eBPF probe.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
DEMO_SECONDS="${DEMO_SECONDS:-30}"
BLOB_SIZES="${BLOB_SIZES:-1M,1.5M,1.3M,512M}"
PORT="${PORT:-8888}"
OUT="${OUT:-$repo/demo-out}"
CLIENTS="${CLIENTS:-5}"
SLOW="${SLOW:-500ms}"
SKIP_BUILD="${SKIP_BUILD:-0}"
VENV="${VENV:-$repo/.venv}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"
TRACER="${TRACER:-$CARGO_TARGET_DIR/release/tracer}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
DATA_DIR="${DATA_DIR:-$OUT/data}"
CAP="$OUT/capture.scap"
STEPS=9
t0=$SECONDS

bold="" dim="" reset=""
if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then bold=$'\e[1m' dim=$'\e[2m' reset=$'\e[0m'; fi
step() { printf '\n%s==> [%s/%s] %s%s %s[t+%ds]%s\n' "$bold" "$1" "$STEPS" "$2" "$reset" "$dim" $((SECONDS - t0)) "$reset"; }
info() { printf '    %s\n' "$*"; }
die() { printf 'demo: error: %s\n' "$*" >&2; exit 1; }
section() { printf '\n%s--- %s%s\n' "$bold" "$*" "$reset"; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || die "the eBPF probe needs root: run as root or install sudo"
    SUDO="sudo"
fi

# --- cleanup: every process we start is recorded here and ended on exit/Ctrl+C -------
pids=()
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    for p in "${pids[@]}"; do
        kill -0 "$p" 2>/dev/null && $SUDO kill -TERM "$p" 2>/dev/null || true
    done
    if [ -f "$OUT/server.pid" ]; then
        local sp
        sp="$(cat "$OUT/server.pid" 2>/dev/null || true)"
        [ -n "$sp" ] && kill -0 "$sp" 2>/dev/null && $SUDO kill -TERM "$sp" 2>/dev/null || true
        rm -f "$OUT/server.pid"
    fi
    # Give them a moment, then insist.
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        local alive=0
        for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
        [ $alive -eq 0 ] && break
        sleep 0.2
    done
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && $SUDO kill -KILL "$p" 2>/dev/null || true; done
    if [ $rc -ne 0 ]; then
        echo "demo: stopped (status $rc); logs in $OUT" >&2
    fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- 1. tools -----------------------------------------------------------------------
step 1 "Checking tools"
for tool in siege python3 cargo; do
    command -v "$tool" >/dev/null || die "$tool not found (run \`make setup\` / .ci/setup)"
done
python3 -c 'import venv' 2>/dev/null || die "python3-venv is missing (run \`make setup\`)"
info "siege $(siege --version 2>&1 | head -1 | awk '{print $2}'), $(python3 --version), $(cargo --version | cut -d' ' -f1-2)"

# --- 2. tracer ----------------------------------------------------------------------
step 2 "Building tracer (cargo build --release -p tracer-cli)"
if [ "$SKIP_BUILD" = 1 ] && [ -x "$TRACER" ]; then
    info "SKIP_BUILD=1: using $TRACER"
else
    (cd "$repo" && cargo build --release --quiet -p tracer-cli) || die "cargo build failed"
fi
[ -x "$TRACER" ] || die "$TRACER was not built"
info "$TRACER"

# --- 3. Python SDK --------------------------------------------------------------------
step 3 "Building the Python SDK wheel into $VENV"
PY="$VENV/bin/python"
if [ "$SKIP_BUILD" = 1 ] && [ -x "$PY" ] && "$PY" -c 'import sysdig_tracer' 2>/dev/null; then
    info "SKIP_BUILD=1: sysdig_tracer already installed"
else
    VENV="$VENV" bash "$repo/bindings/python/dev.sh" wheel >"$OUT/wheel.log" 2>&1 ||
        { tail -20 "$OUT/wheel.log" >&2; die "building the wheel failed (log: $OUT/wheel.log)"; }
fi
"$PY" -c 'import sysdig_tracer' || die "sysdig_tracer does not import in $VENV"
info "sysdig_tracer installed in $VENV"

# --- 4. blobs and URLs ------------------------------------------------------------------
step 4 "Creating blob.bin.1..4 ($BLOB_SIZES) in $DATA_DIR and the URL list"
"$PY" "$here/server.py" --data-dir "$DATA_DIR" --sizes "$BLOB_SIZES" --make-blobs-only
ls -l "$DATA_DIR"/blob.bin.* | awk '{printf "    %12d  %s\n", $5, $NF}'
python3 "$here/gen_urls.py" "http://127.0.0.1:$PORT" 1000 >"$OUT/urls.txt"
info "$(wc -l <"$OUT/urls.txt") URLs over /fib, /empty, /download in $OUT/urls.txt"
cat >"$OUT/siegerc" <<'EOF'
# siege settings for the demo (used with -R): quiet, JSON summary, no HTML parsing.
verbose = false
quiet = true
color = off
json_output = true
show-logfile = false
logging = false
parser = false
protocol = HTTP/1.1
connection = close
benchmark = true
delay = 0
timeout = 60
failures = 1000000
limit = 255
EOF

# --- 5. server under capture ------------------------------------------------------------
load_secs=$((DEMO_SECONDS > 6 ? DEMO_SECONDS - 3 : DEMO_SECONDS - 1))
[ "$load_secs" -ge 1 ] || die "DEMO_SECONDS must be at least 2"
step 5 "Starting the API server on 127.0.0.1:$PORT under \`tracer capture\` (${DEMO_SECONDS}s)"
if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
    die "port $PORT is already in use (set PORT=…)"
fi
rm -f "$CAP" "$OUT/server.pid"
info "tracer capture -w $CAP --spans-only --duration ${DEMO_SECONDS}s -- python server.py"
$SUDO "$TRACER" capture -q -w "$CAP" --spans-only --duration "${DEMO_SECONDS}s" -- \
    "$PY" "$here/server.py" --port "$PORT" --data-dir "$DATA_DIR" --sizes "$BLOB_SIZES" \
    --pid-file "$OUT/server.pid" >"$OUT/capture.txt" 2>"$OUT/capture.err" &
cap_pid=$!
pids+=("$cap_pid")
ready=0
for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then ready=1; break; fi
    kill -0 "$cap_pid" 2>/dev/null || break
    sleep 0.1
done
if [ $ready -ne 1 ]; then
    cat "$OUT/capture.err" >&2
    die "the server did not come up on port $PORT"
fi
info "server pid $(cat "$OUT/server.pid"), capture pid $cap_pid"

# --- 6. load ------------------------------------------------------------------------------
step 6 "Loading it: siege -c $CLIENTS -t ${load_secs}S -f urls.txt"
siege -R "$OUT/siegerc" -c "$CLIENTS" -t "${load_secs}S" -f "$OUT/urls.txt" \
    >"$OUT/siege.json" 2>"$OUT/siege.err" &
siege_pid=$!
pids+=("$siege_pid")
wait "$siege_pid" || true
"$PY" - "$OUT/siege.json" <<'EOF' || info "(siege printed no summary; see $OUT/siege.err)"
import json, sys
s = json.load(open(sys.argv[1]))
print("    %d requests, %.1f MB in %.1fs, %d failed, longest %.2fs"
      % (s["transactions"], s["data_transferred"], s["elapsed_time"],
         s["failed_transactions"], s["longest_transaction"]))
EOF

# --- 7. stop ------------------------------------------------------------------------------
step 7 "Stopping the capture and the server"
wait "$cap_pid" || { cat "$OUT/capture.err" >&2; die "tracer capture failed"; }
if [ -f "$OUT/server.pid" ]; then
    sp="$(cat "$OUT/server.pid")"
    $SUDO kill -TERM "$sp" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$sp" 2>/dev/null || break; sleep 0.1; done
    rm -f "$OUT/server.pid"
fi
[ -n "$SUDO" ] && $SUDO chown "$(id -u):$(id -g)" "$CAP"
grep -E '^(Capture stopped|events|spans) ' "$OUT/capture.txt" | sed 's/^/    /'

# --- 8. analysis ----------------------------------------------------------------------------
step 8 "Analysing $CAP"
T() { "$TRACER" "$@"; }

section "Traces summary (tracer summary -r capture.scap)"
T summary -r "$CAP"
T summary -r "$CAP" --json >"$OUT/summary.json"

section "Spectrogram of the root spans (tracer spectro -r capture.scap)"
T spectro -r "$CAP"
T spectro -r "$CAP" --png "$OUT/spectro.png" >/dev/null
info "image: $OUT/spectro.png"

section "Spans slower than $SLOW (tracer list -r capture.scap \"span.duration > $SLOW\")"
T list -r "$CAP" "span.duration > $SLOW" -n 15

section "Bytes by span (tracer by evtin.span.tags -r capture.scap)"
T by evtin.span.tags -r "$CAP"

section "Network vs disk inside download_handler (tracer by fd.type … \"evtin.span.tag[0]=download_handler\")"
T by fd.type -r "$CAP" "evtin.span.tag[0]=download_handler"

section "Files read by the download_handler spans slower than $SLOW"
if "$TRACER" by --help 2>/dev/null | grep -q -- '--span-min-duration'; then
    info "tracer by fd.name -r capture.scap --span-min-duration $SLOW \"evtin.span.tag[0]=download_handler and fd.type=file\""
    T by fd.name -r "$CAP" --span-min-duration "$SLOW" "evtin.span.tag[0]=download_handler and fd.type=file"
    info "cross-check (culprit.py: slow spans from \`tracer list\`, reads from \`tracer events\`):"
fi
"$PY" "$here/culprit.py" --tracer "$TRACER" --capture "$CAP" --slow "$SLOW" \
    --json "$OUT/culprit.json" --table

# --- 9. verdict -------------------------------------------------------------------------------
step 9 "Verdict"
info "capture: $CAP (also readable by sysdig: TZ=UTC csysdig -v traces_summary -r $CAP)"
info "results: $OUT/{summary,culprit}.json, $OUT/spectro.png; done in $((SECONDS - t0))s"
printf '%s%s%s\n' "$bold" "$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["line"])' "$OUT/culprit.json")" "$reset"
