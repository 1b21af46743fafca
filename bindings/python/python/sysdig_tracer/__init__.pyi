from typing import (
    Any,
    Awaitable,
    Callable,
    Dict,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Type,
    TypeVar,
    Union,
    final,
    overload,
)
from types import TracebackType

__version__: str
__all__: list[str]

_F = TypeVar("_F", bound=Callable[..., Any])

IdSpec = Union[str, int]
"""``"t"`` (thread, default), ``"p"`` (process), ``"pp"`` (parent), ``"g"`` (global, id 0),
``"unique"`` (a fresh number per span, for asyncio) or an explicit int."""

TagSpec = Union[str, bytes, Sequence[str]]
"""A dot-separated path (``"a.b"`` = two levels) or a sequence of tags taken verbatim."""

NULL_FD: int
"""Reading gives the marker fd; assigning redirects markers (``sysdig_tracers`` compat)."""

class Args:
    """Marker: positional argument ``i`` of the decorated call (0 is ``self`` for methods)."""

    i: int
    def __init__(self, i: int) -> None: ...
    def __call__(self, args: Sequence[Any]) -> Any: ...

class Kwds:
    """Marker: keyword argument ``key`` of the decorated call (omitted if not passed)."""

    key: Any
    def __init__(self, key: Any) -> None: ...
    def __call__(self, kwds: Mapping[Any, Any]) -> Any: ...

class ReturnValue:
    """Marker (use the class itself): the decorated call's return value, in ``exit_args``."""

@final
class Tracer:
    """A span: context manager, decorator, or explicit ``start()`` / ``stop()``."""

    @overload
    def __init__(
        self,
        tag: Optional[TagSpec] = None,
        enter_args: Optional[Mapping[Any, Any]] = None,
        exit_args: Optional[Mapping[Any, Any]] = None,
        *,
        id: Optional[IdSpec] = None,
    ) -> None: ...
    @overload
    def __init__(
        self,
        tag: Callable[..., Any],
        enter_args: Optional[Mapping[Any, Any]] = None,
        exit_args: Optional[Mapping[Any, Any]] = None,
        *,
        id: Optional[IdSpec] = None,
    ) -> None: ...
    def __enter__(self) -> "Tracer": ...
    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc_value: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> bool: ...
    def __call__(self, *args: Any, **kwargs: Any) -> Any: ...
    def __get__(self, obj: Any, owner: Optional[type] = None) -> Any: ...
    def start(self, tag: Optional[TagSpec] = None, args: Optional[Mapping[Any, Any]] = None) -> None: ...
    def stop(self, args: Optional[Mapping[Any, Any]] = None) -> None: ...
    def span(
        self,
        tag: Optional[TagSpec] = None,
        enter_args: Optional[Mapping[Any, Any]] = None,
        exit_args: Optional[Mapping[Any, Any]] = None,
        *,
        id: Optional[IdSpec] = None,
    ) -> "Tracer": ...
    tag: str
    """The tag section as written (escaped, levels joined by ``.``)."""
    @property
    def tags(self) -> Tuple[str, ...]: ...
    @property
    def id(self) -> IdSpec: ...
    @property
    def span_id(self) -> Optional[int]:
        """The number written as id (unique mode or an explicit id), else ``None``."""
    enter_args: Dict[Any, Any]
    exit_args: Dict[Any, Any]

def set_sink_fd(fd: Optional[int]) -> None:
    """Send every later marker to ``fd`` (``None`` or negative: back to ``/dev/null``)."""

def reset_sink() -> None:
    """Send later markers to ``/dev/null`` again."""

def sink_fd() -> int:
    """The fd markers are written to."""

def error_count() -> int:
    """Markers that could not be written since the process started."""
