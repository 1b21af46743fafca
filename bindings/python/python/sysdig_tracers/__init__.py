"""Compatibility name: ``import sysdig_tracers`` gives the same objects as
``import sysdig_tracer`` (a drop-in replacement for the sysdig-tracers 0.1.2 package)."""

import sysdig_tracer as _primary
from sysdig_tracer import *  # noqa: F401,F403  (the same public names, one list)
from sysdig_tracer import __version__  # noqa: F401

__all__ = list(_primary.__all__)

_primary._install_null_fd(__name__)
del _primary
