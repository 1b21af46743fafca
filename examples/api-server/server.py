#!/usr/bin/env python3
"""The classic Sysdig Tracers walk-through API server, instrumented with sysdig_tracer.

Endpoints (every request runs in its own thread):
  /fib/<n>         span fib_handler (children fib_headers, fib_write) + decorated fib(n)
  /empty[/<n>]     span empty_handler (children empty_headers, empty_write)
  /download[/<n>]  span download_handler (children download_headers, download_writes):
                   serves a randomly chosen blob.bin.1..4 from the data directory

Usage: server.py [--port 8888] [--host 127.0.0.1] [--data-dir DIR] [--sizes 1M,1.5M,1.3M,512M]
                 [--pid-file FILE] [--make-blobs-only]
"""

import argparse
import os
import random
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import sysdig_tracer
from sysdig_tracer import Args, ReturnValue, Tracer

CHUNK = 64 * 1024
BLOBS = []


def parse_size(text):
    """'1M' / '1.5M' / '512K' / '1048576' -> bytes."""
    text = text.strip().upper()
    mult = 1
    for suffix, m in (("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if text.endswith(suffix):
            text, mult = text[:-1], m
            break
    return int(float(text) * mult)


def make_blobs(data_dir, sizes):
    """Create blob.bin.1..N once (re-created when the size differs)."""
    os.makedirs(data_dir, exist_ok=True)
    paths = []
    for i, size in enumerate(sizes, start=1):
        path = os.path.join(data_dir, "blob.bin.%d" % i)
        if not os.path.exists(path) or os.path.getsize(path) != size:
            with open(path, "wb") as f:
                block = os.urandom(1 << 20)
                left = size
                while left > 0:
                    n = min(left, len(block))
                    f.write(block[:n])
                    left -= n
        paths.append(path)
    return paths


@Tracer(enter_args={"n": Args(0)}, exit_args={"ret": ReturnValue})
def fib(n):
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, fmt, *args):  # keep the demo output readable
        pass

    def do_GET(self):
        parts = [p for p in self.path.split("/") if p]
        route = parts[0] if parts else ""
        if route == "fib":
            self.fib_handler(parts)
        elif route == "empty":
            self.empty_handler()
        elif route == "download":
            self.download_handler()
        else:
            self.send_error(404)

    def fib_handler(self, parts):
        with Tracer("fib_handler") as t:
            try:
                n = int(parts[1]) % 500 if len(parts) > 1 else 30
            except ValueError:
                n = 30
            body = str(fib(n)).encode()
            with t.span("fib_headers"):
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
            with t.span("fib_write"):
                self.wfile.write(body)

    def empty_handler(self):
        with Tracer("empty_handler") as t:
            with t.span("empty_headers"):
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
            with t.span("empty_write"):
                self.wfile.write(b"")

    def download_handler(self):
        path = random.choice(BLOBS)
        with Tracer("download_handler", enter_args={"file": os.path.basename(path)}) as t:
            with t.span("download_headers"):
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(os.path.getsize(path)))
                self.end_headers()
            with t.span("download_writes"):
                try:
                    with open(path, "rb") as f:
                        while True:
                            chunk = f.read(CHUNK)
                            if not chunk:
                                break
                            self.wfile.write(chunk)
                except (BrokenPipeError, ConnectionResetError):
                    pass


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8888)))
    ap.add_argument("--data-dir", default=os.environ.get("DATA_DIR", "/tmp/tracer-demo"))
    ap.add_argument("--sizes", default=os.environ.get("BLOB_SIZES", "1M,1.5M,1.3M,512M"))
    ap.add_argument("--make-blobs-only", action="store_true",
                    help="create the blobs and exit")
    ap.add_argument("--pid-file", help="write the server's pid here once it listens")
    opts = ap.parse_args(argv)
    sizes = [parse_size(s) for s in opts.sizes.split(",") if s]
    BLOBS[:] = make_blobs(opts.data_dir, sizes)
    if opts.make_blobs_only:
        return 0
    server = ThreadingHTTPServer((opts.host, opts.port), Handler)
    server.daemon_threads = True
    if opts.pid_file:
        with open(opts.pid_file, "w") as f:
            f.write("%d\n" % os.getpid())
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("api-server: listening on http://%s:%d (pid %d, blobs in %s)"
          % (opts.host, opts.port, os.getpid(), opts.data_dir), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
