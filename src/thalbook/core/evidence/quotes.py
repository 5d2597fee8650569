"""Where a number or a quote stands in a text: the quote rule's matching, and the source-text check.

Every row of the data package carries a short verbatim quote. The validator
(:mod:`thalbook.core.evidence.validate`) requires that the quote contains the row's
numbers as written (:data:`QUOTED_FIELDS`, :func:`value_in_quote`); the tests
check that each quote stands in the transcription of the paper it cites
(:func:`quote_problems`). Written by hand: numbers are matched on their own,
or spelled out, and a quote is matched with the two allowances that PDF
extraction needs (white space, and a hyphen that ends a line).

Examples
--------
>>> number_in_text("13", "Thirteen men with different subtypes")
True
>>> quote_in_text("improvement of", "improve-\\nment of")
True
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from thalbook.core import paths
from thalbook.core.errors import Problem

#: A number as the package writes it: digits, and optionally a point and more digits.
PLAIN_NUMBER = re.compile(r"^[0-9]+(\.[0-9]+)?$")


#: Columns whose value must appear in the row's quote. ``number``: matched as
#: a number (or its spelled-out word); ``text``: matched as text;
#: ``auto``: as a number when the cell is a plain number, else as text.
QUOTED_FIELDS: dict[str, dict[str, str]] = {
    "studies": {"design": "text"},
    "study_facts": {"value": "auto"},
    "withdrawals": {"count": "number", "week": "number", "timing": "text"},
    "binary_outcomes": {"count": "number", "denominator": "number", "percent": "number"},
    "continuous_outcomes": {"mean": "number", "sd": "number", "n": "number", "p_value": "number",
                            "unit": "text"},
    "adverse_events": {"count": "number", "denominator": "number", "percent": "number", "frequency": "text",
                       "timing": "text"},
    "context_outcomes": {"count": "number", "denominator": "number", "percent": "number",
                         "n_enrolled": "number", "n_randomised": "number", "n_completed": "number",
                         "effect": "number", "ci_low": "number", "ci_high": "number", "ci_level": "number",
                         "p_value": "number"},
    "cited_results": {"value": "number", "denominator": "number"},
}

#: Places outside a paper, and the research note that transcribes them.
OUTSIDE_SOURCES = {
    "conference abstract": "research/context-studies.md",
    "registry record": "research/context-studies.md",
    "cited definition": "research/outcome-definitions.md",
}

_ELLIPSIS = "[...]"

_UNITS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
          "sixteen seventeen eighteen nineteen").split()
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
# How the sources write a count of zero ("no severe adverse events",
# "Neither neuropathy nor ...").
_ZERO_WORDS = ("no", "none", "neither", "nor", "zero", "nil")


# ------------------------------------------------------- numbers and quotes in text

def number_words(n: int) -> tuple[str, ...]:
    """Return the English words a source may use to write the integer ``n``.

    Written by hand: only 0-99 are needed (counts in small trials), and the
    zero forms ("no", "neither") are specific to how papers state absences.

    Examples
    --------
    >>> number_words(13)
    ('thirteen',)
    >>> number_words(32)
    ('thirty-two', 'thirty two')
    >>> number_words(0)[:3]
    ('no', 'none', 'neither')
    """
    if n == 0:
        return _ZERO_WORDS
    if 0 < n < 20:
        return (_UNITS[n],)
    if 20 <= n < 100:
        tens, unit = divmod(n, 10)
        if unit == 0:
            return (_TENS[tens],)
        return (f"{_TENS[tens]}-{_UNITS[unit]}", f"{_TENS[tens]} {_UNITS[unit]}")
    return ()


def number_in_text(number: str, text: str) -> bool:
    """Tell whether ``number``, as written, stands in ``text``.

    The number must stand on its own: ``3.1`` is not found in ``3.10`` or
    ``13.1``. Whole numbers below 100 are also found spelled out
    (``Three``, ``Forty``; zero as ``no``, ``neither``...).

    Parameters
    ----------
    number : str
        The number exactly as written in the CSV.
    text : str
        The quote.

    Examples
    --------
    >>> number_in_text("3.1", "to Week 24 (3.1 ± 2.08; p = 0.0156)")
    True
    >>> number_in_text("3.1", "from 13.10 to 3.15")
    False
    >>> number_in_text("3", "Three patients withdrew due to rash.")
    True
    >>> number_in_text("40", "Forty percent improvement")
    True
    """
    if re.search(rf"(?<![0-9.]){re.escape(number)}(?![0-9]|\.[0-9])", text):
        return True
    if re.fullmatch(r"[0-9]+", number):
        for word in number_words(int(number)):
            if re.search(rf"\b{re.escape(word)}\b", text, flags=re.IGNORECASE):
                return True
    return False


def normalise_space(text: str) -> str:
    """Collapse every run of white space to one space and strip the ends.

    Examples
    --------
    >>> normalise_space("  a\\n  b\\tc ")
    'a b c'
    """
    return re.sub(r"\s+", " ", text).strip()


# In a source text, a hyphen at the end of a line may be a real hyphen
# ("HLA-\nB27") or a word broken across lines ("improve-\nment"): keep a
# marker that matches either way.
_SOFT_HYPHEN = "\x00"


@lru_cache(maxsize=16)
def _normalised_source(text: str) -> str:
    text = re.sub(r"-[ \t]*(?:\r?\n[ \t]*)+", _SOFT_HYPHEN, text)
    return re.sub(r"\s+", " ", text)


@lru_cache(maxsize=4096)
def _fragment_pattern(fragment: str) -> re.Pattern[str]:
    parts = ["(?:-|\x00)" if ch == "-" else re.escape(ch) for ch in fragment]
    return re.compile("\x00?".join(parts))


def quote_in_text(quote: str, text: str) -> bool:
    """Tell whether ``quote`` stands verbatim in the source ``text``.

    White space is normalised on both sides, and a hyphen that ends a line of
    the source matches both the hyphenated and the joined word (PDF
    extraction: ``improve-\\nment`` matches "improvement", ``HLA-\\nB27``
    matches "HLA-B27"). ``[...]`` in a quote joins fragments that must
    appear in this order. Written by hand: no library matches quotes with
    these two PDF-specific allowances.

    Examples
    --------
    >>> src = "as > 20% improve-\\nment of more than 3 of 4 domains. All were HLA-\\nB27 positive"
    >>> quote_in_text("> 20% improvement of more than 3 of 4 domains", src)
    True
    >>> quote_in_text("All were HLA-B27 positive", src)
    True
    >>> quote_in_text("> 20% improvement [...] HLA-B27", src)
    True
    >>> quote_in_text("HLA-B27 [...] improvement", src)
    False
    """
    source = _normalised_source(text)
    position = 0
    for fragment in normalise_space(quote).split(_ELLIPSIS):
        fragment = fragment.strip()
        if not fragment:
            continue
        match = _fragment_pattern(fragment).search(source, position)
        if match is None:
            return False
        position = match.end()
    return True


def value_in_quote(value: str, quote: str, kind: str = "auto") -> bool:
    """Tell whether a cell ``value`` stands in its row's ``quote``.

    Parameters
    ----------
    value : str
        The cell as written in the CSV.
    quote : str
        The row's quote.
    kind : {"number", "text", "auto"}
        ``number`` matches with :func:`number_in_text`; ``text`` as a
        case-insensitive substring after white-space normalisation; ``auto``
        picks ``number`` for a plain number and ``text`` otherwise.

    Examples
    --------
    >>> value_in_quote("January 2013", "between January 2013 and April 2015")
    True
    >>> value_in_quote("13", "Thirteen men with different subtypes")
    True
    """
    if kind == "auto":
        kind = "number" if PLAIN_NUMBER.match(value) else "text"
    if kind == "number":
        return number_in_text(value, quote)
    return normalise_space(value).lower() in normalise_space(quote).lower()


# ------------------------------------------------------------ quote sources

def quote_problems(pkg, shared_dir: str | os.PathLike | None = None, *,
                   seeds_dir: str | os.PathLike | None = None,
                   research_dir: str | os.PathLike | None = None) -> tuple[list[Problem], list[str]]:
    """Check that every quote stands verbatim in the text it cites.

    Each study names its transcription in ``studies.source_text``
    (``seeds/<file>`` or ``research/<file>``); a row whose location lies
    outside the paper (:data:`OUTSIDE_SOURCES`) is matched against the
    research note that transcribes that place instead. Quotes are matched
    with :func:`quote_in_text`.

    Parameters
    ----------
    pkg : thalbook.core.evidence.data.DataPackage
        A loaded package.
    shared_dir : path-like, optional
        Folder holding ``seeds/`` and ``research/``; default ``../shared``
        beside the project.
    seeds_dir, research_dir : path-like, optional
        Override the two folders separately (e.g. ``$THALBOOK_SEEDS_DIR``).

    Returns
    -------
    problems : list of Problem
        One per quote not found in its source text.
    missing : list of str
        Source texts that could not be found (their quotes are not checked).

    Examples
    --------
    >>> from thalbook.core.evidence import data
    >>> problems, missing = quote_problems(data.load())
    >>> problems
    []
    """
    shared = Path(shared_dir) if shared_dir is not None else paths.project().root.parent / "shared"
    folders = {"seeds": Path(seeds_dir) if seeds_dir is not None else shared / "seeds",
               "research": Path(research_dir) if research_dir is not None else shared / "research"}
    sources = dict(zip(pkg.studies["study_id"], pkg.studies["source_text"], strict=True))
    texts: dict[str, str] = {}
    missing: set[str] = set()
    for source in {*sources.values(), *OUTSIDE_SOURCES.values()}:
        folder, _, name = str(source).partition("/")
        path = folders.get(folder, shared / folder) / name
        if path.is_file():
            texts[source] = path.read_text(encoding="utf-8")
        else:
            missing.add(str(source))
    problems = []
    for name, frame in pkg.tables().items():
        if "quote" not in frame.columns:
            continue
        places = frame["location"] if "location" in frame.columns else pd.Series("", index=frame.index)
        # Rows are loaded in file order, one per line after the header.
        rows = zip(frame["study_id"], places, frame["quote"], strict=True)
        for line, (study, place, quote) in enumerate(rows, start=2):
            source = OUTSIDE_SOURCES.get(place, sources.get(study))
            if source in texts and not quote_in_text(str(quote), texts[source]):
                problems.append(Problem(f"{name}.csv", line, "quote", f"not found in {source}"))
    return problems, sorted(missing)


def iter_reported_numbers(pkg) -> Iterable[tuple[str, str, str, str]]:
    """Yield ``(file, row id, column, number as written)`` for every reported number.

    A number is a non-empty cell of a quoted numeric column (and plain-number
    study facts), i.e. one that the quote rule ties to the source text.

    Examples
    --------
    >>> from thalbook.core.evidence import data
    >>> numbers = list(iter_reported_numbers(data.load()))
    >>> ("binary_outcomes.csv", "he2017-remission-w8-abs-results", "percent", "23.4") in numbers
    True
    """
    for name, fields in QUOTED_FIELDS.items():
        frame = getattr(pkg, name)
        key = "id" if "id" in frame.columns else frame.columns[0]
        for field, kind in fields.items():
            if kind == "text" or field not in frame.columns:
                continue
            places = frame.get(f"{field}_decimals", pd.Series(np.nan, index=frame.index))
            for row_id, value, digits in zip(frame[key], frame[field], places, strict=True):
                if isinstance(value, str):  # study_facts.value: text, numbers among it
                    if PLAIN_NUMBER.match(value):
                        yield f"{name}.csv", row_id, field, value
                elif not pd.isna(value):
                    yield f"{name}.csv", row_id, field, f"{value:.{int(digits)}f}"
