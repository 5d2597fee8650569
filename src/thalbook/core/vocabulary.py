"""The one record of every analytic choice the book offers, and its reader-facing wording.

Every parameter of a build (``confidence_level``, ``ci_method``,
``analysis_set``, ``rounding``) is one :class:`Option` in :data:`OPTIONS`:
its type, default, allowed values, one line on what it is, and what changing
it changes. A parameter with a fixed set of values has an enumeration
(:class:`CiMethod`, :class:`AnalysisSet`, :class:`Rounding`) whose members
are text (``CiMethod.WILSON == "wilson"``) and carry what each value needs:
its label for prose and, for an interval method, its name in statsmodels.
Adding a value is one new member. The JSON Schema that validates a parameter
set (:data:`SCHEMA`) and the tables below are derived from these records.

Examples
--------
>>> [str(m) for m in CiMethod]
['wilson', 'clopper-pearson', 'jeffreys', 'agresti-coull']
>>> CiMethod("clopper-pearson").statsmodels, CiMethod.JEFFREYS.label
('beta', 'Jeffreys')
>>> allowed("rounding")
'`half-up`, `half-even`, `truncation`'
>>> AnalysisSet.COMPLETE_CASE.short
'complete case'
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class CiMethod(StrEnum):
    """Interval methods for a single proportion, in the order tables list them.

    Each member is its value (``"wilson"``), with ``label`` (its name in
    prose) and ``statsmodels`` (its ``method`` in
    ``statsmodels.stats.proportion.proportion_confint``).
    """

    label: str
    statsmodels: str

    def __new__(cls, value: str, label: str, statsmodels: str) -> CiMethod:
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        member.statsmodels = statsmodels
        return member

    WILSON = "wilson", "Wilson", "wilson"
    CLOPPER_PEARSON = "clopper-pearson", "Clopper-Pearson", "beta"
    JEFFREYS = "jeffreys", "Jeffreys", "jeffreys"
    AGRESTI_COULL = "agresti-coull", "Agresti-Coull", "agresti_coull"


class _Set(StrEnum):
    """A set of denominators: its value, ``label`` (one line for tables and captions) and ``short`` (a heading)."""

    label: str
    short: str

    def __new__(cls, value: str, label: str, short: str) -> _Set:
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        member.short = short
        return member


class AnalysisSet(_Set):
    """The analysis sets a build can be run with: the denominators of binary outcomes."""

    ITT = "itt", "intention to treat: all enrolled, missing = no response", "ITT"
    REPORTED = "reported", "the denominators the paper used", "as reported"
    COMPLETE_CASE = "complete-case", "patients assessed at that time point", "complete case"


class BoundingSet(_Set):
    """The bounding sets shown beside the analysis sets (never a parameter value)."""

    BEST_CASE = "best-case", "every patient without an assessment a responder", "best case"
    WORST_CASE = "worst-case", "every patient without an assessment a non-responder", "worst case"


class Rounding(StrEnum):
    """Rounding conventions the consistency audit can assume for printed numbers, with ``label`` for prose."""

    label: str

    def __new__(cls, value: str, label: str) -> Rounding:
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        return member

    HALF_UP = "half-up", "a tie rounded away from zero"
    HALF_EVEN = "half-even", "a tie rounded to the even last digit"
    TRUNCATION = "truncation", "the digits past the last printed one dropped"


@dataclass(frozen=True)
class Option:
    """One parameter of a build: everything the book says or checks about it.

    Parameters
    ----------
    name : str
        The parameter's name (``--set NAME=VALUE``, a notebook's variable).
    type : type
        ``float`` for a number, else the enumeration of its values.
    default : object
        The value of the book as published (``params/default.yml``).
    description : str
        What it is, in one line (tables of parameters, ``thalbook --help``).
    effect : str
        What changing it changes in the book (methods chapter, reproducibility page).
    minimum, below : float, optional
        For a number: the smallest value allowed, and the bound it must stay below.
    """

    name: str
    type: type
    default: Any
    description: str
    effect: str
    minimum: float | None = None
    below: float | None = None

    @property
    def choices(self) -> tuple[StrEnum, ...]:
        """The values of a choice-valued parameter, in order; empty for a number.

        Examples
        --------
        >>> OPTIONS["rounding"].choices[-1]
        <Rounding.TRUNCATION: 'truncation'>
        """
        return tuple(self.type) if issubclass(self.type, StrEnum) else ()

    @property
    def schema(self) -> dict[str, Any]:
        """The JSON Schema of one value.

        Examples
        --------
        >>> OPTIONS["ci_method"].schema
        {'enum': ['wilson', 'clopper-pearson', 'jeffreys', 'agresti-coull']}
        >>> OPTIONS["confidence_level"].schema
        {'type': 'number', 'minimum': 0.5, 'exclusiveMaximum': 1}
        """
        if self.choices:
            # plain text, so that jsonschema's message shows ['half-up', ...]
            return {"enum": [str(value) for value in self.choices]}
        spec: dict[str, Any] = {"type": "number"}
        if self.minimum is not None:
            spec["minimum"] = self.minimum
        if self.below is not None:
            spec["exclusiveMaximum"] = self.below
        return spec


#: Every parameter of a build, in the order tables and messages list them.
OPTIONS: dict[str, Option] = {option.name: option for option in (
    Option(
        "confidence_level", float, 0.95, "confidence level of every interval",
        "The level of every confidence interval for a proportion, in the results and safety chapters and in "
        "the worked examples of the methods chapter. Estimates stay the same; every interval widens at a "
        "higher level and narrows at a lower one.",
        # Below 0.5 an "interval" no longer covers the estimate it is meant to
        # describe; 1 would be an infinite interval.
        minimum=0.5, below=1,
    ),
    Option(
        "ci_method", CiMethod, CiMethod.WILSON, "interval method for a single proportion",
        "The method of every interval for a single proportion (Wilson, Clopper-Pearson, Jeffreys or "
        "Agresti-Coull): the limits change, the estimates do not. The methods chapter compares the four "
        "methods on real outcomes.",
    ),
    Option(
        "analysis_set", AnalysisSet, AnalysisSet.ITT, "denominators used for binary outcomes",
        "The denominators of the binary efficacy outcomes: `itt` counts every enrolled patient (a missing "
        "outcome is a non-response), `reported` uses the denominators the papers printed, `complete-case` "
        "only the patients assessed. Proportions and intervals of the efficacy chapters change; adverse "
        "events do not use it.",
    ),
    Option(
        "rounding", Rounding, Rounding.HALF_UP, "rounding convention assumed by the consistency audit",
        "The rounding convention (`half-up`, `half-even` or `truncation`, which drops the digits past the "
        "last printed one) the consistency audit assumes when it asks whether a printed number can come from "
        "whole counts. Only verdicts that hinge on the last digit change, and with them the audit chapter and "
        "the counts on the landing page.",
    ),
)}

# Views of the records for the tables that read them by name.
CI_METHODS = tuple(str(m) for m in CiMethod)
ANALYSIS_SETS = tuple(str(s) for s in AnalysisSet)
BOUNDING_SETS = tuple(str(s) for s in BoundingSet)
ROUNDINGS = tuple(str(r) for r in Rounding)
METHOD_NAMES = {str(m): m.label for m in CiMethod}
SET_LABELS = {str(s): s.label for s in (*AnalysisSet, *BoundingSet)}
SET_NAMES = {str(s): s.short for s in (*AnalysisSet, *BoundingSet)}
DESCRIPTIONS = {name: option.description for name, option in OPTIONS.items()}
EFFECTS = {name: option.effect for name, option in OPTIONS.items()}

#: The JSON Schema of a parameter set, checked by ``jsonschema`` before any kernel starts.
SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {name: option.schema for name, option in OPTIONS.items()},
}


def allowed_values(name: str) -> list:
    """The values a parameter may take, when :data:`SCHEMA` lists them.

    Examples
    --------
    >>> allowed_values("analysis_set")
    ['itt', 'reported', 'complete-case']
    >>> allowed_values("confidence_level")
    []
    """
    return list(SCHEMA["properties"].get(name, {}).get("enum", []))


def allowed(name: str) -> str:
    """The values a parameter may take, in words, from :data:`SCHEMA`.

    Examples
    --------
    >>> allowed("confidence_level")
    'a number from 0.5 up to, not including, 1'
    >>> allowed("nonexistent")
    'see `params.py`'
    """
    spec = SCHEMA["properties"].get(name, {})
    if "enum" in spec:
        return ", ".join(f"`{v}`" for v in spec["enum"])
    if spec.get("type") == "number":
        low = spec.get("minimum", spec.get("exclusiveMinimum"))
        high = spec.get("maximum", spec.get("exclusiveMaximum"))
        text = "a number"
        if low is not None:
            text += f" from {low}" + (" (excluded)" if "exclusiveMinimum" in spec else "")
        if high is not None:
            text += f" up to, not including, {high}" if "exclusiveMaximum" in spec else f" up to {high}"
        return text
    return "see `params.py`"


def other_roundings(rounding: Rounding) -> tuple[Rounding, ...]:
    """The rounding conventions that are not ``rounding``: the audit asks whether one would change a verdict.

    Examples
    --------
    >>> [str(r) for r in other_roundings(Rounding.HALF_UP)]
    ['half-even', 'truncation']
    """
    return tuple(r for r in Rounding if r != rounding)
