# Workload for tests/capture.rs: a span opened on the main thread while a worker thread
# (with no span of its own) reads a file, then the same work with no span open anywhere.
# Prints its facts on the last line: tid and bytes of the first worker, then of the second.
import os
import sys
import threading

datafile = sys.argv[1]
null = os.open('/dev/null', os.O_WRONLY)
print('ready', flush=True)
sys.stdin.readline()


def work(out):
    fd = os.open(datafile, os.O_RDONLY)
    n = 0
    while True:
        b = os.read(fd, 4096)
        if not b:
            break
        n += len(b)
    os.close(fd)
    out.append((threading.get_native_id(), n))


inside, outside = [], []
os.write(null, b'>:t:req::')
t = threading.Thread(target=work, args=(inside,))
t.start()
t.join()
os.write(null, b'<:t:req::')
t = threading.Thread(target=work, args=(outside,))
t.start()
t.join()
print(inside[0][0], inside[0][1], outside[0][0], outside[0][1], flush=True)
