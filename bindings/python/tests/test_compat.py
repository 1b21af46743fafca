"""The example code of sysdig-tracers 0.1.2's docstrings, unchanged, under both import
names (`from sysdig_tracers import *` as the original's users wrote, and
`from sysdig_tracer import *`)."""

import textwrap

import pytest

from conftest import auto_tag

# Each example as in the docstrings of sysdig_tracers.py 0.1.2 (placeholders such as
# `[code]` replaced by `pass`), with the markers it must write.
EXAMPLES = {
    "Args": (
        """
        @Tracer(enter_args={"n": Args(0)})
        def myfunction(n):
          pass

        myfunction(9)
        """,
        lambda f: [b">:t:myfunction:n=9:", b"<:t:myfunction::"],
    ),
    "Kwds": (
        """
        @Tracer(enter_args={"n": Kwds("n")})
        def myfunction(n):
          pass

        myfunction(n=9)
        """,
        lambda f: [b">:t:myfunction:n=9:", b"<:t:myfunction::"],
    ),
    "ReturnValue": (
        """
        @Tracer(exit_args={"n": ReturnValue})
        def myfunction():
          return 8

        myfunction()
        """,
        lambda f: [b">:t:myfunction::", b"<:t:myfunction:n=8:"],
    ),
    "Tracer": (
        """
        @Tracer
        def myfuction():
          pass

        with Tracer():
          pass
        myfuction()
        """,
        lambda f: [
            b">:t:" + auto_tag(f, 6, "<module>").encode() + b"::",
            b"<:t:" + auto_tag(f, 6, "<module>").encode() + b"::",
            b">:t:myfuction::",
            b"<:t:myfuction::",
        ],
    ),
    "start": (
        """
        t = Tracer()
        t.start()
        pass
        t.stop()

        with Tracer():
          pass
        """,
        lambda f: [
            b">:t:" + auto_tag(f, 3, "<module>").encode() + b"::",
            b"<:t:" + auto_tag(f, 3, "<module>").encode() + b"::",
            b">:t:" + auto_tag(f, 7, "<module>").encode() + b"::",
            b"<:t:" + auto_tag(f, 7, "<module>").encode() + b"::",
        ],
    ),
    "span": (
        """
        with Tracer() as t:
          pass
          with t.span() as child:
            pass
        """,
        lambda f: [
            b">:t:" + auto_tag(f, 2, "<module>").encode() + b"::",
            b">:t:" + (auto_tag(f, 2, "<module>") + "." + auto_tag(f, 4, "<module>")).encode() + b"::",
            b"<:t:" + (auto_tag(f, 2, "<module>") + "." + auto_tag(f, 4, "<module>")).encode() + b"::",
            b"<:t:" + auto_tag(f, 2, "<module>").encode() + b"::",
        ],
    ),
}


@pytest.mark.parametrize("module", ["sysdig_tracers", "sysdig_tracer"])
@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_docstring_example_runs_unchanged(sink, tmp_path, module, example):
    code, expected = EXAMPLES[example]
    path = tmp_path / "examples" / f"{example}.py"
    path.parent.mkdir()
    path.write_text(f"from {module} import *" + textwrap.dedent(code))
    exec(compile(path.read_text(), str(path), "exec"), {"__name__": "__main__"})
    assert sink.take() == expected(str(path))
