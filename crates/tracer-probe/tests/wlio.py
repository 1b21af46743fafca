# Shared by the test workloads: file I/O whose bytes the tests check against the capture.
import os


def read_all(path, chunk=4096):
    """Reads the file at `path` in `chunk`-byte reads; returns the bytes read."""
    fd = os.open(path, os.O_RDONLY)
    n = 0
    while True:
        b = os.read(fd, chunk)
        if not b:
            break
        n += len(b)
    os.close(fd)
    return n
