"""Plain `Tracer("tag")` objects and plain children are recycled while nothing else holds
them; a recycled object must never carry state from its previous use."""

import threading

from sysdig_tracer import Tracer


def test_objects_in_use_are_never_shared(sink):
    a = Tracer("x")
    b = Tracer("x")
    assert a is not b
    with a:
        with Tracer("x") as c:
            assert c is not a
    assert sink.take() == [b">:t:x::", b">:t:x::", b"<:t:x::", b"<:t:x::"]


def test_state_changes_do_not_survive_recycling(sink):
    t = Tracer("x")
    t.start("other", {"a": 1})
    t.enter_args["k"] = "v"
    t.exit_args = {"e": 1}
    del t
    with Tracer("x"):
        pass
    with Tracer("x", id="p"):
        pass
    with Tracer("x"):
        pass
    assert sink.take() == [
        b">:t:other:a=1:",
        b">:t:x::",
        b"<:t:x::",
        b">:p:x::",
        b"<:p:x::",
        b">:t:x::",
        b"<:t:x::",
    ]


def test_unique_ids_fresh_on_every_recycled_object(sink):
    ids = set()
    for _ in range(3):
        with Tracer("u", id="unique") as t:
            ids.add(t.span_id)
    assert len(ids) == 3
    assert len(sink.take()) == 6


def test_children_recycled_only_when_free_and_parent_unchanged(sink):
    p = Tracer("p")
    c1 = p.span("c")
    c2 = p.span("c")
    assert c1 is not c2  # c1 still held
    c2.tag = "zzz"
    del c1, c2
    with p.span("c"):
        pass
    p.tag = "q"
    with p.span("c"):
        pass
    with Tracer("r", id=5) as r:
        with r.span("c"):
            pass
    assert sink.take() == [
        b">:t:p.c::",
        b"<:t:p.c::",
        b">:t:q.c::",
        b"<:t:q.c::",
        b">:5:r::",
        b">:5:r.c::",
        b"<:5:r.c::",
        b"<:5:r::",
    ]


def test_recycling_per_thread(sink):
    gate = threading.Barrier(2)

    def work(tag):
        for _ in range(3):
            with Tracer(tag):
                gate.wait(timeout=10)

    ts = [threading.Thread(target=work, args=("x",)) for _ in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    got = sink.take()
    assert sorted(got) == [b"<:t:x::"] * 6 + [b">:t:x::"] * 6


def test_user_attributes_do_not_survive_recycling():
    t = Tracer("attr")
    t.note = 1
    assert t.note == 1
    del t
    u = Tracer("attr")
    assert not hasattr(u, "note")
