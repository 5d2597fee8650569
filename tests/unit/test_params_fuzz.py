"""Property tests: no parameter file and no ``--set`` gives a traceback or a hang.

Each example runs ``thalbook params`` in-process and accepts two outcomes only:
exit code 0 with a parameter set printed as YAML that validates again, or exit
code 2 with exactly one ``thalbook: error:`` line on stderr. An alarm bounds
every example, so a hang fails the test instead of stalling the suite.
Examples are derandomized: every run tries the same inputs.
"""

from __future__ import annotations

import contextlib
import io
import signal
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from thalbook.press import cli, params

SETTINGS = settings(max_examples=300, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

#: Seconds one example may take; parsing a 64 KiB file takes well under one.
ALARM_SECONDS = 10

NAMES = st.sampled_from([*params.SCHEMA["properties"], "alpha", "<<", "? x", "", "1", "~", "é"])
SCALARS = st.one_of(
    st.sampled_from([
        "0.9", "0.95", "1", "0", "-0.5", "1.5", ".nan", ".NaN", ".inf", "-.inf", "+.inf", "1.0e+400", "1e400",
        "1:30:00", "0b101", "0o17", "017", "1_000",
        "wilson", "jeffreys", "clopper-pearson", "agresti-coull", "itt", "reported", "complete-case",
        "half-up", "half-even", "yes", "no", "~", "null", "''", '""', "2001-12-14", "2001-13-45",
        "!!binary aGVsbG8=", "!!int ''", "!!bool maybe", "!!float x", "!!set {a, a}", "!!omap [a: 1]",
        "!!python/object:os.system ls", "!foo bar", "*a", "*undefined", "&a x", "<<", "@", "`", "%", "|", ">",
    ]),
    st.floats().map(repr),
    st.integers(min_value=-(10**60), max_value=10**60).map(str),
    st.text(max_size=20),
    st.text(max_size=12).map(repr),
    # integers around Python's 4300-digit limit on int <-> str conversion
    st.tuples(st.sampled_from(["", "-", "0x", "-0x"]), st.integers(min_value=4200, max_value=6000))
    .map(lambda t: t[0] + "1" + "0" * t[1]),
)


def _flow(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    keyed = st.tuples(st.one_of(NAMES, children), children)
    return st.one_of(
        st.lists(children, max_size=4).map(lambda xs: "[" + ", ".join(xs) + "]"),
        st.lists(keyed, max_size=4).map(lambda kv: "{" + ", ".join(f"{k}: {v}" for k, v in kv) + "}"),
        st.tuples(st.sampled_from("ab"), children).map(lambda t: f"&{t[0]} {t[1]}"),
    )


VALUES = st.one_of(
    st.recursive(SCALARS, _flow, max_leaves=12),
    st.integers(min_value=1, max_value=10_000).map(lambda n: "[" * n + "]" * n),
    st.integers(min_value=1, max_value=10_000).map(lambda n: "{a: " * n + "1" + "}" * n),
)

#: One line of a block-style document: indentation, an optional "- " or "? ", a key and a value.
LINES = st.tuples(st.integers(min_value=0, max_value=6), st.sampled_from(["", "- ", "? ", "- - "]), NAMES,
                  st.sampled_from([": ", ":", " "]), VALUES).map(lambda t: " " * t[0] + t[1] + t[2] + t[3] + t[4])

#: Pairs that are valid or nearly so, so that the success path is exercised too.
PLAUSIBLE = st.one_of(
    st.tuples(st.just("confidence_level"), st.sampled_from(["0.5", "0.8", "0.9", "0.99", "0.999999", "1", "0.49"])),
    st.tuples(st.just("ci_method"), st.sampled_from([*params.CI_METHODS, "Wilson", "'wilson'"])),
    st.tuples(st.just("analysis_set"), st.sampled_from([*params.ANALYSIS_SETS, "ITT"])),
    st.tuples(st.just("rounding"), st.sampled_from([*params.ROUNDINGS, "half_up"])),
)

#: A document of NAME: value lines; names repeat often, so duplicate keys do too.
DOCUMENTS = st.one_of(
    st.lists(PLAUSIBLE, max_size=5).map(lambda kv: "".join(f"{k}: {v}\n" for k, v in kv)),
    st.lists(st.tuples(NAMES, VALUES), max_size=6).map(lambda kv: "".join(f"{k}: {v}\n" for k, v in kv)),
    st.lists(LINES, max_size=8).map("\n".join),
)

LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]\n" for p, n in zip("abcdefgh", "bcdefghi", strict=True)
) + "confidence_level: *i\n"


class _Timeout(Exception):
    pass


@contextlib.contextmanager
def _alarm(seconds: int):
    def expire(signum, frame):
        raise _Timeout(f"an example took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def _signal_handlers_kept():
    """Put back the handlers ``main`` may install, so pytest's Ctrl-C still works after the test."""
    signums = [s for s in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)) if s is not None]
    saved = {s: signal.getsignal(s) for s in signums}
    try:
        yield
    finally:
        for s, handler in saved.items():
            signal.signal(s, handler)


def run_params(argv: list[str]) -> None:
    """Run ``thalbook params ARGV`` and check that it ends in one of the two allowed ways."""
    out, err = io.StringIO(), io.StringIO()
    with _signal_handlers_kept(), _alarm(ALARM_SECONDS), \
            contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["params", *argv])
    stdout, stderr = out.getvalue(), err.getvalue()
    event(f"exit code {code}")
    assert code in (0, 2), (code, stderr)
    assert "Traceback" not in stderr
    if code == 2:
        assert stdout == ""
        assert stderr.startswith("thalbook: error: ") and stderr.endswith("\n"), stderr
        assert stderr.count("\n") == 1, stderr
        assert len(stderr) < 400, stderr
    else:
        assert stderr == ""
        printed = yaml.safe_load(stdout)
        with tempfile.TemporaryDirectory() as tmp:
            again = Path(tmp) / "printed.yml"
            again.write_text(stdout, encoding="utf-8")
            assert params.resolve(again) == printed


def run_params_file(content: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.yml"
        path.write_bytes(content)
        run_params(["--params", str(path)])


@SETTINGS
@given(st.binary(max_size=4096))
@example(b"\xff\xfe\x00")
@example(b"confidence_level: 0.9\n")
def test_any_bytes_as_a_parameter_file(content: bytes):
    run_params_file(content)


@SETTINGS
@given(DOCUMENTS)
@example(LAUGHS)
@example("ci_method: wilson\nci_method: jeffreys\n")
@example("1: a\nb: c\n")
@example("confidence_level: .nan\n")
@example("confidence_level: " + "9" * 5001 + "\n")
@example("confidence_level: " + "[" * 10_000 + "]" * 10_000 + "\n")
def test_yaml_like_parameter_files(content: str):
    run_params_file(content.encode("utf-8", "surrogatepass"))


@SETTINGS
@given(st.one_of(
    PLAUSIBLE.map("=".join),
    st.tuples(NAMES, st.sampled_from(["=", "", "==", " = "]), VALUES).map("".join),
    st.text(max_size=60),
))
@example("confidence_level=.nan")
@example("confidence_level=" + "1" + "0" * 5000)
@example("ci_method=" + "[" * 10_000)
@example("ci_method={a: 1, a: 2}")
@example("ci_method=[&a [x, x], *a]")
@example("confidence_level=0.9")
def test_any_set_value(override: str):
    run_params([f"--set={override}"])
