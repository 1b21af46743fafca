#!/usr/bin/env python3
"""Which file makes the slow download_handler spans slow? Computed from a capture.

Takes the download_handler spans slower than --slow (`tracer list --json`), the file
reads done inside download_handler spans (`tracer events -p …`), keeps the reads that
fall inside a slow span (same span id = writer thread for `t` ids, enter ≤ read ≤ exit),
and adds up their bytes per file. The culprit is the file with the most bytes.

Prints a table (--table) and the verdict line; --json writes the result for tests.
"""

import argparse
import bisect
import json
import os
import subprocess
import sys
from collections import defaultdict

ROOT = "download_handler"
UNITS = (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10))


def human_bytes(n):
    for unit, size in UNITS:
        if n >= size:
            return "%.2f %s" % (n / size, unit)
    return "%d B" % n


def parse_duration(text):
    """'500ms' / '2s' / '750us' / '100ns' / bare seconds -> ns."""
    text = text.strip().replace(" ", "")
    for suffix, mult in (("ns", 1), ("us", 1_000), ("µs", 1_000), ("ms", 1_000_000),
                         ("s", 1_000_000_000)):
        if text.endswith(suffix) and text[: -len(suffix)].replace(".", "", 1).isdigit():
            return int(float(text[: -len(suffix)]) * mult)
    return int(float(text) * 1_000_000_000)


def run(tracer, *args):
    proc = subprocess.run([tracer, "--color", "never", *args], capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit("culprit: `tracer %s` failed: %s" % (" ".join(args), proc.stderr.strip()))
    return proc.stdout


def slow_spans(tracer, capture, slow):
    """{span id: sorted [(enter_ns, exit_ns)]} of the root download_handler spans."""
    listing = json.loads(run(tracer, "list", "-r", capture, "--json",
                             "span.tag[0]=%s and span.duration > %s" % (ROOT, slow)))
    spans = defaultdict(list)
    count = 0
    for row in listing["rows"]:
        if row["tags"] != ROOT:
            continue
        spans[row["id"]].append((row["enter_ns"], row["enter_ns"] + row["duration_ns"]))
        count += 1
    for intervals in spans.values():
        intervals.sort()
    return spans, count


def file_reads(tracer, capture):
    """Yields (ts_ns, tid, bytes, path) of successful file reads inside download_handler."""
    out = run(tracer, "events", "-r", capture,
              "-p", "%evt.rawtime %thread.tid %evt.rawres %fd.name",
              "evt.dir=< and evt.is_io_read=true and fd.type=file "
              "and evtin.span.tag[0]=%s" % ROOT)
    for line in out.splitlines():
        parts = line.split(" ", 3)
        if len(parts) != 4:
            continue
        try:
            ts, tid, res = int(parts[0]), int(parts[1]), int(parts[2])
        except ValueError:
            continue
        if res > 0:
            yield ts, tid, res, parts[3]


def inside(intervals, ts):
    i = bisect.bisect_right(intervals, (ts, float("inf"))) - 1
    return i >= 0 and intervals[i][0] <= ts <= intervals[i][1]


def analyse(tracer, capture, slow):
    spans, nslow = slow_spans(tracer, capture, slow)
    in_slow = defaultdict(int)
    in_all = defaultdict(int)
    for ts, tid, res, path in file_reads(tracer, capture):
        in_all[path] += res
        if inside(spans.get(tid, ()), ts):
            in_slow[path] += res
    total_slow = sum(in_slow.values())
    rows = sorted(in_slow.items(), key=lambda kv: -kv[1])
    result = {
        "slow": slow,
        "slow_spans": nslow,
        "files": [{"path": p, "bytes": b} for p, b in rows],
        "bytes_in_slow_spans": total_slow,
        "bytes_in_all_spans": sum(in_all.values()),
        "culprit": rows[0][0] if rows else None,
    }
    if rows:
        path, nbytes = rows[0]
        size = " (%s)" % human_bytes(os.path.getsize(path)) if os.path.isfile(path) else ""
        result["line"] = ("Culprit: %s%s — %s of the %s read by the %d %s spans slower than %s "
                          "(%.0f%%)" % (path, size, human_bytes(nbytes), human_bytes(total_slow),
                                        nslow, ROOT, slow, 100.0 * nbytes / total_slow))
    elif in_all:
        path = max(in_all, key=in_all.get)
        result["line"] = ("No %s span slower than %s read a file; the file read most inside "
                          "%s is %s (%s)" % (ROOT, slow, ROOT, path, human_bytes(in_all[path])))
    else:
        result["line"] = "No file reads inside %s spans in the capture" % ROOT
    return result


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tracer", default="tracer")
    ap.add_argument("--capture", required=True)
    ap.add_argument("--slow", default="500ms")
    ap.add_argument("--json", help="write the result here")
    ap.add_argument("--table", action="store_true", help="print the per-file table")
    opts = ap.parse_args(argv)
    parse_duration(opts.slow)  # reject nonsense early, before running tracer
    result = analyse(opts.tracer, opts.capture, opts.slow)
    if opts.table:
        print("%d %s spans slower than %s" % (result["slow_spans"], ROOT, opts.slow))
        if result["files"]:
            width = max(len(human_bytes(f["bytes"])) for f in result["files"])
            print("%*s  %s" % (width, "BYTES", "fd.name"))
            for f in result["files"]:
                print("%*s  %s" % (width, human_bytes(f["bytes"]), f["path"]))
    if opts.json:
        with open(opts.json, "w") as f:
            json.dump(result, f, indent=1)
    if not opts.table:
        print(result["line"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
