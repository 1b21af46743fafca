"""The ``async def`` wrapper used when a :class:`Tracer` decorates a coroutine function.

Recursion is counted per task (a context variable), so concurrent tasks on one thread
each write their own span; each call gets its own numeric span id unless the tracer was
created with an explicit ``id=``.
"""

import contextvars
import functools
import inspect

try:  # asyncio.iscoroutinefunction() on Python < 3.12 looks for this marker
    from asyncio.coroutines import _is_coroutine as _ASYNCIO_MARK  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - removed in newer Pythons
    _ASYNCIO_MARK = None


def wrap(tracer, func):
    """Return an ``async def`` function that runs ``func`` inside a span of ``tracer``."""
    depth = contextvars.ContextVar("sysdig_tracer_depth", default=0)

    @functools.wraps(func)
    async def traced(*args, **kwargs):
        level = depth.get()
        token = depth.set(level + 1)
        try:
            if level:
                return await func(*args, **kwargs)
            span = tracer._call_enter(args, kwargs)
            try:
                result = await func(*args, **kwargs)
            except BaseException as exc:
                tracer._call_exit(span, args, kwargs, None, type(exc))
                raise
            tracer._call_exit(span, args, kwargs, result, None)
            return result
        finally:
            depth.reset(token)

    if _ASYNCIO_MARK is not None:
        traced._is_coroutine = _ASYNCIO_MARK
    if hasattr(inspect, "markcoroutinefunction"):
        inspect.markcoroutinefunction(traced)
    return traced
