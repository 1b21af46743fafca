#!/usr/bin/env bash
# Build, test and benchmark the Python SDK (sysdig_tracer).
#
#   bindings/python/dev.sh test    venv + release wheel + pip install + pytest
#   bindings/python/dev.sh bench   the above wheel + benchmark vs sysdig-tracers 0.1.2
#   bindings/python/dev.sh wheel   only build the wheel into $WHEELS
#
# Environment: VENV (default <repo>/.venv), PYTHON (default python3), CARGO_TARGET_DIR
# (default <repo>/target), WHEELS (default $VENV/wheels). Needs network access to PyPI
# the first time (maturin, pytest; sysdig-tracers==0.1.2 for the benchmark).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
VENV="${VENV:-$repo/.venv}"
PYTHON="${PYTHON:-python3}"
WHEELS="${WHEELS:-$VENV/wheels}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"

venv() {
    if [ ! -x "$VENV/bin/python" ]; then
        "$PYTHON" -m venv "$VENV"
    fi
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check 'maturin>=1.16,<2' 'pytest>=7'
}

wheel() {
    venv
    rm -rf "$WHEELS"
    (cd "$here" && "$VENV/bin/maturin" build --release --strip --quiet --out "$WHEELS" \
        --interpreter "$VENV/bin/python")
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check --force-reinstall \
        --no-deps "$WHEELS"/sysdig_tracer-*.whl
}

case "${1:-test}" in
test)
    wheel
    cd "$here"
    "$VENV/bin/python" -m pytest -q -p no:cacheprovider tests
    ;;
bench)
    wheel
    orig="$VENV/orig-sysdig-tracers"
    if [ ! -f "$orig/sysdig_tracers.py" ]; then
        "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps \
            --target "$orig" 'sysdig-tracers==0.1.2'
    fi
    "$VENV/bin/python" "$here/bench/bench_spans.py" --orig "$orig" "${@:2}"
    ;;
wheel)
    wheel
    ls "$WHEELS"
    ;;
*)
    echo "usage: $0 test|bench|wheel" >&2
    exit 2
    ;;
esac
