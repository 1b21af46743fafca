from sysdig_tracer import Args as Args
from sysdig_tracer import Kwds as Kwds
from sysdig_tracer import ReturnValue as ReturnValue
from sysdig_tracer import Tracer as Tracer
from sysdig_tracer import __version__ as __version__
from sysdig_tracer import error_count as error_count
from sysdig_tracer import reset_sink as reset_sink
from sysdig_tracer import set_sink_fd as set_sink_fd
from sysdig_tracer import sink_fd as sink_fd

__all__: list[str]

NULL_FD: int
"""Reading gives the marker fd; assigning redirects markers (``sysdig_tracers`` compat)."""
