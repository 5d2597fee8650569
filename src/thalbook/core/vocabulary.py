"""The one list of every analytic choice the book offers, and its reader-facing wording.

Every parameter of a build (``confidence_level``, ``ci_method``,
``analysis_set``, ``rounding``) is described here once: the values it may
take, one line on what it is, and what changing it changes. The JSON Schema
that validates a parameter set (:data:`SCHEMA`) is built from the same
lists; the command line, the methods chapter and the reproducibility page
all read their wording from here.

Examples
--------
>>> CI_METHODS
('wilson', 'clopper-pearson', 'jeffreys', 'agresti-coull')
>>> allowed("rounding")
'`half-up`, `half-even`, `truncation`'
>>> SET_NAMES["complete-case"]
'complete case'
"""

from __future__ import annotations

from typing import Any

#: Interval methods for a single proportion, in the order tables list them.
CI_METHODS = ("wilson", "clopper-pearson", "jeffreys", "agresti-coull")
#: Their names in prose.
METHOD_NAMES = {
    "wilson": "Wilson",
    "clopper-pearson": "Clopper-Pearson",
    "jeffreys": "Jeffreys",
    "agresti-coull": "Agresti-Coull",
}

#: The analysis sets a build can be run with: the denominators of binary outcomes.
ANALYSIS_SETS = ("itt", "reported", "complete-case")
#: The bounding sets shown beside them (never a parameter value).
BOUNDING_SETS = ("best-case", "worst-case")
#: One line on each set, for tables, captions and prose.
SET_LABELS = {
    "itt": "intention to treat: all enrolled, missing = no response",
    "reported": "the denominators the paper used",
    "complete-case": "patients assessed at that time point",
    "best-case": "every patient without an assessment a responder",
    "worst-case": "every patient without an assessment a non-responder",
}
#: Short names of the sets for column headings and legends.
SET_NAMES = {
    "itt": "ITT",
    "reported": "as reported",
    "complete-case": "complete case",
    "best-case": "best case",
    "worst-case": "worst case",
}

#: Rounding conventions the consistency audit can assume for printed numbers.
ROUNDINGS = ("half-up", "half-even", "truncation")

#: What each parameter is, in one line (tables of parameters, ``thalbook --help``).
DESCRIPTIONS = {
    "confidence_level": "confidence level of every interval",
    "ci_method": "interval method for a single proportion",
    "analysis_set": "denominators used for binary outcomes",
    "rounding": "rounding convention assumed by the consistency audit",
}

#: What changing each parameter changes in the book (methods chapter, reproducibility page).
EFFECTS = {
    "confidence_level": (
        "The level of every confidence interval for a proportion, in the results and safety chapters and in "
        "the worked examples of the methods chapter. Estimates stay the same; every interval widens at a "
        "higher level and narrows at a lower one."
    ),
    "ci_method": (
        "The method of every interval for a single proportion (Wilson, Clopper-Pearson, Jeffreys or "
        "Agresti-Coull): the limits change, the estimates do not. The methods chapter compares the four "
        "methods on real outcomes."
    ),
    "analysis_set": (
        "The denominators of the binary efficacy outcomes: `itt` counts every enrolled patient (a missing "
        "outcome is a non-response), `reported` uses the denominators the papers printed, `complete-case` "
        "only the patients assessed. Proportions and intervals of the efficacy chapters change; adverse "
        "events do not use it."
    ),
    "rounding": (
        "The rounding convention (`half-up`, `half-even` or `truncation`, which drops the digits past the "
        "last printed one) the consistency audit assumes when it asks whether a printed number can come from "
        "whole counts. Only verdicts that hinge on the last digit change, and with them the audit chapter and "
        "the counts on the landing page."
    ),
}

#: The JSON Schema of a parameter set, checked by ``jsonschema`` before any kernel starts.
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


def other_roundings(rounding: str) -> tuple[str, ...]:
    """The rounding conventions that are not ``rounding``: the audit asks whether one would change a verdict.

    Examples
    --------
    >>> other_roundings("half-up")
    ('half-even', 'truncation')
    """
    return tuple(r for r in ROUNDINGS if r != rounding)
