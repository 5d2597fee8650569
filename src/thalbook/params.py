"""Parameter sets: load, merge and validate before any kernel starts.

A parameter set is ``params/default.yml`` overlaid by an optional file given
with ``--params`` and then by ``--set NAME=VALUE`` pairs. The whole set is
validated against :data:`SCHEMA` (a JSON Schema, checked by ``jsonschema``)
before anything is executed, and each chapter then receives only the
parameters its ``parameters`` cell declares.

Examples
--------
>>> p = resolve(overrides=["confidence_level=0.9"])
>>> p["confidence_level"], p["ci_method"]
(0.9, 'wilson')
>>> resolve(overrides=["rounding=up"])
Traceback (most recent call last):
...
thalbook.errors.ParameterError: --set rounding: 'up' is not one of ['half-up', 'half-even']
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import yaml

from thalbook import paths
from thalbook.errors import ParameterError

CI_METHODS = ("wilson", "clopper-pearson", "jeffreys", "agresti-coull")
ANALYSIS_SETS = ("itt", "reported", "complete-case")
ROUNDINGS = ("half-up", "half-even")

#: What each parameter means; the methods and reproducibility chapters show it.
DESCRIPTIONS = {
    "confidence_level": "confidence level of every interval",
    "ci_method": "interval method for a single proportion",
    "analysis_set": "denominators used for binary outcomes",
    "rounding": "rounding convention assumed by the consistency audit",
}

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        # Below 0.5 an "interval" no longer covers the estimate it is meant to
        # describe; 1 would be an infinite interval.
        "confidence_level": {"type": "number", "minimum": 0.5, "exclusiveMaximum": 1},
        "ci_method": {"enum": list(CI_METHODS)},
        "analysis_set": {"enum": list(ANALYSIS_SETS)},
        "rounding": {"enum": list(ROUNDINGS)},
    },
}


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ParameterError(f"{path}: parameter file not found") from None
    except (UnicodeDecodeError, IsADirectoryError) as exc:
        raise ParameterError(f"{path}: cannot read parameter file ({exc.__class__.__name__})") from None
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "malformed YAML"
        raise ParameterError(f"{path}{where}: malformed YAML: {problem}") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ParameterError(f"{path}: expected a mapping of NAME: value, got {type(loaded).__name__}")
    return loaded


def _check(values: dict[str, Any], source: str) -> None:
    """Raise :class:`ParameterError` naming the first invalid parameter."""
    validator = jsonschema.Draft7Validator(SCHEMA)
    errors = sorted(validator.iter_errors(values), key=lambda e: list(e.path))
    if not errors:
        return
    err = errors[0]
    if err.validator == "additionalProperties":
        unknown = sorted(set(values) - set(SCHEMA["properties"]))
        raise ParameterError(
            f"{source} {unknown[0]}: unknown parameter (known: {', '.join(SCHEMA['properties'])})"
        )
    name = err.path[0] if err.path else "?"
    raise ParameterError(f"{source} {name}: {err.message}")


def parse_override(item: str) -> tuple[str, Any]:
    """Split one ``NAME=VALUE`` override; VALUE is read as YAML (0.9 -> float).

    Examples
    --------
    >>> parse_override("confidence_level=0.9")
    ('confidence_level', 0.9)
    """
    name, sep, raw = item.partition("=")
    name = name.strip()
    if not sep or not name:
        raise ParameterError(f"--set {item}: expected NAME=VALUE")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
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
        _check(from_file, f"{path}:")
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
