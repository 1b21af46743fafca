# Marker edge cases for tests/capture.rs: a marker split over two writes, non-tracer
# text after a complete marker, the JSON form, and a buffer in a never-touched page.
import mmap
import os
import sys

datafile = sys.argv[1]
null = os.open('/dev/null', os.O_WRONLY)
fd = os.open(datafile, os.O_RDONLY)
print('ready', flush=True)
sys.stdin.readline()
os.write(null, b'>:t:a')          # incomplete: the next write may continue it
os.write(null, b'.b::')           # continuation, shipped although it starts with '.'
os.write(null, b'plain text\n')   # after a complete marker: dropped in the kernel
os.write(null, b'[">", 12, ["j"], []]')
os.read(fd, 11)                   # inside both spans
os.write(null, b'["<", 12, ["j"], []]')
os.write(null, b'<:t:a.b::')
os.read(fd, 13)                   # outside every span: not shipped
m = mmap.mmap(-1, 4096)
os.write(null, memoryview(m)[:5]) # page never touched: shipped, flagged read-failed
os.write(1, b'done\n')
