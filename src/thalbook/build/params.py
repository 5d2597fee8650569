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
- a check that numbers are finite, since a JSON Schema cannot refuse NaN
  (every comparison with it is false, so it passes ``minimum``);
- :func:`describe`, which shows any value in a few dozen characters
  (``reprlib`` with one change: it never calls ``str`` on a huge integer).

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
import math
import os
import reprlib
import stat
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from thalbook.core import paths
from thalbook.core.errors import ParameterError
from thalbook.core.vocabulary import ANALYSIS_SETS, CI_METHODS, DESCRIPTIONS, ROUNDINGS, SCHEMA  # noqa: F401

# The choices, their wording and the schema are the vocabulary's (one list for the whole book).

#: Largest parameter file (and ``--set`` value), in bytes. A parameter set is
#: a few lines; the cap bounds the time and memory spent on a wrong file.
MAX_FILE_BYTES = 64 * 1024

#: Deepest nesting of lists and mappings a parameter file may have. Every
#: parameter is a scalar; the limit keeps PyYAML's recursive composer, and
#: anything that walks the result, far from Python's recursion limit.
MAX_DEPTH = 20

#: Longest description of a user value in a message, in characters.
DESCRIBE_LIMIT = 60

#: Integers wider than this are described by their number of digits: Python
#: refuses ``str()`` of an integer beyond 4300 digits, and no parameter needs
#: more than a handful.
_INT_BITS = 128

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


# --------------------------------------------------------------------------- describing user values


class _Brief(reprlib.Repr):
    """``reprlib.Repr`` whose integers never go through ``str`` when huge."""

    def __init__(self) -> None:
        super().__init__()
        self.maxlevel = 3
        self.maxdict = self.maxlist = self.maxtuple = self.maxset = self.maxfrozenset = 4
        self.maxstring = self.maxother = self.maxlong = 40

    def repr_int(self, x: int, level: int) -> str:
        if x.bit_length() > _INT_BITS:
            # the count of decimal digits, found by comparison, not by printing
            n = abs(x)
            digits = max(1, int((n.bit_length() - 1) * math.log10(2)) - 1)
            while n >= 10**digits:
                digits += 1
            return f"an integer of {digits} digits"
        return super().repr_int(x, level)


_BRIEF = _Brief()


def _clip(text: str, limit: int = DESCRIBE_LIMIT, keep_end: bool = False) -> str:
    """``text`` on one printable line of at most ``limit`` characters.

    ``keep_end`` keeps both ends (for a path, whose last part names the file).
    """
    if len(text) > limit:
        half = (limit - 3) // 2
        text = text[:half] + "..." + text[-half:] if keep_end else text[: limit - 3] + "..."
    if not text.isprintable():
        # repr escapes line breaks, control and unencodable characters
        text = repr(text)[1:-1]
        if len(text) > limit:
            text = text[: limit - 3] + "..."
    return text


def _show_path(path: Path | str) -> str:
    return _clip(str(path), limit=200, keep_end=True)


def _show_name(key: Any) -> str:
    """A parameter name as written (unquoted) when it is short plain text, else described."""
    if isinstance(key, str) and key.isprintable() and len(key) <= DESCRIBE_LIMIT:
        return key
    return describe(key)


def describe(value: Any, limit: int = DESCRIBE_LIMIT) -> str:
    """Show ``value`` for an error message: Python's ``repr``, cut to ``limit`` characters.

    The description is one line whatever the value: long text and long lists
    are cut (``...``), nesting beyond three levels is elided, mappings whose
    keys cannot be sorted are shown in their own order, and an integer too
    wide to print is described by its number of digits.

    Parameters
    ----------
    value : object
        Anything a YAML document can hold.
    limit : int
        Longest description, in characters.

    Returns
    -------
    str
        At most ``limit`` printable characters.

    Examples
    --------
    >>> describe("up")
    "'up'"
    >>> describe(10**5000)
    'an integer of 5001 digits'
    >>> describe({1: "a", "b": [[[[["deep"]]]]]})
    "{1: 'a', 'b': [[[...]]]}"
    >>> len(describe("x" * 10_000)) <= 60
    True
    """
    return _clip(_BRIEF.repr(value), limit)


# --------------------------------------------------------------------------- reading YAML


class _Refused(yaml.MarkedYAMLError):
    """Well-formed YAML that a parameter set may not use; ``problem`` says why."""


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
                raise _Refused(problem=f"lists and mappings nested more than {MAX_DEPTH} deep",
                               problem_mark=event.start_mark)
        try:
            return super().compose_node(parent, index)
        finally:
            if nests:
                self._depth -= 1

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


def _unprintable_problem(value: Any) -> str | None:
    """Why ``value`` is refused before ``jsonschema`` sees it, or None.

    NaN and infinities pass a JSON Schema range; an integer too wide to print
    would break the schema's own message.
    """
    if isinstance(value, float) and not math.isfinite(value):
        return f"{describe(value)} is not a finite number"
    pending = [value]
    while pending:  # iterative: the loader bounds the depth, but nothing here relies on it
        item = pending.pop()
        if isinstance(item, int) and item.bit_length() > _INT_BITS:
            return f"{describe(item)} is too large"
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            pending.extend(item)
    return None


def _check(values: dict[Any, Any], source: str) -> None:
    """Raise :class:`ParameterError` naming the first invalid parameter.

    The schema's message is kept, with its ``repr`` of the value replaced by
    :func:`describe` so that its length is bounded.
    """
    for key in values:
        if not isinstance(key, str):
            raise ParameterError(f"{source} {describe(key)}: a parameter name must be text, "
                                 f"not {type(key).__name__}")
    unknown = sorted(set(values) - set(SCHEMA["properties"]))
    if unknown:
        raise ParameterError(
            f"{source} {_show_name(unknown[0])}: unknown parameter (known: {', '.join(SCHEMA['properties'])})"
        )
    for name in sorted(values):
        value = values[name]
        problem = _unprintable_problem(value)
        if problem is None:
            validator = jsonschema.Draft7Validator(SCHEMA["properties"][name])
            err = next(iter(validator.iter_errors(value)), None)
            if err is None:
                continue
            shown = repr(err.instance)
            problem = (describe(err.instance) + err.message[len(shown):] if err.message.startswith(shown)
                       else _clip(err.message, 120))
        raise ParameterError(f"{source} {name}: {problem}")


def check_set(values: Any) -> None:
    """Raise TypeError or ValueError unless ``values`` is a whole, valid parameter set.

    For callers of the library (:func:`thalbook.build.pipeline.run`): a set
    that did not come from :func:`resolve` is the caller's mistake, not input
    a user typed, so it is not a :class:`ParameterError`.

    Examples
    --------
    >>> check_set(resolve())
    >>> check_set({"rounding": "half-up"})
    Traceback (most recent call last):
    ...
    ValueError: params: no value for analysis_set; pass a whole set, as thalbook.build.params.resolve() returns
    """
    if not isinstance(values, dict):
        raise TypeError(f"params: expected a dict of NAME: value, got {type(values).__name__}")
    missing = sorted(set(SCHEMA["properties"]) - set(values))
    if missing:
        raise ValueError(f"params: no value for {missing[0]}; pass a whole set, as "
                         "thalbook.build.params.resolve() returns")
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
    values = _read_yaml(paths.DEFAULT_PARAMS)
    _check(values, f"{paths.DEFAULT_PARAMS}:")
    if params_file is not None:
        path = Path(params_file)
        from_file = _read_yaml(path)
        _check(from_file, f"{_show_path(path)}:")
        values.update(from_file)
    for item in overrides:
        name, value = parse_override(item)
        _check({name: value}, "--set")
        values[name] = value
    missing = sorted(set(SCHEMA["properties"]) - set(values))
    if missing:
        raise ParameterError(f"{paths.DEFAULT_PARAMS}: {missing[0]}: missing default value")
    if isinstance(values["confidence_level"], int):
        values["confidence_level"] = float(values["confidence_level"])
    return dict(sorted(values.items()))
