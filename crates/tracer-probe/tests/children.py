# Workload for tests/capture.rs: a span opened on the main thread while a child process
# (forked by that thread, with no span of its own) reads a file, then the same work with
# no span open. Prints its facts on the last line: pid and bytes of the first child, then
# of the second.
import os
import sys

from wlio import read_all

datafile = sys.argv[1]
null = os.open('/dev/null', os.O_WRONLY)
print('ready', flush=True)
sys.stdin.readline()


def child():
    """Forks a child that reads the file; returns (its pid, the bytes it read)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        os.write(w, str(read_all(datafile)).encode())
        os._exit(0)
    os.close(w)
    n = int(os.read(r, 64))
    os.close(r)
    os.waitpid(pid, 0)
    return pid, n


os.write(null, b'>:t:req::')
inside = child()
os.write(null, b'<:t:req::')
outside = child()
print(inside[0], inside[1], outside[0], outside[1], flush=True)
