"""tracers-spec §9.5: the Python emitter vectors, with the project's column (C12) where
it differs from sysdig-tracers 0.1.2."""

import os
import runpy
import threading

import pytest

from sysdig_tracer import Args, Kwds, ReturnValue, Tracer

from conftest import auto_tag, here


def test_v1_dotted_tag_makes_levels(sink):
    with Tracer("a.b"):
        pass
    assert sink.take() == [b">:t:a.b::", b"<:t:a.b::"]


def test_v2_values_escaped_and_exit_args_in_with(sink):  # C12a, C12c
    with Tracer("x", enter_args={"k": "v:1,2", "n": 3}, exit_args={"e": "z"}):
        pass
    assert sink.take() == [b">:t:x:k=v\\:1\\,2,n=3:", b"<:t:x:e=z:"]


def test_v3_auto_tag_at_module_level(sink, tmp_path):
    app = tmp_path / "app"
    app.mkdir()
    src = "\n" * 16 + "t=Tracer(); t.start(); t.stop({'r':1})\n"  # line 17
    (app / "main.py").write_text("from sysdig_tracer import Tracer\n" + src[1:])
    runpy.run_path(str(app / "main.py"))
    assert sink.take() == [
        b">:t:app/main\\.py\\:17(\\<module\\>)::",
        b"<:t:app/main\\.py\\:17(\\<module\\>):r=1:",
    ]


def test_v4_start_tag_replaces(sink):
    t = Tracer("s")
    t.start("other", {"a": 1})
    t.stop()
    assert sink.take() == [b">:t:other:a=1:", b"<:t:other::"]


def test_v5_nested_spans_with_auto_child(sink):
    with Tracer("p") as p:
        with p.span("c") as c:
            f, line = here(); inner = c.span()  # noqa: E702 - same line on purpose
            with inner:
                pass
    auto = auto_tag(f, line, "test_v5_nested_spans_with_auto_child").encode()
    assert sink.take() == [
        b">:t:p::",
        b">:t:p.c::",
        b">:t:p.c." + auto + b"::",
        b"<:t:p.c." + auto + b"::",
        b"<:t:p.c::",
        b"<:t:p::",
    ]


def test_v6_recursion_is_one_span(sink):
    @Tracer
    def f(n):
        return f(n - 1) if n else 0

    assert f(2) == 0
    assert sink.take() == [b">:t:f::", b"<:t:f::"]


def test_v7_marker_filtering(sink):  # C12g
    @Tracer(
        enter_args={"n": Args(0), "kw": Kwds("k"), "s": "lit", "i": 5},
        exit_args={"ret": ReturnValue, "x": Args(0)},
    )
    def g(n, k=None):
        return n * 2

    assert g(4, k="K") == 8
    assert sink.take() == [b">:t:g:n=4,kw=K,s=lit,i=5:", b"<:t:g:ret=8,x=4:"]


def test_v8_method(sink):
    class C:
        @Tracer(enter_args={"a": Args(1)})
        def m(self, a):
            return a

    assert C().m(7) == 7
    assert sink.take() == [b">:t:m:a=7:", b"<:t:m::"]


def test_v9_explicit_decorator_tag_kept(sink):  # C12d
    @Tracer("explicit")
    def h():
        pass

    h()
    assert sink.take() == [b">:t:explicit::", b"<:t:explicit::"]


# --- additional C12 rows of §9.5 ---


def test_c12a_colon_in_tag_escaped(sink):
    with Tracer("x:y"):
        pass
    assert sink.take() == [b">:t:x\\:y::", b"<:t:x\\:y::"]


def test_c12b_non_ascii_is_utf8(sink):
    with Tracer("héllo"):
        pass
    assert sink.take() == ["\x3e:t:héllo::".encode(), "<:t:héllo::".encode()]


def test_c12f_exception_writes_exit_and_restores_counter(sink):
    @Tracer
    def boom(fail):
        if fail:
            raise KeyError("k")
        return 1

    with pytest.raises(KeyError):
        boom(True)
    assert sink.take() == [b">:t:boom::", b"<:t:boom:error=KeyError:"]
    assert boom(False) == 1
    assert sink.take() == [b">:t:boom::", b"<:t:boom::"]


def test_c12e_concurrent_threads_each_get_a_span(sink):
    inside = threading.Barrier(2)
    tids = {}

    @Tracer
    def work(name):
        tids[name] = threading.get_native_id()
        inside.wait(timeout=10)  # both threads are inside the function at once
        return name

    ts = [threading.Thread(target=work, args=(n,)) for n in ("a", "b")]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    got = sink.take()
    assert sorted(got) == [b"<:t:work::", b"<:t:work::", b">:t:work::", b">:t:work::"]
    assert got[:2] == [b">:t:work::", b">:t:work::"]


def test_c12g_missing_keyword_is_omitted(sink):
    @Tracer(enter_args={"kw": Kwds("k"), "a": Args(5)})
    def f(k=None):
        return k

    assert f() is None
    assert sink.take() == [b">:t:f::", b"<:t:f::"]
    f(k=3)
    assert sink.take() == [b">:t:f:kw=3:", b"<:t:f::"]


def test_markers_are_single_writes_on_a_plain_pipe():
    # Same markers through an ordinary (byte-stream) pipe, as sysdig-tracers' users did.
    import sysdig_tracer

    r, w = os.pipe()
    sysdig_tracer.set_sink_fd(w)
    try:
        with Tracer("a.b", enter_args={"k": "v"}):
            pass
    finally:
        sysdig_tracer.reset_sink()
    os.close(w)
    assert os.read(r, 4096) == b">:t:a.b:k=v:<:t:a.b::"
    os.close(r)
