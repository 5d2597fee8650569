"""Parameter values: the one check, whoever asks (``thalbook build`` or a chapter run by papermill).

A parameter value is judged by the JSON Schema derived from
:data:`thalbook.core.vocabulary.OPTIONS` (through ``jsonschema``), after two
checks a JSON Schema cannot make: a number must be finite (NaN passes every
range, since each comparison with it is false) and an integer must be small
enough to print (Python refuses ``str`` of one beyond 4300 digits, which would
break the schema's own message). :func:`parse` runs them all on a mapping of
parameters and returns a :class:`Parameters`, or raises one
:class:`~thalbook.core.errors.ParameterError` naming the first parameter at
fault; the build floor adds where the value came from (a file, ``--set``), a
chapter raises it as it is. It is the one place a parameter value given by a
user is checked: below it, functions receive :class:`Parameters` fields, whose
types (:class:`~thalbook.core.vocabulary.CiMethod`, ...) hold only allowed values.

:func:`describe` shows any value in a few dozen characters, so that a message
stays one short line whatever was passed.

Examples
--------
>>> parse({"confidence_level": 0.9, "ci_method": "wilson"}).ci_method
<CiMethod.WILSON: 'wilson'>
>>> parse({"confidence_level": float("nan")})
Traceback (most recent call last):
...
thalbook.core.errors.ParameterError: confidence_level: nan is not a finite number
>>> parse({"confidence_level": True})
Traceback (most recent call last):
...
thalbook.core.errors.ParameterError: confidence_level: True is not of type 'number'
>>> problem("rounding", "up")
"'up' is not one of ['half-up', 'half-even', 'truncation']"
"""

from __future__ import annotations

import math
import numbers
import reprlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jsonschema

from thalbook.core.errors import ParameterError
from thalbook.core.vocabulary import OPTIONS, SCHEMA, AnalysisSet, CiMethod, Rounding

#: Longest description of a user value in a message, in characters.
DESCRIBE_LIMIT = 60

#: Integers wider than this are described by their number of digits: Python
#: refuses ``str()`` of an integer beyond 4300 digits, and no parameter needs
#: more than a handful.
_INT_BITS = 128

#: One validator per parameter, built once: a chapter checks its values on every build.
_VALIDATORS = {name: jsonschema.Draft7Validator(spec) for name, spec in SCHEMA["properties"].items()}


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


def clip(text: str, limit: int = DESCRIBE_LIMIT, keep_end: bool = False) -> str:
    """``text`` on one printable line of at most ``limit`` characters.

    Parameters
    ----------
    text : str
        Any text, possibly long or holding line breaks and control characters.
    limit : int
        Longest result, in characters.
    keep_end : bool
        Keep both ends and cut the middle (for a path, whose last part names the file).

    Returns
    -------
    str
        ``text`` itself when it is short and printable; else cut (``...``) and escaped.

    Examples
    --------
    >>> clip("a\\nb")
    'a\\\\nb'
    >>> clip("/very/long/directory/name/params.yml", limit=20, keep_end=True)
    '/very/lo...rams.yml'
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


def describe(value: Any, limit: int = DESCRIBE_LIMIT) -> str:
    """Show ``value`` for an error message: Python's ``repr``, cut to ``limit`` characters.

    The description is one line whatever the value: long text and long lists
    are cut (``...``), nesting beyond three levels is elided, mappings whose
    keys cannot be sorted are shown in their own order, and an integer too
    wide to print is described by its number of digits.

    Parameters
    ----------
    value : object
        Anything a YAML document or a caller can hold.
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
    return clip(_BRIEF.repr(value), limit)


def show_name(key: Any) -> str:
    """A parameter name as written (unquoted) when it is short plain text, else :func:`describe` of it.

    Examples
    --------
    >>> show_name("ci_method"), show_name(1), show_name("a\\nb")
    ('ci_method', '1', "'a\\\\nb'")
    """
    if isinstance(key, str) and key.isprintable() and len(key) <= DESCRIBE_LIMIT:
        return key
    return describe(key)


# --------------------------------------------------------------------------- checking values


def _number_problem(value: Any) -> str | None:
    """Why a number passes a JSON Schema range but is no value at all (NaN, an infinity), or None."""
    if isinstance(value, bool | numbers.Integral) or not isinstance(value, numbers.Number):
        return None  # the schema judges booleans and text; integers cannot be infinite
    try:
        finite = math.isfinite(value)  # any float-like: float, NumPy floats, Fraction, Decimal
    except (TypeError, ValueError, ArithmeticError):
        # a complex number, or Decimal's signalling NaN: the schema's range would raise on either
        return f"{describe(value)} is not a real number"
    return None if finite else f"{describe(value)} is not a finite number"


def _unprintable_problem(value: Any) -> str | None:
    """Why ``value`` cannot be shown by the schema's message (an integer too wide to print), or None."""
    pending = [value]
    while pending:  # iterative: nesting is bounded by whoever parsed the value, but nothing here relies on it
        item = pending.pop()
        if isinstance(item, int) and item.bit_length() > _INT_BITS:
            return f"{describe(item)} is too large"
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            pending.extend(item)
    return None


def problem(name: str, value: Any) -> str | None:
    """Why ``value`` is not allowed for the parameter ``name``, or None when it is.

    Parameters
    ----------
    name : str
        A parameter of :data:`thalbook.core.vocabulary.OPTIONS`.
    value : object
        The value given.

    Returns
    -------
    str or None
        One line starting with the value as :func:`describe` shows it, e.g.
        ``"nan is not a finite number"`` or ``"0.3 is less than the minimum of 0.5"``.

    Raises
    ------
    KeyError
        If ``name`` is not a parameter (:func:`parse` refuses it first).

    Examples
    --------
    >>> problem("confidence_level", 0.9) is None
    True
    >>> problem("confidence_level", float("-inf"))
    '-inf is not a finite number'
    >>> problem("confidence_level", "0.9")
    "'0.9' is not of type 'number'"
    >>> problem("confidence_level", 0.3)
    '0.3 is less than the minimum of 0.5'
    """
    validator = _VALIDATORS[name]
    found = _number_problem(value) or _unprintable_problem(value)
    if found is not None:
        return found
    error = next(iter(validator.iter_errors(value)), None)
    if error is None:
        return None
    # the schema's message starts with repr(value), of any length: show it as describe() does
    shown = repr(error.instance)
    if error.message.startswith(shown):
        return describe(error.instance) + error.message[len(shown):]
    return clip(error.message, 120)


@dataclass(frozen=True)
class Parameters:
    """The analytic parameters of a build, checked: what every chapter and core function receives.

    Build one with :func:`parse`; each field defaults to the book as published
    (:data:`thalbook.core.vocabulary.OPTIONS`). A choice is a member of its
    enumeration, which is also its text (``Rounding.HALF_UP == "half-up"``).

    Examples
    --------
    >>> Parameters().rounding
    <Rounding.HALF_UP: 'half-up'>
    """

    confidence_level: float = OPTIONS["confidence_level"].default
    ci_method: CiMethod = OPTIONS["ci_method"].default
    analysis_set: AnalysisSet = OPTIONS["analysis_set"].default
    rounding: Rounding = OPTIONS["rounding"].default


def parse(values: Mapping[Any, Any]) -> Parameters:
    """Check a parameter set, whole or in part, and return it as :class:`Parameters`.

    The one check of parameter values: ``thalbook build`` runs it on the
    default set, a parameter file, each ``--set`` and a set passed to
    :func:`thalbook.press.pipeline.run` (adding where the value came from to
    the message), ``thalbook audit --rounding`` on its option, and every
    chapter on the values its ``build`` receives, so that a chapter run by
    papermill answers as ``thalbook`` does. Names are checked before values;
    of several faults of one kind, the first name in order is reported.

    Parameters
    ----------
    values : mapping
        Parameter name -> value; any subset of the parameters.

    Returns
    -------
    Parameters
        The values given, each of its option's type; a parameter not given takes its default.

    Raises
    ------
    ParameterError
        ``NAME: what is wrong``, one line: a name that is not text, a name
        that is not a parameter, a number that is not finite (NaN, an
        infinity), an integer too wide to print, or a value the schema refuses.

    Examples
    --------
    >>> parse({})
    Parameters(confidence_level=0.95, ci_method=<CiMethod.WILSON: 'wilson'>, \
analysis_set=<AnalysisSet.ITT: 'itt'>, rounding=<Rounding.HALF_UP: 'half-up'>)
    >>> parse({"rounding": "truncation"}).rounding
    <Rounding.TRUNCATION: 'truncation'>
    >>> parse({"confidence_level": float("inf")})
    Traceback (most recent call last):
    ...
    thalbook.core.errors.ParameterError: confidence_level: inf is not a finite number
    >>> parse({"confidence_level": 0.9, "alpha": 0.05})
    Traceback (most recent call last):
    ...
    thalbook.core.errors.ParameterError: alpha: unknown parameter (known: confidence_level, ci_method, \
analysis_set, rounding)
    >>> parse({1: "wilson"})
    Traceback (most recent call last):
    ...
    thalbook.core.errors.ParameterError: 1: a parameter name must be text, not int
    """
    for key in values:
        if not isinstance(key, str):
            raise ParameterError(f"{describe(key)}: a parameter name must be text, not {type(key).__name__}")
    unknown = sorted(set(values) - set(OPTIONS))
    if unknown:
        raise ParameterError(f"{show_name(unknown[0])}: unknown parameter (known: {', '.join(OPTIONS)})")
    for name in sorted(values):
        found = problem(name, values[name])
        if found is not None:
            raise ParameterError(f"{name}: {found}")
    return Parameters(**{name: OPTIONS[name].type(value) for name, value in values.items()})
