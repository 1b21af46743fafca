"""Every feature of the SDK beyond the §9.5 vectors: ids, sink control, escaping,
exceptions, threads, methods, start/stop, attributes."""

import os
import sys
import threading

import pytest

import sysdig_tracer
from sysdig_tracer import Args, Kwds, ReturnValue, Tracer

from conftest import auto_tag, here


# --- tags ---


def test_tag_components_escaped_dots_separate(sink):
    with Tracer("a\\b.c=d.e<f>g\nh,i"):
        pass
    assert sink.take() == [b">:t:a\\\\b.c\\=d.e\\<f\\>g\\\nh,i::", b"<:t:a\\\\b.c\\=d.e\\<f\\>g\\\nh,i::"]


def test_tuple_tag_keeps_dots_inside_a_tag(sink):
    t = Tracer(("v1.2", "x"))
    assert t.tags == ("v1.2", "x")
    assert t.tag == "v1\\.2.x"
    with t:
        pass
    assert sink.take() == [b">:t:v1\\.2.x::", b"<:t:v1\\.2.x::"]


def test_auto_tag_in_function(sink):
    f, line = here(); t = Tracer()  # noqa: E702
    with t:
        pass
    tag = auto_tag(f, line, "test_auto_tag_in_function")
    assert t.tag == tag
    assert t.tags == (tag.replace("\\", ""),)
    assert sink.take() == [f">:t:{tag}::".encode(), f"<:t:{tag}::".encode()]


def test_lone_surrogate_does_not_raise(sink):
    with Tracer("a\udcff", enter_args={"k": "v\udc80"}):
        pass
    enter, leave = (m.decode("utf-8") for m in sink.take())  # valid UTF-8
    assert enter.startswith(">:t:a\ufffd") and ":k=v\ufffd" in enter and enter.endswith(":")
    assert leave.startswith("<:t:a\ufffd") and leave.endswith("::")


def test_leading_zero_tag_is_escaped_for_sysdig(sink):  # C1 workaround in tracer-tag
    with Tracer("0a.0b"):
        pass
    assert sink.take() == [b">:t:\\0a.0b::", b"<:t:\\0a.0b::"]


# --- arguments ---


def test_arg_names_and_values_escaped(sink):
    with Tracer("t", enter_args={"a=b,c:": "x=y,z:\\", 1: None}):
        pass
    assert sink.take() == [b">:t:t:a\\=b\\,c\\:=x\\=y\\,z\\:\\\\,1=None:", b"<:t:t::"]


def test_unprintable_value_does_not_raise(sink):
    class Bad:
        def __str__(self):
            raise RuntimeError("no")

    with Tracer("t", enter_args={"b": Bad(), "ok": 1}):
        pass
    assert sink.take() == [b">:t:t:b=<unprintable Bad>,ok=1:", b"<:t:t::"]


def test_non_dict_mapping_args(sink):
    class M:
        def items(self):
            return [("a", 1), ("b", 2)]

    with Tracer("t", enter_args=M()):
        pass
    assert sink.take() == [b">:t:t:a=1,b=2:", b"<:t:t::"]


def test_exception_in_with_writes_error_and_propagates(sink):
    with pytest.raises(ZeroDivisionError):
        with Tracer("w", exit_args={"e": 1}):
            1 / 0
    assert sink.take() == [b">:t:w::", b"<:t:w:e=1,error=ZeroDivisionError:"]


def test_exit_args_resolve_markers_in_decorator(sink):
    @Tracer(exit_args={"ret": ReturnValue, "first": Args(0), "k": Kwds("k"), "last": Args(-1)})
    def f(a, b, k=0):
        return a + b

    f(1, 2, k=5)
    assert sink.take() == [b">:t:f::", b"<:t:f:ret=3,first=1,k=5,last=2:"]


def test_decorator_exception_omits_return_value(sink):
    @Tracer(exit_args={"ret": ReturnValue, "x": "lit"})
    def f():
        raise ValueError("bad")

    with pytest.raises(ValueError, match="bad"):
        f()
    assert sink.take() == [b">:t:f::", b"<:t:f:x=lit,error=ValueError:"]


# --- ids ---


@pytest.mark.parametrize(
    "spec,wire",
    [("t", b"t"), ("p", b"p"), ("pp", b"pp"), ("g", b"g"), (42, b"42"), (-5, b"-5"), (0, b"-0"), ("17", b"17")],
)
def test_id_choice(sink, spec, wire):
    with Tracer("x", id=spec) as t:
        with t.span("c"):
            pass
    assert sink.take() == [
        b">:" + wire + b":x::",
        b">:" + wire + b":x.c::",
        b"<:" + wire + b":x.c::",
        b"<:" + wire + b":x::",
    ]


def test_invalid_id_rejected():
    with pytest.raises(ValueError):
        Tracer("x", id="q")
    with pytest.raises(TypeError):
        Tracer("x", id=1.5)
    with pytest.raises(ValueError):
        Tracer("x", id=2**64)


def test_unique_ids_differ_and_children_inherit(sink):
    a = Tracer("x", id="unique")
    b = Tracer("x", id="unique")
    assert a.id == "unique" and a.span_id != b.span_id and a.span_id > 0
    with a:
        with a.span("c") as c:
            assert c.span_id == a.span_id
        with b:
            pass
    ia, ib = str(a.span_id).encode(), str(b.span_id).encode()
    assert sink.take() == [
        b">:" + ia + b":x::",
        b">:" + ia + b":x.c::",
        b"<:" + ia + b":x.c::",
        b">:" + ib + b":x::",
        b"<:" + ib + b":x::",
        b"<:" + ia + b":x::",
    ]
    assert (a.span_id >> 32) == os.getpid()


def test_child_id_override(sink):
    with Tracer("x") as t:
        with t.span("c", id="p"):
            pass
    assert sink.take() == [b">:t:x::", b">:p:x.c::", b"<:p:x.c::", b"<:t:x::"]


def test_explicit_id_span_closed_from_another_thread(sink):
    t = Tracer("job", id=77)
    t.start("job", {"q": 1})
    th = threading.Thread(target=t.stop, args=({"done": 1},))
    th.start()
    th.join()
    assert sink.take() == [b">:77:job:q=1:", b"<:77:job:done=1:"]


# --- start / stop ---


def test_start_without_tag_redetects_auto_tag(sink):
    t = Tracer("s")
    f, line = here(); t.start()  # noqa: E702 - sysdig_tracers replaces the tag here
    t.stop()
    tag = auto_tag(f, line, "test_start_without_tag_redetects_auto_tag").encode()
    assert sink.take() == [b">:t:" + tag + b"::", b"<:t:" + tag + b"::"]


def test_stop_args_and_start_args(sink):
    t = Tracer("s", enter_args={"ignored": 1}, exit_args={"ignored": 2})
    t.start("s", {"a": 1})
    t.stop({"b": 2})
    assert sink.take() == [b">:t:s:a=1:", b"<:t:s:b=2:"]


def test_attributes_enter_exit_args(sink):
    t = Tracer("s")
    t.enter_args["k"] = "v"
    t.exit_args = {"e": 1}
    with t:
        pass
    assert sink.take() == [b">:t:s:k=v:", b"<:t:s:e=1:"]
    t.tag = "n.m"
    assert t.tag == "n.m" and t.tags == ("n", "m")


# --- decorator details ---


def test_decorated_function_keeps_metadata():
    @Tracer
    def documented(a, b=2):
        "doc"
        return a

    import inspect

    assert documented.__name__ == "documented"
    assert documented.__wrapped__.__doc__ == "doc"
    assert str(inspect.signature(documented)) == "(a, b=2)"
    assert isinstance(documented, Tracer)


def test_decorated_function_called_with_a_callable(sink):
    @Tracer
    def apply(fn):
        return fn(3)

    assert apply(lambda x: x + 1) == 4
    assert sink.take() == [b">:t:apply::", b"<:t:apply::"]


def test_lambda_name_is_escaped(sink):
    f = Tracer(lambda: 1)
    assert f() == 1
    assert sink.take() == [b">:t:\\<lambda\\>::", b"<:t:\\<lambda\\>::"]


def test_methods_static_class_and_recursion(sink):
    class C:
        @Tracer(enter_args={"self_is_c": Args(0)})
        def m(self, n):
            return self.m(n - 1) if n else "done"

        @staticmethod
        @Tracer
        def s(x):
            return x

        @classmethod
        @Tracer(enter_args={"cls": Args(0)})
        def c(cls):
            return cls.__name__

    c = C()
    assert c.m(3) == "done"
    out = sink.take()
    assert len(out) == 2 and out[0].startswith(b">:t:m:self_is_c=<") and out[1] == b"<:t:m::"
    assert C.s(5) == 5 and c.s(6) == 6
    assert sink.take() == [b">:t:s::", b"<:t:s::"] * 2
    assert C.c() == "C"
    assert sink.take() == [b">:t:c:cls=" + repr(C).encode() + b":", b"<:t:c::"]


def test_recursion_counted_per_thread(sink):
    gate = threading.Barrier(2)

    @Tracer
    def rec(n):
        if n == 0:
            gate.wait(timeout=10)
            return 0
        return rec(n - 1)

    ts = [threading.Thread(target=rec, args=(3,)) for _ in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert sorted(sink.take()) == [b"<:t:rec::"] * 2 + [b">:t:rec::"] * 2


def test_decorating_tracer_used_twice_is_not_a_decorator():
    t = Tracer("x")
    with pytest.raises(TypeError):
        t(1, 2)


# --- sink control ---


def test_sink_fd_redirect_and_reset():
    r, w = os.pipe()
    sysdig_tracer.set_sink_fd(w)
    assert sysdig_tracer.sink_fd() == w
    with Tracer("x"):
        pass
    sysdig_tracer.reset_sink()
    assert sysdig_tracer.sink_fd() != w
    assert os.readlink(f"/proc/self/fd/{sysdig_tracer.sink_fd()}") == "/dev/null"
    with Tracer("y"):
        pass
    os.close(w)
    assert os.read(r, 100) == b">:t:x::<:t:x::"
    os.close(r)


def test_null_fd_assignment_redirects_both_names():
    import sysdig_tracers

    for mod in (sysdig_tracer, sysdig_tracers):
        r, w = os.pipe()
        mod.NULL_FD = w
        assert mod.NULL_FD == w and sysdig_tracer.sink_fd() == w
        with mod.Tracer("z"):
            pass
        sysdig_tracer.reset_sink()
        os.close(w)
        assert os.read(r, 100) == b">:t:z::<:t:z::"
        os.close(r)


def test_write_errors_never_reach_user_code():
    r, w = os.pipe()
    os.close(w)
    before = sysdig_tracer.error_count()
    sysdig_tracer.set_sink_fd(r)  # the read end: every write fails with EBADF
    try:
        with Tracer("x", enter_args={"a": 1}):
            pass
        Tracer("y").start()
    finally:
        sysdig_tracer.reset_sink()
        os.close(r)
    assert sysdig_tracer.error_count() == before + 3


def test_full_pipe_does_not_block_or_raise():
    r, w = os.pipe2(os.O_NONBLOCK)
    sysdig_tracer.set_sink_fd(w)
    try:
        for _ in range(20000):  # > 64 KiB of markers
            with Tracer("fill"):
                pass
    finally:
        sysdig_tracer.reset_sink()
        os.close(r)
        os.close(w)


def test_same_objects_under_both_names():
    import sysdig_tracers

    for name in ("Tracer", "Args", "Kwds", "ReturnValue", "set_sink_fd", "reset_sink"):
        assert getattr(sysdig_tracers, name) is getattr(sysdig_tracer, name)
    assert sysdig_tracer.Tracer.__module__ == "sysdig_tracer"


def test_marker_classes_api():
    assert Args(1)((10, 20)) == 20
    assert Kwds("k")({"k": 3}) == 3
    assert repr(Args(2)) == "Args(2)" and repr(Kwds("a")) == "Kwds('a')"
    assert "sysdig_tracer" in sys.modules


def test_attributes_can_be_set_on_decorated_functions(sink):
    @pytest.mark.slow  # sets f.pytestmark, as other decorators do
    @Tracer
    def f():
        return 2

    f.__click_params__ = []
    f.__click_params__.append("opt")
    assert f.__click_params__ == ["opt"]
    assert [m.name for m in f.pytestmark] == ["slow"]
    del f.__click_params__
    with pytest.raises(AttributeError):
        f.__click_params__
    with pytest.raises(AttributeError):
        del f.nothing
    assert f() == 2
    assert sink.take() == [b">:t:f::", b"<:t:f::"]
