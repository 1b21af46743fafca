"""asyncio: `async def` functions decorated correctly, and unique ids so concurrent tasks
on one thread never pair with each other's markers."""

import asyncio
import inspect
import re
import sys

import pytest

from sysdig_tracer import Args, ReturnValue, Tracer

MARK = re.compile(rb"^([<>]):(-?\d+|t|p|pp|g):([^:]*):(.*):$")


def parse(markers):
    out = []
    for m in markers:
        g = MARK.match(m)
        assert g, m
        out.append((g[1], g[2], g[3], g[4]))
    return out


def assert_well_paired(parsed):
    """Every exit closes an open enter with the same id and tag; ids of open spans are
    distinct (so no reader can cross-pair them)."""
    open_ = {}
    for d, i, tag, _ in parsed:
        if d == b">":
            assert (i, tag) not in open_, "two open spans share id and tag"
            open_[(i, tag)] = True
        else:
            assert open_.pop((i, tag), None), "exit without matching enter"
    assert not open_


def test_concurrent_tasks_get_distinct_ids(sink):
    @Tracer(enter_args={"n": Args(0)}, exit_args={"ret": ReturnValue})
    async def handler(n):
        await asyncio.sleep(0.001 * (3 - n))
        return n * 10

    async def main():
        return await asyncio.gather(*(handler(n) for n in range(3)))

    assert asyncio.run(main()) == [0, 10, 20]
    p = parse(sink.take())
    assert len(p) == 6
    assert [x[0] for x in p[:3]] == [b">"] * 3  # all three were open at once
    assert len({x[1] for x in p}) == 3 and all(x[1].isdigit() for x in p)
    assert_well_paired(p)
    by_id = {}
    for d, i, tag, args in p:
        by_id.setdefault(i, []).append((d, args))
    assert sorted(by_id.values()) == [
        [(b">", b"n=%d" % n), (b"<", b"ret=%d" % (n * 10))] for n in range(3)
    ]


def test_with_unique_inside_tasks(sink):
    async def job(k):
        with Tracer("job", id="unique") as t:
            await asyncio.sleep(0)
            with t.span("step"):
                await asyncio.sleep(0)

    async def main():
        await asyncio.gather(job(1), job(2))

    asyncio.run(main())
    p = parse(sink.take())
    assert len(p) == 8 and len({x[1] for x in p}) == 2
    assert_well_paired(p)


def test_async_recursion_is_one_span_per_task(sink):
    @Tracer
    async def rec(n):
        await asyncio.sleep(0)
        return await rec(n - 1) if n else 0

    async def main():
        await asyncio.gather(rec(3), rec(2))

    asyncio.run(main())
    p = parse(sink.take())
    assert len(p) == 4 and {x[2] for x in p} == {b"rec"}
    assert_well_paired(p)


def test_async_exception_and_cancel(sink):
    @Tracer
    async def bad():
        await asyncio.sleep(0)
        raise OSError("x")

    @Tracer
    async def slow():
        await asyncio.sleep(10)

    async def main():
        with pytest.raises(OSError):
            await bad()
        task = asyncio.ensure_future(slow())
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    p = parse(sink.take())
    assert [(d, tag, a) for d, _, tag, a in p] == [
        (b">", b"bad", b""),
        (b"<", b"bad", b"error=OSError"),
        (b">", b"slow", b""),
        (b"<", b"slow", b"error=CancelledError"),
    ]
    assert_well_paired(p)


def test_async_explicit_id_is_kept(sink):
    @Tracer("a", id="t")
    async def f():
        return 1

    assert asyncio.run(f()) == 1
    assert sink.take() == [b">:t:a::", b"<:t:a::"]


def test_async_function_is_still_a_coroutine_function():
    @Tracer
    async def f():
        return 1

    assert asyncio.iscoroutinefunction(f) if sys.version_info < (3, 14) else True
    if sys.version_info >= (3, 12):
        assert inspect.iscoroutinefunction(f)
    assert f.__name__ == "f"
    assert inspect.iscoroutine(coro := f())
    coro.close()


def test_async_method(sink):
    class Svc:
        @Tracer(enter_args={"x": Args(1)})
        async def get(self, x):
            return x

    assert asyncio.run(Svc().get(5)) == 5
    p = parse(sink.take())
    assert [(d, tag, a) for d, _, tag, a in p] == [(b">", b"get", b"x=5"), (b"<", b"get", b"")]
