"""Span markers for Linux syscall tracing (the sysdig tracers format).

``with Tracer("download_handler"):`` writes ``>:t:download_handler::`` when the block
starts and ``<:t:download_handler::`` when it ends, each with one ``write(2)`` to
``/dev/null`` made by native code. A tracing tool (sysdig, or this project's probe) turns
the markers into spans and charges the syscalls made in between to them. With nobody
listening a span costs two cheap syscalls.

This package is a drop-in replacement for ``sysdig_tracers`` 0.1.2 (also importable
under that name) with its bugs fixed; see the README for the differences.
"""

import sys as _sys
import types as _types

from sysdig_tracer._native import (
    Args,
    Kwds,
    ReturnValue,
    Tracer,
    __version__,
    error_count,
    reset_sink,
    set_sink_fd,
    sink_fd,
)

__all__ = [
    "Args",
    "Kwds",
    "ReturnValue",
    "Tracer",
    "error_count",
    "reset_sink",
    "set_sink_fd",
    "sink_fd",
]


class _TracerModule(_types.ModuleType):
    """Module type that maps the ``NULL_FD`` global of ``sysdig_tracers`` onto the sink:
    reading it gives the current marker fd, assigning it redirects the markers (what the
    original's users did in tests)."""

    @property
    def NULL_FD(self):  # noqa: N802 - name kept from sysdig_tracers
        return sink_fd()

    @NULL_FD.setter
    def NULL_FD(self, fd):  # noqa: N802
        set_sink_fd(fd)


def _install_null_fd(module_name):
    _sys.modules[module_name].__class__ = _TracerModule


_install_null_fd(__name__)
