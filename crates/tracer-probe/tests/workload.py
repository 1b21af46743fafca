# Workload for tests/capture.rs: markers (through an fd opened before the capture, a
# fresh fd, and sh redirections) around known I/O. Prints its facts on the last line.
import os
import socket
import subprocess
import sys
import threading

datafile, outdir = sys.argv[1], sys.argv[2]
null_pre = os.open('/dev/null', os.O_WRONLY)  # opened BEFORE the capture starts
print('ready', flush=True)
sys.stdin.readline()


def mark(s, fd=null_pre):
    os.write(fd, s.encode())


mark('>:t:io::')
fd = os.open(datafile, os.O_RDONLY)
total = 0
while True:
    b = os.read(fd, 7777)
    if not b:
        break
    total += len(b)

srv = socket.socket()
srv.bind(('127.0.0.1', 0))
srv.listen(1)
port = srv.getsockname()[1]
got = []


def rx():
    mark('>:t:rx::')
    c, _ = srv.accept()
    n = 0
    while n < 102400:
        d = c.recv(65536)
        if not d:
            break
        n += len(d)
    got.append(n)
    c.close()
    mark('<:t:rx::')


t = threading.Thread(target=rx)
t.start()
cli = socket.create_connection(('127.0.0.1', port))
cli.sendall(b'z' * 102400)
t.join()
cli.close()

u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u2 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u2.bind(('127.0.0.1', 0))
u.sendto(b'u' * 1000, u2.getsockname())

null2 = open('/dev/null', 'w')
null2.write('>:t:io.inner::')
null2.flush()
out = os.open(os.path.join(outdir, 'out.bin'), os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
os.writev(out, [b'a' * 100, b'b' * 200])
os.sendfile(out, fd, 0, 50000)
null2.write('<:t:io.inner::')
null2.flush()

subprocess.run(['sh', '-c', 'echo hello > /dev/null; echo ">:t:shspan::" > /dev/null; '
                'echo "<:t:shspan::" > /dev/null'], check=True)
mark('<:t:io::')
print(total, got[0], port, u2.getsockname()[1], null_pre, t.native_id, flush=True)
