"""Compatibility name: ``import sysdig_tracers`` gives the same objects as
``import sysdig_tracer`` (a drop-in replacement for the sysdig-tracers 0.1.2 package)."""

from sysdig_tracer import (
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
from sysdig_tracer import _install_null_fd

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

_install_null_fd(__name__)
del _install_null_fd
