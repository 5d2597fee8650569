"""What integer data could produce a printed percentage, mean or SD: percentage to counts, GRIM, GRIMMER.

The reverse checks on published summaries, written here by hand because no
well-kept Python library does them. Each compares *exact* numbers, read and
rounded by :mod:`thalbook.core.inference.stats` (:func:`~thalbook.core.inference.stats.reported_value`,
:func:`~thalbook.core.inference.stats.round_decimal`), so that a float representation
error never decides a verdict.

Examples
--------
>>> percent_to_counts(68.4, 1, n_max=40)
[(13, 19), (26, 38)]
>>> grim(34.2, 1, 8).consistent, grim(34.2, 1, 8, rounding="half-even").consistent
(False, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from thalbook.core.inference.stats import (
    reported_value,
    round_decimal,
    rounding_window,
    sd_rounds_to,
    short,
    whole_argument,
)
from thalbook.core.vocabulary import Rounding


def percent_to_counts(
    percent, decimals, n=None, n_max=100, rounding: Rounding = Rounding.HALF_UP
) -> list[tuple[int, int]]:
    """Every count k out of n that reproduces a reported percentage.

    Parameters
    ----------
    percent : float or str
        The percentage as printed (68.4 for "68.4%").
    decimals : int
        Number of decimals it was printed with.
    n : int, optional
        The stated denominator; when given, only it is tried.
    n_max : int
        When ``n`` is not stated, try every denominator 1 .. n_max.
    rounding : Rounding
        Or its text (``"half-up"``, ``"half-even"``, ``"truncation"``).

    Returns
    -------
    list of (k, n)
        Pairs with ``round(100 k / n, decimals) == percent``, by n then k.

    Examples
    --------
    >>> percent_to_counts(43.8, 1, n=32), percent_to_counts(68.4, 1, n=32)
    ([(14, 32)], [])
    >>> percent_to_counts(80, 0, n_max=13)
    [(4, 5), (8, 10)]
    """
    rounding = Rounding(rounding)
    target = reported_value("percent_to_counts", percent, decimals)
    if not 0 <= target <= 100:
        raise ValueError(f"percent_to_counts: percent must be between 0 and 100, got {percent!r}")
    if n is None:
        denominators = range(1, whole_argument("percent_to_counts", "n_max", n_max, minimum=1) + 1)
    else:
        denominators = [whole_argument("percent_to_counts", "n", n, minimum=1)]
    low, high = rounding_window(target, decimals, rounding)
    found = []
    for m in denominators:
        for k in range(max(0, math.floor(low * m / 100)), min(m, math.ceil(high * m / 100)) + 1):
            if round_decimal(Fraction(100 * k, m), decimals, rounding) == target:
                found.append((k, m))
    return found


@dataclass(frozen=True)
class Verdict:
    """The outcome of one consistency check on a reported summary.

    Attributes
    ----------
    consistent : bool
        Whether some integer data reproduce the reported numbers.
    rounding : str
        The rounding convention the verdict assumes.
    detail : str
        One sentence saying why, naming the rounding.
    informative : bool
        False when the check cannot fail for this n and precision, so
        ``consistent`` carries no evidence: for GRIM when n >= 10^decimals,
        for GRIMMER when the SD cannot fail once the mean passes GRIM.
    """

    consistent: bool
    rounding: Rounding
    detail: str
    informative: bool = True


def _grim_totals(mean: Decimal, decimals: int, n: int, rounding: Rounding) -> list[int]:
    low, high = rounding_window(mean, decimals, rounding)
    return [
        total
        for total in range(math.floor(low * n), math.ceil(high * n) + 1)
        if round_decimal(Fraction(total, n), decimals, rounding) == mean
    ]


def grim(mean, decimals, n, rounding: Rounding = Rounding.HALF_UP) -> Verdict:
    """GRIM test: can n integer values have this reported mean?

    Brown & Heathers (Soc Psychol Personal Sci 2017;8:363-369): the mean of n
    integers is T/n for an integer total T, so a mean printed to ``decimals``
    places is possible only if round(T/n) equals it for some T. Written by
    hand (no maintained Python implementation); exact fractions throughout.

    Parameters
    ----------
    mean : float or str
        The reported mean as printed.
    decimals : int
        Number of decimals it was printed with.
    n : int
        Number of values behind the mean.
    rounding : Rounding
        Or its text (``"half-up"``, ``"half-even"``, ``"truncation"``).

    Returns
    -------
    Verdict
        Not informative when n >= 10^decimals (every such mean is possible).

    Examples
    --------
    >>> grim(69.5, 1, 8).detail
    'consistent (half-up rounding): total 556 over n = 8 gives 69.5'
    >>> grim(70.03, 2, 10).consistent
    False
    """
    rounding = Rounding(rounding)
    n = whole_argument("grim", "n", n, minimum=1)
    value = reported_value("grim", mean, decimals)
    informative = n < 10 ** int(decimals)
    totals = _grim_totals(value, int(decimals), n, rounding)
    if totals:
        detail = f"consistent ({rounding} rounding): total {totals[0]} over n = {n} gives {value}"
        if not informative:
            detail += (
                f"; uninformative, as every mean to {decimals} decimals is possible with n >= {10**decimals}"
            )
        return Verdict(True, rounding, detail, informative)
    low, high = rounding_window(value, int(decimals), rounding)
    below, above = math.floor(low * n), math.ceil(high * n)
    near = ", ".join(
        f"{t}/{n} = {short(Fraction(t, n))} -> {round_decimal(Fraction(t, n), int(decimals), rounding)}"
        for t in (below, above)
    )
    detail = f"inconsistent ({rounding} rounding): no integer total over n = {n} gives {value} ({near})"
    return Verdict(False, rounding, detail, informative)


def grimmer(mean, sd, mean_decimals, sd_decimals, n, rounding: Rounding = Rounding.HALF_UP) -> Verdict:
    """GRIMMER test: can n integer values have this reported mean and SD?

    Anaya (PeerJ Preprints 2016;4:e2400v1) and Allard (2018): for integer data
    with total T the sum of squares Q is an integer of the same parity as T
    (x^2 and x have the same parity), and the sample SD is
    sqrt((Q - T^2/n) / (n - 1)). The reported SD is possible only if some such
    (T, Q), with T passing GRIM, rounds to it. Written by hand, exact
    throughout. These are necessary conditions: passing GRIMMER does not
    prove that an integer sample exists.

    Parameters
    ----------
    mean, sd : float or str
        The reported mean and sample SD (n - 1 denominator) as printed.
    mean_decimals, sd_decimals : int
        Number of decimals of each as printed.
    n : int
        Number of values, >= 2.
    rounding : Rounding
        Or its text (``"half-up"``, ``"half-even"``, ``"truncation"``).

    Returns
    -------
    Verdict
        Not informative when the SD's rounding window spans more than two
        consecutive sums of squares (both parities), since then any mean
        that passes GRIM passes GRIMMER: the verdict is GRIM's alone.

    Examples
    --------
    >>> grimmer(5.0, 1.0, 1, 1, 3).consistent
    True
    >>> verdict = grimmer(2.0, 0.5, 1, 1, 3)
    >>> verdict.consistent, verdict.detail[:58]
    (False, 'inconsistent (half-up rounding): the mean passes GRIM, but')
    """
    rounding = Rounding(rounding)
    n = whole_argument("grimmer", "n", n, minimum=2)
    m = reported_value("grimmer", mean, mean_decimals)
    s = reported_value("grimmer", sd, sd_decimals)
    if s < 0:
        raise ValueError(f"grimmer: sd must be >= 0, got {sd!r}")
    grim_verdict = grim(m, int(mean_decimals), n, rounding)
    if not grim_verdict.consistent:
        return Verdict(False, rounding, f"{grim_verdict.detail}, whatever the SD", grim_verdict.informative)
    low, high = rounding_window(s, int(sd_decimals), rounding)
    low = max(low, Fraction(0))
    window = (n - 1) * (high**2 - low**2)
    informative = window <= 2
    for total in _grim_totals(m, int(mean_decimals), n, rounding):
        base = Fraction(total**2, n)
        first = math.ceil(base + (n - 1) * low**2)
        first += (first - total) % 2
        for squares in range(first, math.floor(base + (n - 1) * high**2) + 1, 2):
            if sd_rounds_to((squares - base) / (n - 1), s, int(sd_decimals), rounding):
                detail = (
                    f"consistent ({rounding} rounding): total {total} and sum of squares {squares} "
                    f"over n = {n} give {m} and SD {s}"
                )
                if not informative:
                    detail += (
                        "; the SD adds nothing to GRIM (its window admits either parity of sum of squares)"
                    )
                return Verdict(True, rounding, detail, informative)
    detail = (
        f"inconsistent ({rounding} rounding): the mean passes GRIM, but no integer sum of squares "
        f"with n = {n} gives SD {s}"
    )
    return Verdict(False, rounding, detail, informative)
