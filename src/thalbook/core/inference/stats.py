"""Intervals, exact Wilcoxon lattices and the exact rounding of reported numbers.

Where a library computes the thing, this module is a thin, validated wrapper
around it (``statsmodels`` for proportion intervals, ``scipy`` for the t
distribution). Written here by hand, because no well-kept Python library
does it: the exact null distribution of the Wilcoxon signed-rank statistic as
a whole lattice, and the exact reading and rounding of printed numbers that
the reverse checks on published summaries rest on (the lattice match here;
percentage to counts, GRIM and GRIMMER in :mod:`thalbook.core.inference.granularity`).

Every reverse check compares *exact* numbers: a reported value is read as the
decimal it was printed as (``0.0156`` is 156/10000, not the nearest binary
float), candidate values are fractions, and rounding is done on fractions
with the convention named by the caller (a
:class:`~thalbook.core.vocabulary.Rounding`), so that a float representation
error never decides a verdict.

A convention or interval method is checked where a user gives it
(:func:`thalbook.core.parameters.parse`); the public functions here turn text
into its enumeration (``Rounding(text)``), which raises ``ValueError`` for a
value that is none: a mistake of the calling code.

Examples
--------
>>> lo, hi = proportion_ci(8, 10)
>>> round(lo, 4), round(hi, 4)
(0.4902, 0.9433)
>>> wilcoxon_matches(0.0156, 4, range(5, 11))
[(7, 0, 0.015625), (8, 1, 0.015625)]
"""

from __future__ import annotations

import functools
import math
from decimal import Decimal
from fractions import Fraction
from functools import cache
from numbers import Integral, Real

import numpy as np
import pandas as pd

from thalbook.core.vocabulary import BOUNDING_SETS, CiMethod, Rounding

#: Rows of :func:`analysis_sets`: the parameter's sets, the paper's first, then the bounds.
SET_ORDER = ("reported", "itt", "complete-case", *BOUNDING_SETS)

DEFAULT_CORRELATIONS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


# --------------------------------------------------------------------------
# argument checking


# A wrong argument is a mistake of the calling code, not of the user: TypeError
# for a value of the wrong type, ValueError for one out of range.


def whole_argument(func: str, name: str, value, minimum: int = 0) -> int:
    """Return ``value`` as an int if it is a whole number >= ``minimum``, else raise naming ``func`` and ``name``.

    Examples
    --------
    >>> whole_argument("demo", "n", 8.0, minimum=1)
    8
    """
    kind = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{func}: {name} must be {kind}, got {value!r}")
    ok = isinstance(value, Integral)
    if not ok and math.isfinite(value) and float(value).is_integer():
        ok, value = True, int(value)
    if not ok or value < minimum:
        raise ValueError(f"{func}: {name} must be {kind}, got {value!r}")
    return int(value)


def reported_value(func: str, value, decimals) -> Decimal:
    """Read a reported number as the exact decimal it was printed as.

    Parameters
    ----------
    func : str
        Name of the calling function, for the error message.
    value : float, int, str or Decimal
        The number; a float is read through its shortest ``repr``, which is
        the text it was parsed from (``0.0156`` stays ``0.0156``).
    decimals : int
        Number of digits after the decimal point as printed.

    Returns
    -------
    Decimal
        The value with exactly ``decimals`` digits after the point.

    Raises
    ------
    ValueError
        If the value is no finite number or has more digits than ``decimals``.

    Examples
    --------
    >>> reported_value("demo", 80.0, 0), reported_value("demo", 0.0156, 4)
    (Decimal('80'), Decimal('0.0156'))
    """
    decimals = whole_argument(func, "decimals", decimals)
    try:
        exact = Decimal(repr(float(value))) if isinstance(value, Real) else Decimal(str(value))
    except (ArithmeticError, ValueError):
        raise ValueError(f"{func}: {value!r} is not a number") from None
    if not exact.is_finite():
        raise ValueError(f"{func}: {value!r} is not a finite number")
    quantum = Decimal(1).scaleb(-decimals)
    printed = exact.quantize(quantum)
    if printed != exact:
        raise ValueError(f"{func}: {value!r} has more than {decimals} decimals")
    return printed


def round_decimal(value, decimals: int, rounding: Rounding = Rounding.HALF_UP) -> Decimal:
    """Round an exact number to ``decimals`` places by the named convention.

    ``half-up`` rounds a tie away from zero (as ``decimal.ROUND_HALF_UP``),
    ``half-even`` to the even last digit (as ``decimal.ROUND_HALF_EVEN``),
    ``truncation`` drops every digit past the last one printed (toward zero,
    as ``decimal.ROUND_DOWN``; printed numbers are often truncated). The
    value is an exact fraction, so ``9/32 = 0.28125`` is a tie; doing this on a
    binary float would not be exact.

    Parameters
    ----------
    value : int, Fraction or Decimal
        The exact value to round.
    decimals : int
        Digits after the point.
    rounding : Rounding
        Or its text (``"half-up"``, ``"half-even"``, ``"truncation"``).

    Returns
    -------
    Decimal
        The rounded value with exactly ``decimals`` digits after the point.

    Examples
    --------
    >>> from fractions import Fraction
    >>> round_decimal(Fraction(1, 8), 2), round_decimal(Fraction(1, 8), 2, "half-even")
    (Decimal('0.13'), Decimal('0.12'))
    >>> round_decimal(Fraction(21 * 100, 26), 0, "truncation")
    Decimal('80')
    >>> round_decimal(Fraction(-1, 8), 2)
    Decimal('-0.13')
    """
    return _round_exact(value, decimals, Rounding(rounding))


# The audit rounds the same few thousand fractions tens of thousands of times (every n of every
# lattice, in every check); exact Fraction arithmetic is slow enough for that to matter, and the
# result depends on the value alone (equal numbers of different types hash alike).
@functools.lru_cache(maxsize=65536)
def _round_exact(value, decimals: int, rounding: Rounding) -> Decimal:
    scaled = abs(Fraction(value)) * 10**decimals
    whole = math.floor(scaled)
    rest = scaled - whole
    if rounding != "truncation" and (
        rest > Fraction(1, 2) or (rest == Fraction(1, 2) and (rounding == "half-up" or whole % 2))
    ):
        whole += 1
    sign = -1 if value < 0 else 1
    return Decimal(sign * whole).scaleb(-decimals)


def rounding_window(reported: Decimal, decimals: int, rounding: Rounding) -> tuple[Fraction, Fraction]:
    """The closed range of exact values that could round (or truncate) to ``reported``.

    Half a unit either side for half-up and half-even; for truncation the
    unit beyond the printed digits, away from zero. The ends may or may not
    belong: callers decide them by :func:`round_decimal`.

    Examples
    --------
    >>> rounding_window(Decimal("34.2"), 1, "half-up"), rounding_window(Decimal("34.2"), 1, "truncation")
    ((Fraction(683, 20), Fraction(137, 4)), (Fraction(171, 5), Fraction(343, 10)))
    """
    unit = Fraction(1, 10**decimals)
    centre = Fraction(reported)
    if rounding != "truncation":
        return centre - unit / 2, centre + unit / 2
    return (centre, centre + unit) if centre >= 0 else (centre - unit, centre)


def sd_rounds_to(variance: Fraction, sd: Decimal, decimals: int, rounding: Rounding) -> bool:
    """Whether sqrt(variance), rounded, equals ``sd``, decided without a square root.

    Examples
    --------
    >>> sd_rounds_to(Fraction(449, 1), Decimal("21.2"), 1, "half-up")  # sqrt(449) = 21.19
    True
    """
    low, high = rounding_window(sd, decimals, rounding)
    low = max(low, Fraction(0))
    if low**2 < variance < high**2:
        return True
    for edge in (low, high):
        if variance == edge**2:
            return round_decimal(edge, decimals, rounding) == sd
    return False


def places(value: Decimal) -> int:
    """Digits after the point of an exact reported value.

    Examples
    --------
    >>> places(Decimal("0.0156")), places(Decimal("80"))
    (4, 0)
    """
    return max(0, -value.as_tuple().exponent)


def short(value, digits: int = 4) -> str:
    """A number as a short decimal, for verdict texts only (never computed with).

    Examples
    --------
    >>> short(Fraction(1, 3)), short(Fraction(2, 8), 6), short(-0.00001)
    ('0.3333', '0.25', '0')
    """
    text = f"{float(value):.{digits}f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


# --------------------------------------------------------------------------
# intervals


def proportion_ci(k, n, ci_method: CiMethod = CiMethod.WILSON, confidence_level: float = 0.95) -> tuple[float, float]:
    """Two-sided confidence interval for a single binomial proportion k/n.

    A validated wrapper around ``statsmodels.stats.proportion.proportion_confint``
    (``clopper-pearson`` is its ``beta``). Limits are clipped to [0, 1], and the
    lower limit is 0 when k = 0 and the upper limit 1 when k = n: exact for the
    Wilson, Clopper-Pearson and (clipped) Agresti-Coull intervals, and the
    boundary modification of the Jeffreys interval recommended by Brown, Cai &
    DasGupta (Statistical Science 2001;16:101-133, section 4.1.2).

    Parameters
    ----------
    k : int
        Number of events, 0 <= k <= n.
    n : int
        Number of trials, > 0.
    ci_method : CiMethod
        Or its text (``"wilson"``, ``"clopper-pearson"``, ``"jeffreys"``, ``"agresti-coull"``).
    confidence_level : float
        Strictly between 0 and 1.

    Returns
    -------
    tuple of float
        ``(low, high)`` as proportions (not percent).

    Raises
    ------
    TypeError, ValueError
        If an argument is of the wrong type or out of range; the message names it.

    Examples
    --------
    >>> [round(x, 4) for x in proportion_ci(81, 263)]
    [0.2553, 0.3662]
    >>> [round(x, 4) for x in proportion_ci(0, 20, "clopper-pearson")]
    [0.0, 0.1684]
    """
    n = whole_argument("proportion_ci", "n", n, minimum=1)
    k = whole_argument("proportion_ci", "k", k)
    if k > n:
        raise ValueError(f"proportion_ci: k must be <= n, got k={k}, n={n}")
    if isinstance(confidence_level, bool) or not isinstance(confidence_level, Real):
        raise TypeError(f"proportion_ci: confidence_level must be between 0 and 1, got {confidence_level!r}")
    if not 0 < confidence_level < 1:
        raise ValueError(f"proportion_ci: confidence_level must be between 0 and 1, got {confidence_level!r}")
    # Imported here: the audit never needs statsmodels, and a kernel that runs
    # only the audit starts faster without it.
    from statsmodels.stats.proportion import proportion_confint

    low, high = proportion_confint(k, n, alpha=1 - confidence_level,
                                  method=CiMethod(ci_method).statsmodels)
    low = 0.0 if k == 0 else min(max(float(low), 0.0), 1.0)
    high = 1.0 if k == n else min(max(float(high), 0.0), 1.0)
    return low, high


# --------------------------------------------------------------------------
# exact Wilcoxon signed-rank lattice


@cache
def _signed_rank_counts(n: int) -> tuple[int, ...]:
    """Number of sign patterns of ranks 1..n whose positive ranks sum to w, for each w."""
    counts = [1]
    for rank in range(1, n + 1):
        padded = counts + [0] * rank
        counts = [a + b for a, b in zip(padded, [0] * rank + counts, strict=True)]
    return tuple(counts)


def wilcoxon_exact_fractions(n: int) -> dict[int, Fraction]:
    """The exact two-sided p of each W with n untied non-zero pairs, as fractions (see :func:`wilcoxon_pvalues`).

    Examples
    --------
    >>> wilcoxon_exact_fractions(8)[1]
    Fraction(1, 64)
    """
    counts = _signed_rank_counts(n)
    pvalues, cumulative = {}, 0
    for w in range(n * (n + 1) // 4 + 1):
        cumulative += counts[w]
        pvalues[w] = min(Fraction(1), Fraction(2 * cumulative, 2**n))
    return pvalues


def wilcoxon_pvalues(n) -> dict[int, float]:
    """Every exact two-sided p-value of the Wilcoxon signed-rank test with n pairs.

    Written by hand because scipy computes the exact distribution only
    privately, one p-value at a time. ``W = min(W+, W-)``, the smaller of the
    sums of positive and of negative ranks (the statistic scipy reports), and
    ``p = min(1, 2 P(W+ <= W))`` under the null, where each of the 2^n sign
    patterns of the ranks is equally likely. The counts come from the
    generating function prod_{r=1..n} (1 + x^r).

    Assumes n non-zero differences without ties (scipy drops zeros by default
    and does not use this distribution with ties), so n is the number of
    pairs with a non-zero change.

    Parameters
    ----------
    n : int
        Number of non-zero paired differences, >= 1.

    Returns
    -------
    dict of int to float
        ``W -> p`` for W = 0 .. floor(n(n+1)/4); each p is a multiple of 2^-n.

    Examples
    --------
    >>> p = wilcoxon_pvalues(8)
    >>> p[0], p[1], p[5]
    (0.0078125, 0.015625, 0.078125)
    """
    n = whole_argument("wilcoxon_pvalues", "n", n, minimum=1)
    return {w: float(p) for w, p in wilcoxon_exact_fractions(n).items()}


def wilcoxon_matches(p, decimals, n_values, rounding: Rounding = Rounding.HALF_UP) -> list[tuple[int, int, float]]:
    """Every (n, W) whose exact Wilcoxon p-value rounds to a reported p.

    Parameters
    ----------
    p : float or str
        The reported two-sided p-value as printed.
    decimals : int
        Number of decimals it was printed with.
    n_values : iterable of int
        Numbers of pairs to try (non-zero, untied differences; see
        :func:`wilcoxon_pvalues`).
    rounding : Rounding
        Or its text (``"half-up"``, ``"half-even"``, ``"truncation"``).

    Returns
    -------
    list of (n, W, p_exact)
        In increasing n, then W; empty if no lattice point reproduces p.

    Examples
    --------
    >>> wilcoxon_matches(0.0156, 4, range(5, 11))
    [(7, 0, 0.015625), (8, 1, 0.015625)]
    >>> wilcoxon_matches(0.007, 3, range(1, 11))
    []
    """
    rounding = Rounding(rounding)
    target = reported_value("wilcoxon_matches", p, decimals)
    if not 0 <= target <= 1:
        raise ValueError(f"wilcoxon_matches: p must be between 0 and 1, got {p!r}")
    found = []
    for n in sorted({whole_argument("wilcoxon_matches", "n_values", v, minimum=1) for v in n_values}):
        for w, exact in wilcoxon_exact_fractions(n).items():
            if round_decimal(exact, decimals, rounding) == target:
                found.append((n, w, float(exact)))
    return found


# --------------------------------------------------------------------------
# paired comparisons and analysis sets


def paired_t_bounds(
    mean_before, sd_before, mean_after, sd_after, n, correlations=DEFAULT_CORRELATIONS
) -> pd.DataFrame:
    """Paired t-test bounds when only before and after mean +- SD are reported.

    The SD of the change is sqrt(sd_b^2 + sd_a^2 - 2 r sd_b sd_a) for an
    assumed correlation r between before and after values, which the papers do
    not report; t = (mean_after - mean_before) / (sd_change / sqrt(n)) and the
    two-sided p uses ``scipy.stats.t`` with n - 1 degrees of freedom. (scipy
    and statsmodels test paired data only from raw values, so the t statistic
    from summaries is computed here.)

    Parameters
    ----------
    mean_before, sd_before, mean_after, sd_after : float
        Reported summaries (SD with n - 1 denominator).
    n : int
        Number of pairs, >= 2.
    correlations : sequence of float
        Assumed correlations, each in [-1, 1].

    Returns
    -------
    pandas.DataFrame
        Columns ``correlation, sd_change, t, p``, one row per correlation.
        A zero ``sd_change`` gives an infinite t and p = 0.

    Examples
    --------
    >>> paired_t_bounds(4.97, 2.33, 3.1, 2.08, 8, correlations=[0.0, 0.8]).round(4)
       correlation  sd_change       t       p
    0          0.0     3.1233 -1.6934  0.1342
    1          0.8     1.4146 -3.7390  0.0073
    """
    n = whole_argument("paired_t_bounds", "n", n, minimum=2)
    for name, value in (("sd_before", sd_before), ("sd_after", sd_after)):
        if not isinstance(value, Real):
            raise TypeError(f"paired_t_bounds: {name} must be a number >= 0, got {value!r}")
        if not value >= 0:
            raise ValueError(f"paired_t_bounds: {name} must be a number >= 0, got {value!r}")
    r = np.asarray(correlations, dtype=float)
    if r.ndim != 1 or r.size == 0 or np.any(~np.isfinite(r)) or np.any(np.abs(r) > 1):
        raise ValueError(f"paired_t_bounds: correlations must be numbers in [-1, 1], got {correlations!r}")
    variance = sd_before**2 + sd_after**2 - 2 * r * sd_before * sd_after
    # rounding can leave -1e-17 where the exact variance is 0
    sd_change = np.sqrt(np.clip(variance, 0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (mean_after - mean_before) / (sd_change / math.sqrt(n))
    from scipy import stats as scipy_stats  # imported here for the same reason as in proportion_ci

    p = 2 * scipy_stats.t.sf(np.abs(t), df=n - 1)
    return pd.DataFrame({"correlation": r, "sd_change": sd_change, "t": t, "p": p})


def adjusted_pvalues(pvalues, alpha: float = 0.05) -> pd.DataFrame:
    """The p-values adjusted for multiplicity by Holm and by Bonferroni (statsmodels ``multipletests``).

    Parameters
    ----------
    pvalues : sequence of float
        The p-values of one family of tests, as reported.
    alpha : float
        The family-wise error rate.

    Returns
    -------
    pandas.DataFrame
        ``p``, ``holm``, ``holm_reject``, ``bonferroni``, ``bonferroni_reject``, in the input order.

    Examples
    --------
    >>> adjusted_pvalues([0.01, 0.04, 0.03])[["holm", "holm_reject"]].round(2).values.tolist()
    [[0.03, True], [0.06, False], [0.06, False]]
    """
    from statsmodels.stats.multitest import multipletests  # heavy import, only for this

    p = np.asarray(pvalues, dtype=float)
    out = pd.DataFrame({"p": p})
    for method in ("holm", "bonferroni"):
        reject, corrected, _, _ = multipletests(p, alpha=alpha, method=method)
        out[method], out[f"{method}_reject"] = corrected, reject
    return out


def analysis_sets(count, denominator_reported, enrolled, assessed) -> pd.DataFrame:
    """A binary outcome under each analysis set, from what the paper reports.

    Parameters
    ----------
    count : int
        Number of responders among the patients assessed.
    denominator_reported : int
        The denominator the paper used.
    enrolled : int
        Patients enrolled (the intention-to-treat set).
    assessed : int
        Patients whose outcome is known (the rest are missing).

    Returns
    -------
    pandas.DataFrame
        Indexed by analysis set (:data:`SET_ORDER`), columns ``k, n,
        proportion``: ``reported`` (count / denominator_reported), ``itt``
        (missing counted as non-response), ``complete-case`` (count /
        assessed), ``best-case`` (every missing patient a responder) and
        ``worst-case`` (none; the same numbers as ``itt``).

    Examples
    --------
    >>> analysis_sets(8, 10, 13, 8)
                    k   n  proportion
    reported        8  10    0.800000
    itt             8  13    0.615385
    complete-case   8   8    1.000000
    best-case      13  13    1.000000
    worst-case      8  13    0.615385
    """
    count = whole_argument("analysis_sets", "count", count)
    reported = whole_argument("analysis_sets", "denominator_reported", denominator_reported, minimum=1)
    enrolled = whole_argument("analysis_sets", "enrolled", enrolled, minimum=1)
    assessed = whole_argument("analysis_sets", "assessed", assessed, minimum=1)
    if not count <= assessed <= enrolled:
        raise ValueError(
            f"analysis_sets: need count <= assessed <= enrolled, got count={count}, "
            f"assessed={assessed}, enrolled={enrolled}"
        )
    if count > reported:
        raise ValueError(f"analysis_sets: count {count} exceeds denominator_reported {reported}")
    missing = enrolled - assessed
    rows = {
        "reported": (count, reported),
        "itt": (count, enrolled),
        "complete-case": (count, assessed),
        "best-case": (count + missing, enrolled),
        "worst-case": (count, enrolled),
    }
    table = pd.DataFrame.from_dict(rows, orient="index", columns=["k", "n"])
    table["proportion"] = table["k"] / table["n"]
    return table
