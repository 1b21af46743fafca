"""Per-span cost of sysdig_tracer next to sysdig-tracers 0.1.2 and to two raw writes.

Run by ``make bench-python`` (not a test). All variants run in this process, interleaved
round by round, writing to the same kind of fd (/dev/null, O_WRONLY|O_NONBLOCK|O_CLOEXEC),
so the ratios compare like with like on a shared, noisy machine. Time is this thread's
CPU time (user + system), so time spent descheduled by other load is not counted.
Reported: the median
over rounds of each variant's ns per span and of its ratio to the baseline measured in the
same round.

    python bench_spans.py [--orig DIR] [--rounds N] [--spans N]

``--orig DIR``: a directory holding sysdig-tracers 0.1.2's ``sysdig_tracers.py`` (for
example ``pip install --no-deps --target DIR sysdig-tracers==0.1.2``). It is loaded from
that file under another module name, because ``sysdig_tracers`` is also this package's
compatibility alias.
"""

import argparse
import gc
import importlib.util
import os
import statistics
import sys
import time

import sysdig_tracer


def load_original(directory):
    path = os.path.join(directory, "sysdig_tracers.py")
    spec = importlib.util.spec_from_file_location("_orig_sysdig_tracers", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def make_variants(orig, n):
    fd = os.open("/dev/null", os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    sysdig_tracer.set_sink_fd(fd)
    if orig is not None:
        orig.NULL_FD = fd
    write = os.write
    T = sysdig_tracer.Tracer
    rng = range(n)

    def raw_two_writes():
        for _ in rng:
            write(fd, b">:t:x::")
            write(fd, b"<:t:x::")

    def ours_with():
        for _ in rng:
            with T("x"):
                pass

    def ours_nested():
        with T("p") as p:
            for _ in rng:
                with p.span("c"):
                    pass

    def ours_auto():
        for _ in rng:
            with T():
                pass

    @T
    def ours_decorated_fn():
        pass

    def ours_decorated():
        for _ in rng:
            ours_decorated_fn()

    variants = {
        "raw 2x os.write": raw_two_writes,
        "sysdig_tracer with": ours_with,
        "sysdig_tracer nested span": ours_nested,
        "sysdig_tracer @Tracer call": ours_decorated,
        "sysdig_tracer auto tag": ours_auto,
    }
    if orig is not None:
        OT = orig.Tracer

        def orig_with():
            for _ in rng:
                with OT("x"):
                    pass

        def orig_nested():
            with OT("p") as p:
                for _ in rng:
                    with p.span("c"):
                        pass

        def orig_auto():
            for _ in rng:
                with OT():
                    pass

        @OT
        def orig_decorated_fn():
            pass

        def orig_decorated():
            for _ in rng:
                orig_decorated_fn()

        variants["sysdig-tracers 0.1.2 with"] = orig_with
        variants["sysdig-tracers 0.1.2 nested span"] = orig_nested
        variants["sysdig-tracers 0.1.2 @Tracer call"] = orig_decorated
        variants["sysdig-tracers 0.1.2 auto tag"] = orig_auto
    return variants


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--orig", help="directory with sysdig-tracers 0.1.2's sysdig_tracers.py")
    ap.add_argument("--rounds", type=int, default=25)
    ap.add_argument("--spans", type=int, default=10000, help="spans per variant per round")
    a = ap.parse_args()

    orig = load_original(a.orig) if a.orig else None
    if orig is None:
        print("note: --orig not given, sysdig-tracers 0.1.2 not measured", file=sys.stderr)
    variants = make_variants(orig, a.spans)
    base = "raw 2x os.write"
    per_span = {k: [] for k in variants}
    ratio = {k: [] for k in variants}
    for f in variants.values():  # warm-up
        f()
    gc.disable()
    for _ in range(a.rounds):
        this_round = {}
        for name, f in variants.items():
            t0 = time.thread_time_ns()
            f()
            this_round[name] = (time.thread_time_ns() - t0) / a.spans
        for name, ns in this_round.items():
            per_span[name].append(ns)
            ratio[name].append(ns / this_round[base])
    gc.enable()
    sysdig_tracer.reset_sink()

    print(f"Python {sys.version.split()[0]}, {a.rounds} rounds x {a.spans} spans; "
          "medians over rounds (min in brackets)")
    print(f"{'variant':36} {'ns/span':>16} {'vs 2 raw writes':>16}")
    for name in variants:
        print(f"{name:36} {statistics.median(per_span[name]):9.0f} [{min(per_span[name]):4.0f}] "
              f"{statistics.median(ratio[name]):14.2f}x")
    if orig is not None:
        print()
        for what in ("with", "nested span", "@Tracer call", "auto tag"):
            o = statistics.median(per_span[f"sysdig-tracers 0.1.2 {what}"])
            s = statistics.median(per_span[f"sysdig_tracer {what}"])
            print(f"speed-up over sysdig-tracers 0.1.2, {what}: {o / s:.1f}x")


if __name__ == "__main__":
    main()
