"""Parameter validation: every parameter, every way it can be wrong."""

import contextlib
import errno
import os
import threading
from pathlib import Path

import pytest
import yaml

from thalbook.core import paths
from thalbook.core.errors import ParameterError
from thalbook.press import params


def test_defaults_file_is_complete_and_valid():
    values = params.resolve()
    assert set(values) == set(params.SCHEMA["properties"])
    assert values == {"analysis_set": "itt", "ci_method": "wilson", "confidence_level": 0.95, "rounding": "half-up"}


@pytest.mark.parametrize(
    "override, culprit",
    [
        ("confidence_level=high", "confidence_level"),  # wrong type
        ("confidence_level=true", "confidence_level"),  # a boolean is not a number
        ("confidence_level=1", "confidence_level"),  # out of range (above)
        ("confidence_level=1.5", "confidence_level"),
        ("confidence_level=0.3", "confidence_level"),  # out of range (below)
        ("ci_method=wald", "ci_method"),  # unknown value
        ("ci_method=3", "ci_method"),  # wrong type
        ("analysis_set=per-protocol", "analysis_set"),
        ("analysis_set=[itt]", "analysis_set"),
        ("rounding=up", "rounding"),
        ("alpha=0.05", "alpha"),  # unknown parameter
        ("no-equals-sign", "no-equals-sign"),
    ],
)
def test_bad_override_names_the_parameter(override, culprit):
    with pytest.raises(ParameterError) as err:
        params.resolve(overrides=[override])
    message = str(err.value)
    assert culprit in message
    assert "\n" not in message


@pytest.mark.parametrize(
    "content, culprit",
    [
        ("confidence_level: [0.9\n", "malformed YAML"),
        ("- a\n- list\n", "expected a mapping"),
        ("ci_method: jeffreys\nbogus: 1\n", "bogus"),
        ("confidence_level: '0.9'\n", "confidence_level"),
        ("analysis_set: completers\n", "analysis_set"),
    ],
)
def test_bad_parameter_file_names_file_and_culprit(tmp_path: Path, content, culprit):
    bad = tmp_path / "bad.yml"
    bad.write_text(content)
    with pytest.raises(ParameterError) as err:
        params.resolve(bad)
    assert str(bad) in str(err.value) and culprit in str(err.value)


def test_missing_and_non_utf8_files(tmp_path: Path):
    with pytest.raises(ParameterError, match="not found"):
        params.resolve(tmp_path / "absent.yml")
    latin = tmp_path / "latin.yml"
    latin.write_bytes("ci_method: 'wilsón'\n".encode("latin-1"))
    with pytest.raises(ParameterError, match="latin.yml"):
        params.resolve(latin)


def test_file_then_overrides_take_precedence(tmp_path: Path):
    f = tmp_path / "p.yml"
    f.write_text("ci_method: jeffreys\nconfidence_level: 0.8\n")
    values = params.resolve(f, ["confidence_level=0.9"])
    assert values["ci_method"] == "jeffreys" and values["confidence_level"] == 0.9


def test_named_parameter_sets_are_valid():
    for path in sorted(paths.project().params.glob("*.yml")):
        params.resolve(path)


def test_chapter_parameter_cells_declare_known_parameters_with_the_default_values():
    import papermill

    defaults = yaml.safe_load(paths.project().default_params.read_text())
    for nb in sorted(paths.project().chapters.glob("*.ipynb")):
        declared = papermill.inspect_notebook(str(nb))
        for name, info in declared.items():
            assert name in params.SCHEMA["properties"], f"{nb.name} declares unknown {name}"
            assert yaml.safe_load(info["default"]) == defaults[name], f"{nb.name}: default of {name}"


def test_papermill_shows_each_parameters_type_and_allowed_values():
    import papermill

    expected_type = {"number": "float", None: "str"}
    for nb in sorted(paths.project().chapters.glob("*.ipynb")):
        for name, info in papermill.inspect_notebook(str(nb)).items():
            spec = params.SCHEMA["properties"][name]
            assert info["inferred_type_name"] == expected_type[spec.get("type")], (nb.name, name)
            # the help lists what the schema allows: every choice, or the bounds of a number
            wanted = spec.get("enum") or [str(spec["minimum"]), str(spec["exclusiveMaximum"])]
            assert all(str(w) in info["help"] for w in wanted), (nb.name, name, info["help"])


# --------------------------------------------------------------------------- hostile input
# Whatever the input, a ParameterError of one short line that names the file or the parameter.


def one_line_naming(err: pytest.ExceptionInfo, *culprits: str) -> str:
    message = str(err.value)
    assert "\n" not in message, message
    assert len(message) < 300, message
    for culprit in culprits:
        assert culprit in message, message
    return message


def test_named_pipe_is_refused_without_blocking(tmp_path: Path):
    fifo = tmp_path / "fifo.yml"
    os.mkfifo(fifo)
    outcome: list[BaseException | None] = []

    def attempt():
        try:
            params.resolve(fifo)
            outcome.append(None)
        except BaseException as exc:  # handed to the test thread
            outcome.append(exc)

    reader = threading.Thread(target=attempt, daemon=True)
    reader.start()
    reader.join(timeout=10)
    if reader.is_alive():
        # unblock a reader stuck in open() so the thread can end, then fail
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        reader.join(timeout=10)
        pytest.fail("reading a named pipe blocked")
    assert isinstance(outcome[0], ParameterError), outcome
    assert "fifo.yml" in str(outcome[0]) and "named pipe" in str(outcome[0])
    assert "\n" not in str(outcome[0])


@contextlib.contextmanager
def address_space_capped(headroom: int):
    """Cap this process's address space at its current size plus ``headroom`` bytes.

    A read of /dev/zero that does not stop then ends in MemoryError instead of
    exhausting the machine's memory.
    """
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    in_use = int(Path("/proc/self/statm").read_text().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    cap = in_use + headroom if hard == resource.RLIM_INFINITY else min(in_use + headroom, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


@pytest.mark.skipif(not (os.path.exists("/dev/zero") and os.path.exists("/proc/self/statm")),
                    reason="needs /dev/zero and /proc")
def test_device_is_refused_not_read():
    with address_space_capped(512 * 2**20), pytest.raises(ParameterError) as err:
        params.resolve("/dev/zero")
    one_line_naming(err, "/dev/zero", "not a regular file")


def test_directory_is_refused(tmp_path: Path):
    with pytest.raises(ParameterError) as err:
        params.resolve(tmp_path)
    one_line_naming(err, str(tmp_path), "cannot read parameter file", "directory")


def test_symlink_loop_is_refused(tmp_path: Path):
    loop = tmp_path / "loop.yml"
    loop.symlink_to(loop)
    with pytest.raises(ParameterError) as err:
        params.resolve(loop)
    one_line_naming(err, "loop.yml", os.strerror(errno.ELOOP))


def test_over_long_file_name_is_refused_in_a_short_message(tmp_path: Path):
    with pytest.raises(ParameterError) as err:
        params.resolve(tmp_path / ("x" * 5000 + ".yml"))
    one_line_naming(err, "xxxxx", ".yml", os.strerror(errno.ENAMETOOLONG))


def test_path_under_a_regular_file_is_refused(tmp_path: Path):
    regular = tmp_path / "regular.yml"
    regular.write_text("ci_method: wilson\n")
    with pytest.raises(ParameterError) as err:
        params.resolve(regular / "p.yml")
    one_line_naming(err, "regular.yml/p.yml", os.strerror(errno.ENOTDIR))


def test_permission_denied_is_refused(tmp_path: Path, monkeypatch):
    locked = tmp_path / "locked.yml"
    locked.write_text("ci_method: wilson\n")
    locked.chmod(0)
    if os.geteuid() == 0:  # root reads any file: make opening it fail as it would for anyone else
        real_open = os.open

        def denying_open(path, *args, **kwargs):
            if Path(path) == locked:
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
            return real_open(path, *args, **kwargs)

        monkeypatch.setattr(params.os, "open", denying_open)
    with pytest.raises(ParameterError) as err:
        params.resolve(locked)
    one_line_naming(err, "locked.yml", os.strerror(errno.EACCES))


def test_file_larger_than_the_cap_is_refused(tmp_path: Path):
    big = tmp_path / "big.yml"
    big.write_text("# padding\n" * (params.MAX_FILE_BYTES // 10 + 1))
    with pytest.raises(ParameterError) as err:
        params.resolve(big)
    one_line_naming(err, "big.yml", "64 KiB")


@pytest.mark.parametrize(
    "content, culprits",
    [
        # a duplicated key names the key and both lines
        ("ci_method: wilson\nrounding: half-up\nci_method: jeffreys\n", ("ci_method", "duplicate", ":3:", "line 1")),
        ("ci_method: {a: 1, a: 2}\n", ("duplicate", "a:")),
        # keys that are not text, alone or mixed with text keys (sorting them used to fail)
        ("1: a\nb: c\n", ("1", "parameter name must be text")),
        ("ci_method: wilson\n[1, 2]: x\n", ("unhashable",)),
        ("~: wilson\n", ("None", "parameter name must be text")),
        ("ci_method: {1: a, b: c}\n", ("ci_method", "is not one of")),
        # nesting far deeper than any parameter needs
        ("confidence_level: " + "[" * 10_000 + "]" * 10_000 + "\n", ("nested more than",)),
        ("confidence_level:\n" + "".join("  " * i + "- \n" for i in range(1, 60)), ("nested more than",)),
        # refused at the 21st bracket, before the scanner reads on to the "`" it would refuse
        ("confidence_level: " + "[" * 21 + "`" + "]" * 21 + "\n", ("nested more than", ":1:")),
        # "billion laughs": aliases are refused before anything expands
        ("a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
         + "".join(f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]\n" for p, n in zip("abcdefgh", "bcdefghi", strict=True))
         + "confidence_level: *i\n", ("aliases", ":2:")),
        # numbers a JSON Schema range lets through, or that cannot be printed
        ("confidence_level: .nan\n", ("confidence_level", "nan is not a finite number")),
        ("confidence_level: .NaN\n", ("confidence_level", "not a finite number")),
        ("confidence_level: .inf\n", ("confidence_level", "inf is not a finite number")),
        ("confidence_level: -.inf\n", ("confidence_level", "not a finite number")),
        ("confidence_level: 1.0e+400\n", ("confidence_level", "not a finite number")),
        ("confidence_level: 1e400\n", ("confidence_level", "is not of type")),  # YAML 1.1: text, not a number
        ("confidence_level: " + "9" * 5001 + "\n", ("confidence_level", "5001 digits")),  # 10**5001 - 1
        ("confidence_level: -1" + "0" * 5000 + "\n", ("confidence_level", "5001 digits")),  # -(10**5000)
        ("confidence_level: 0x" + "f" * 20_000 + "\n", ("confidence_level", "digits")),
        ("ci_method: [1, [2, " + "9" * 6000 + "]]\n", ("ci_method", "digits")),
        # values no constructor can build
        ("confidence_level: 2001-13-45\n", (":1:", "timestamp")),
        ("ci_method: !!int ''\n", (":1:", "int")),
        ("ci_method: !!bool maybe\n", (":1:", "bool")),
        ("ci_method: !!python/object:os.system ls\n", (":1:", "malformed YAML")),
        # long and unprintable values are shown briefly
        ("ci_method: '" + "w" * 30_000 + "'\n", ("ci_method", "is not one of", "...")),
        ("ci_method: [" + ", ".join(["wilson"] * 5000) + "]\n", ("ci_method", "...")),
        ("? " + "x" * 30_000 + "\n: 1\n", ("unknown parameter", "...")),
        ('"a\\nb\\u0007": 1\n', ("unknown parameter", "\\n")),
        ("ci_method: \x07\n", (":1:", "malformed YAML")),
    ],
)
def test_hostile_parameter_file_gives_one_short_line(tmp_path: Path, content, culprits):
    bad = tmp_path / "hostile.yml"
    bad.write_text(content)
    with pytest.raises(ParameterError) as err:
        params.resolve(bad)
    one_line_naming(err, "hostile.yml", *culprits)


@pytest.mark.parametrize(
    "override, culprits",
    [
        ("confidence_level=.nan", ("--set confidence_level", "nan is not a finite number")),
        ("confidence_level=.inf", ("--set confidence_level", "not a finite number")),
        ("confidence_level=-.inf", ("--set confidence_level", "not a finite number")),
        ("confidence_level=1.0e+400", ("--set confidence_level", "not a finite number")),
        ("confidence_level=1e400", ("--set confidence_level", "is not of type")),
        ("confidence_level=1" + "0" * 5000, ("--set confidence_level", "digits")),
        ("ci_method=" + "[" * 10_000 + "]" * 10_000, ("--set ci_method", "nested more than")),
        ("ci_method=" + "[" * 10_000, ("--set ci_method", "nested more than")),
        ("ci_method={a: 1, a: 2}", ("--set ci_method", "duplicate")),
        ("ci_method={1: a, b: c}", ("--set ci_method", "is not one of")),
        ("ci_method=[&a [x, x], *a, *a]", ("--set ci_method", "aliases")),
        ("ci_method=" + "w" * (params.MAX_FILE_BYTES + 1), ("--set ci_method", "64 KiB")),
        ("ci_method=" + "w" * 5000, ("--set ci_method", "...")),
        ("y" * 5000 + "=1", ("--set", "unknown parameter")),
        ("a\nb=1", ("--set", "a\\nb", "unknown parameter")),
        ("x" * 5000, ("--set", "expected NAME=VALUE")),
    ],
)
def test_hostile_override_gives_one_short_line(override, culprits):
    with pytest.raises(ParameterError) as err:
        params.resolve(overrides=[override])
    one_line_naming(err, *culprits)


def test_describe_is_short_for_any_value():
    deep: list = []
    for _ in range(10_000):
        deep = [deep]
    for value in (10**5000, -(10**5000), "x" * 100_000, deep, {1: "a", "b": 2, None: [3]}, list(range(10**5)),
                  float("nan"), b"\0" * 10_000, "line\nbreak"):
        shown = params.describe(value)
        assert len(shown) <= 60 and shown.isprintable(), shown


def test_params_verb_prints_the_resolved_set_as_yaml(tmp_path: Path, capsys):
    from thalbook.press import cli

    f = tmp_path / "p.yml"
    f.write_text("ci_method: jeffreys\n")
    assert cli.main(["params", "--params", str(f), "--set", "confidence_level=0.9"]) == 0
    out = capsys.readouterr().out
    printed = yaml.safe_load(out)
    assert printed == params.resolve(f, ["confidence_level=0.9"])
    assert printed["ci_method"] == "jeffreys" and printed["confidence_level"] == 0.9


def test_params_verb_reports_one_line_and_exit_code_2(tmp_path: Path, capsys):
    from thalbook.press import cli

    dup = tmp_path / "dup.yml"
    dup.write_text("rounding: half-up\nrounding: half-even\n")
    assert cli.main(["params", "--params", str(dup)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("thalbook: error: ") and captured.err.count("\n") == 1
    assert "dup.yml:2: rounding: duplicate key" in captured.err
