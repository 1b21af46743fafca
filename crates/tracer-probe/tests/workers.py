# Workload for tests/capture.rs: a span opened on the main thread while a worker thread
# (with no span of its own) reads a file, then the same work with no span open anywhere.
# Prints its facts on the last line: tid and bytes of the first worker, then of the second.
import os
import sys
import threading

from wlio import read_all

datafile = sys.argv[1]
null = os.open('/dev/null', os.O_WRONLY)
print('ready', flush=True)
sys.stdin.readline()


def work(out):
    out.append((threading.get_native_id(), read_all(datafile)))


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
