"""Parameter sets: load, merge and validate before any kernel starts.

A parameter set is ``params/default.yml`` overlaid by an optional file given
with ``--params`` and then by ``--set NAME=VALUE`` pairs. The whole set is
validated against :data:`SCHEMA` (a JSON Schema, checked by ``jsonschema``)
before anything is executed, and each chapter then receives only the
parameters its ``parameters`` cell declares.

Whatever the input, the outcome is a parameter set or one
:class:`~thalbook.core.errors.ParameterError` line of bounded length, never a
traceback or a hang. PyYAML parses and ``jsonschema`` judges; what is written
by hand is only what neither library offers:

- reading the file (:func:`read_parameter_file`): ``open`` would block on a
  named pipe and read a device without end, so the file is checked to be a
  regular file of at most :data:`MAX_FILE_BYTES` before a byte is read;
- :class:`ParameterLoader`, PyYAML's safe loader with three hooks: duplicate
  keys, aliases and nesting deeper than :data:`MAX_DEPTH` are refused, so a
  small file cannot silently lose a value or expand without bound;
- the check of names and values, :func:`thalbook.core.parameters.parse`
  (finite numbers, since a JSON Schema cannot refuse NaN, then the schema),
  which lives in the core so that every chapter runs the same one on what
  papermill passes it; this module only adds where a value came from.

Examples
--------
>>> p = resolve(overrides=["confidence_level=0.9"])
>>> p["confidence_level"], p["ci_method"]
(0.9, 'wilson')
>>> resolve(overrides=["rounding=up"])
Traceback (most recent call last):
...
thalbook.core.errors.ParameterError: --set rounding: 'up' is not one of ['half-up', 'half-even', 'truncation']
>>> resolve(overrides=["confidence_level=.nan"])
Traceback (most recent call last):
...
thalbook.core.errors.ParameterError: --set confidence_level: nan is not a finite number
"""

from __future__ import annotations

import decimal
import os
import stat
from pathlib import Path
from typing import Any

import yaml

from thalbook.core import parameters, paths
from thalbook.core.errors import ParameterError
from thalbook.core.parameters import DESCRIBE_LIMIT, describe  # noqa: F401
from thalbook.core.parameters import clip as _clip
from thalbook.core.parameters import show_name as _show_name
from thalbook.core.vocabulary import ANALYSIS_SETS, CI_METHODS, OPTIONS, ROUNDINGS, SCHEMA  # noqa: F401

# The options and the schema are the vocabulary's (one record per parameter for the whole book);
# describe() and DESCRIBE_LIMIT are the core check's, re-exported for the build's callers.

#: Largest parameter file (and ``--set`` value), in bytes. A parameter set is
#: a few lines; the cap bounds the time and memory spent on a wrong file.
MAX_FILE_BYTES = 64 * 1024

#: Deepest nesting of lists and mappings a parameter file may have. Every
#: parameter is a scalar; the limit keeps PyYAML's recursive composer, and
#: anything that walks the result, far from Python's recursion limit.
MAX_DEPTH = 20

#: Errors PyYAML's scalar constructors let escape for a value they cannot build
#: (``!!int ''``, ``!!bool maybe``, ``2001-13-45`` as a date); they are
#: reported like malformed YAML.
_CONSTRUCT_ERRORS = (ArithmeticError, LookupError, TypeError, ValueError)

_FILE_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _show_path(path: Path | str) -> str:
    """A path for a message: one line, both ends kept (the last part names the file)."""
    return _clip(str(path), limit=200, keep_end=True)


# --------------------------------------------------------------------------- reading YAML


class _Refused(yaml.MarkedYAMLError):
    """Well-formed YAML that a parameter set may not use; ``problem`` says why."""


def _too_deep(mark: yaml.Mark) -> _Refused:
    return _Refused(problem=f"lists and mappings nested more than {MAX_DEPTH} deep", problem_mark=mark)


class ParameterLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing what has no place in a parameter set.

    It refuses:

    - a duplicated key (YAML forbids it; PyYAML would keep the last value);
    - an alias (``*name``), so that a small file cannot expand into a huge
      value (the "billion laughs");
    - lists and mappings nested more than :data:`MAX_DEPTH` deep.

    A refusal is a :class:`yaml.MarkedYAMLError` whose ``problem`` is one
    line and whose ``problem_mark`` locates it. A scalar no constructor can
    build (``!!int ''``) is a ``ConstructorError`` at its own line, and a
    decimal integer beyond Python's 4300-digit conversion limit is read
    exactly (through :class:`decimal.Decimal`) so that validation can name it.

    Examples
    --------
    >>> yaml.load("ci_method: wilson", Loader=ParameterLoader)
    {'ci_method': 'wilson'}
    >>> try:
    ...     yaml.load("a: 1\\na: 2\\n", Loader=ParameterLoader)
    ... except yaml.YAMLError as exc:
    ...     print(exc.problem_mark.line + 1, exc.problem)
    2 a: duplicate key (first given on line 1)
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            raise _Refused(problem=f"aliases (*{_clip(event.anchor, 20)}) are not allowed in a parameter set",
                           problem_mark=event.start_mark)
        nests = isinstance(event, yaml.SequenceStartEvent | yaml.MappingStartEvent)
        if nests:
            self._depth += 1
            if self._depth > MAX_DEPTH:
                raise _too_deep(event.start_mark)
        try:
            return super().compose_node(parent, index)
        finally:
            if nests:
                self._depth -= 1

    def fetch_flow_collection_start(self, TokenClass: type) -> None:
        # Also refused at the bracket, before composing: the scanner reads ahead through every open "[" or
        # "{" (each may start a key), in time quadratic in their number (seconds for a 64 KiB file of them).
        if self.flow_level >= MAX_DEPTH:
            raise _too_deep(self.get_mark())
        super().fetch_flow_collection_start(TokenClass)

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except _CONSTRUCT_ERRORS as exc:
            raise yaml.constructor.ConstructorError(
                problem=f"cannot read {_clip(node.tag.rpartition(':')[2], 20)} value ({_clip(str(exc))})",
                problem_mark=node.start_mark) from None

    def construct_mapping(self, node: yaml.Node, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            first_line: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue  # "<<" merges a mapping in; its keys are meant to be overridden
                key = self.construct_object(key_node, deep=True)
                try:
                    earlier = first_line.get(key)
                except TypeError:
                    continue  # unhashable: PyYAML reports it below
                if earlier is not None:
                    raise _Refused(problem=f"{_show_name(key)}: duplicate key (first given on line {earlier})",
                                   problem_mark=key_node.start_mark)
                first_line[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_int(self, node: yaml.Node) -> int:
        try:
            return super().construct_yaml_int(node)
        except ValueError:
            digits = self.construct_scalar(node).replace("_", "")
            sign = -1 if digits.startswith("-") else 1
            digits = digits.lstrip("+-")
            if not (digits.isascii() and digits.isdigit()):
                raise
            # int() refuses over 4300 decimal digits; Decimal has no such limit
            return sign * int(decimal.Decimal(digits))


# SafeLoader registered SafeConstructor's function for the tag, not a method name: re-register
ParameterLoader.add_constructor("tag:yaml.org,2002:int", ParameterLoader.construct_yaml_int)


def _load(text: str) -> Any:
    """Parse one YAML document with :class:`ParameterLoader`."""
    loader = ParameterLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def _yaml_problem(exc: yaml.YAMLError, text: str) -> tuple[int | None, str]:
    """The line (1-based, if known) and a one-line description of a YAML error."""
    if isinstance(exc, yaml.reader.ReaderError):
        line = text.count("\n", 0, exc.position) + 1 if isinstance(exc.position, int) else None
        reason = _clip(str(exc.reason), 60)
        return line, f"{reason} (#x{exc.character:04x})" if isinstance(exc.character, int) else reason
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or "malformed YAML"
    return (mark.line + 1 if mark is not None else None), _clip(problem, 100)


def read_parameter_file(path: Path | str) -> str:
    """Return the text of a parameter file, refusing anything but a small regular UTF-8 file.

    The file is never opened when ``stat`` says it is not a regular file, and
    is opened non-blocking in any case, so a named pipe or a device cannot
    stall the build; at most :data:`MAX_FILE_BYTES` + 1 bytes are read.

    Parameters
    ----------
    path : path
        The parameter file.

    Returns
    -------
    str
        Its text.

    Raises
    ------
    ParameterError
        One line naming the file and the reason (``strerror`` for a system error).

    Examples
    --------
    >>> read_parameter_file("/dev/null")
    Traceback (most recent call last):
    ...
    thalbook.core.errors.ParameterError: /dev/null: cannot read parameter file: not a regular file (a character device)
    """
    shown = _show_path(path)

    def refuse(reason: str) -> ParameterError:
        return ParameterError(f"{shown}: cannot read parameter file: {reason}")

    def check(info: os.stat_result) -> None:
        for is_kind, kind in _FILE_KINDS:
            if is_kind(info.st_mode):
                raise refuse(f"not a regular file ({kind})")
        if not stat.S_ISREG(info.st_mode):
            raise refuse("not a regular file")
        if info.st_size > MAX_FILE_BYTES:
            raise refuse(f"larger than {MAX_FILE_BYTES // 1024} KiB")

    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        check(os.stat(path))
        fd = os.open(path, flags)
        try:
            check(os.fstat(fd))  # stat and open are two steps: judge what was opened
            data = b""
            while len(data) <= MAX_FILE_BYTES:
                chunk = os.read(fd, MAX_FILE_BYTES + 1 - len(data))
                if not chunk:
                    break
                data += chunk
        finally:
            os.close(fd)
    except FileNotFoundError:
        raise ParameterError(f"{shown}: parameter file not found") from None
    except OSError as exc:
        raise refuse(exc.strerror or exc.__class__.__name__) from None
    except ValueError:  # os.stat refuses a name with a NUL character
        raise refuse("the name contains a NUL character") from None
    if len(data) > MAX_FILE_BYTES:  # grew after fstat, or a file whose size stat does not know
        raise refuse(f"larger than {MAX_FILE_BYTES // 1024} KiB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise refuse(f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})") from None


def _read_yaml(path: Path) -> dict[Any, Any]:
    text = read_parameter_file(path)
    shown = _show_path(path)
    try:
        loaded = _load(text)
    except _Refused as exc:
        raise ParameterError(f"{shown}:{exc.problem_mark.line + 1}: {exc.problem}") from None
    except yaml.YAMLError as exc:
        line, problem = _yaml_problem(exc, text)
        where = f":{line}" if line is not None else ""
        raise ParameterError(f"{shown}{where}: malformed YAML: {problem}") from None
    except _CONSTRUCT_ERRORS as exc:  # raised outside a constructor PyYAML calls through construct_object
        raise ParameterError(f"{shown}: malformed YAML: {_clip(str(exc))}") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ParameterError(f"{shown}: expected a mapping of NAME: value, got {type(loaded).__name__}")
    return loaded


# --------------------------------------------------------------------------- validating


def _check(values: dict[Any, Any], source: str) -> parameters.Parameters:
    """Return ``values`` as :class:`~thalbook.core.parameters.Parameters`, or raise naming ``source`` and the culprit.

    The check is :func:`thalbook.core.parameters.parse`, the one every chapter
    runs; ``source`` (a file, ``--set``) is put before its message.
    """
    try:
        return parameters.parse(values)
    except ParameterError as exc:
        raise ParameterError(f"{source} {exc}") from None


def check_set(values: Any) -> None:
    """Raise TypeError or ValueError unless ``values`` is a whole, valid parameter set.

    For callers of the library (:func:`thalbook.press.pipeline.run`): a set
    that did not come from :func:`resolve` is the caller's mistake, not input
    a user typed, so it is not a :class:`ParameterError`.

    Examples
    --------
    >>> check_set(resolve())
    >>> check_set({"rounding": "half-up"})
    Traceback (most recent call last):
    ...
    ValueError: params: no value for analysis_set; pass a whole set, as thalbook.press.params.resolve() returns
    """
    if not isinstance(values, dict):
        raise TypeError(f"params: expected a dict of NAME: value, got {type(values).__name__}")
    missing = sorted(set(OPTIONS) - set(values))
    if missing:
        raise ValueError(f"params: no value for {missing[0]}; pass a whole set, as "
                         "thalbook.press.params.resolve() returns")
    try:
        _check(values, "params:")
    except ParameterError as exc:
        raise ValueError(str(exc)) from None


def parse_override(item: str) -> tuple[str, Any]:
    """Split one ``NAME=VALUE`` override; VALUE is read as YAML (0.9 -> float).

    VALUE is read by :class:`ParameterLoader`, so it is refused for what a
    parameter file is refused for (duplicate keys, aliases, deep nesting);
    text that is not YAML at all is taken as it is.

    Examples
    --------
    >>> parse_override("confidence_level=0.9")
    ('confidence_level', 0.9)
    >>> parse_override("ci_method=@wilson")
    ('ci_method', '@wilson')
    """
    name, sep, raw = item.partition("=")
    name = name.strip()
    if not sep or not name:
        raise ParameterError(f"--set {_clip(item)}: expected NAME=VALUE")
    if len(raw.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
        raise ParameterError(f"--set {_show_name(name)}: value longer than {MAX_FILE_BYTES // 1024} KiB")
    if not raw.strip():
        return name, ""
    try:
        value = _load(raw)
    except _Refused as exc:
        raise ParameterError(f"--set {_show_name(name)}: {exc.problem}") from None
    except (yaml.YAMLError, *_CONSTRUCT_ERRORS):
        value = raw
    return name, value


def resolve(params_file: Path | str | None = None, overrides: list[str] | tuple[str, ...] = ()) -> dict[str, Any]:
    """Return the validated parameter set: defaults, then file, then overrides.

    Parameters
    ----------
    params_file : path, optional
        A YAML file of ``NAME: value`` pairs overriding ``params/default.yml``.
    overrides : list of str
        ``NAME=VALUE`` strings, applied last.

    Returns
    -------
    dict
        Every parameter of :data:`SCHEMA`, validated, keys sorted.

    Raises
    ------
    ParameterError
        One line naming the file or ``--set`` and the parameter at fault.
    """
    default_file = paths.project().default_params
    values = _read_yaml(default_file)
    _check(values, f"{default_file}:")
    if params_file is not None:
        path = Path(params_file)
        from_file = _read_yaml(path)
        _check(from_file, f"{_show_path(path)}:")
        values.update(from_file)
    for item in overrides:
        name, value = parse_override(item)
        _check({name: value}, "--set")
        values[name] = value
    missing = sorted(set(OPTIONS) - set(values))
    if missing:
        raise ParameterError(f"{default_file}: {missing[0]}: missing default value")
    if isinstance(values["confidence_level"], int):
        values["confidence_level"] = float(values["confidence_level"])
    return dict(sorted(values.items()))
