"""Test helpers: a packet-mode pipe as marker sink, so every write(2) is read back as
one item and tests assert the exact bytes of each marker, in order."""

import fcntl
import os
import sys

import pytest

import sysdig_tracer

F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)


class Sink:
    """The read side of the marker pipe."""

    def __init__(self, r, w):
        self.r = r
        self.w = w

    def take(self):
        """All markers written since the last call, one bytes object per write(2)."""
        out = []
        while True:
            try:
                out.append(os.read(self.r, 65536))
            except BlockingIOError:
                return out


@pytest.fixture
def sink():
    # O_DIRECT: packet mode, one read returns exactly one write. Non-blocking on both
    # ends so an overfull pipe shows up as lost markers instead of a hang.
    r, w = os.pipe2(os.O_DIRECT | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        fcntl.fcntl(w, F_SETPIPE_SZ, 1 << 20)
    except OSError:
        pass
    sysdig_tracer.set_sink_fd(w)
    errors_before = sysdig_tracer.error_count()
    s = Sink(r, w)
    yield s
    sysdig_tracer.reset_sink()
    os.close(r)
    os.close(w)
    assert sysdig_tracer.error_count() == errors_before, "markers were lost (pipe full?)"


def esc(s):
    """Escape one tag component the way the SDK does (C12a)."""
    out = s
    for ch in "\\:.>=<\n":
        out = out.replace(ch, "\\" + ch)
    return out


def auto_tag(path, line, func):
    """The automatic tag of sysdig_tracers: last two path components, line, function."""
    last = path.rfind("/")
    short = path if last < 0 else path[path.rfind("/", 0, last) + 1:]
    return esc(f"{short}:{line}({func})")


def here():
    """(file, line) of the caller."""
    f = sys._getframe(1)
    return f.f_code.co_filename, f.f_lineno
