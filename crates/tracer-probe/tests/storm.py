# Overload workload for tests/capture.rs: N one-byte writes inside a span, a pause
# (the test drains the ring), then the span's exit marker.
import os
import sys

n, path = int(sys.argv[1]), sys.argv[2]
null = os.open('/dev/null', os.O_WRONLY)
print('ready', flush=True)
sys.stdin.readline()
os.write(null, b'>:t:storm::')
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
for _ in range(n):
    os.write(fd, b'x')
os.write(1, b'stormed\n')  # exactly one write
sys.stdin.readline()
os.write(null, b'<:t:storm::')
os.write(1, b'%d\n' % fd)
