"""Which test, with which n and statistic, reproduces a printed p-value of a paired comparison.

A paper that reports "p = 0.0156" for a paired comparison rarely says more
than the name of the test. This module runs the question backwards: for each
candidate method (:data:`METHODS`), every number of pairs n the caller allows
and every value of the test statistic, it computes the p-value the method
gives and keeps those that round (by a named convention, see
:func:`thalbook.core.inference.stats.round_decimal`) to the printed p. It then asks
whether one method explains every p of a visit, or of a paper.

What is hand-written and why: scipy computes a p-value *from data*
(``scipy.stats.wilcoxon``, ``scipy.stats.ttest_rel``); no library lists the
set of (n, statistic) that give a printed p, nor the interval of the unknown
baseline/follow-up correlation that gives it from mean +- SD. So the
enumerations are written here, each p computed the way scipy 1.17 computes
it (the tests compare every method with scipy on constructed data):

* ``exact``: the exact signed-rank lattice of :func:`thalbook.core.inference.stats.wilcoxon_pvalues`.
* ``normal`` and ``normal-cc``: z = (W - n(n+1)/4) / sqrt(n(n+1)(2n+1)/24),
  p = 2 Phi(-|z|), with |z| shortened by 0.5/sd for ``normal-cc``; this is
  ``scipy.stats.wilcoxon(d, method="asymptotic", correction=...)`` for n
  non-zero untied differences (``method="approx"`` is an alias).
* ``exact-ties``: the exhaustive permutation p-value that
  ``scipy.stats.wilcoxon(d)`` (``method="auto"``) returns when the n
  non-zero differences contain exactly ONE pair of tied absolute values,
  at ranks k and k+1 (both get the midrank k + 1/2), for every k = 1 .. n-1
  and every attainable W (integer or half-integer), and len(d), zeros
  included, is at most :data:`PERMUTATION_MAX_N`. The tie's position
  changes the null distribution, so rows name the positions that give p.
  This is the only tie pattern tried.
* ``paired-t``: the paired t-test from before and after mean +- SD, over the
  correlation r in [-1, 1] (p is monotone in r).

What scipy 1.17 does with ties and zeros (read from ``scipy/stats/_wilcoxon.py``
and checked in the tests; it emits no warning in any of these cases):

* Zeros: the default ``zero_method="wilcox"`` drops them before ranking, so
  n is the number of non-zero differences. With zeros but no ties the
  permutation test of ``method="auto"`` has the same null distribution as the
  untied exact test on the non-zero differences: zeros add nothing beyond a
  smaller n, covered by ``exact`` with that n.
* ``method="auto"``: len(d) > 50 (zeros included) gives the normal
  approximation; otherwise with no ties and no zeros the exact test; with ties
  or zeros and len(d) <= 13 an exhaustive permutation test (2^len(d) sign
  flips, with midranks); with ties or zeros and 13 < len(d) <= 50 the normal
  approximation with the tie-corrected variance
  (n(n+1)(2n+1) - sum(t^3 - t)/2) / 24 and the ``correction`` given (False by
  default).
* ``method="exact"`` with ties: the untied null distribution of the non-zero
  count, the midrank statistic rounded conservatively to an integer (up for
  the lower tail, down for the upper), so its p-values are lattice values,
  covered by ``exact``.
* ``method="asymptotic"`` with ties: the tie-corrected variance above.

Not covered: two or more tied groups, groups of three or more equal
absolute differences, ties with more than :data:`PERMUTATION_MAX_N`
differences (scipy's tie-corrected normal approximation), and the ``pratt``
and ``zsplit`` zero methods.

Examples
--------
>>> reproducing("0.078", 3, [8], methods=["exact"])[["method", "n", "statistic", "p_method"]]
  method  n  statistic  p_method
0  exact  8        5.0  0.078125
>>> reproducing("0.007", 3, range(8, 11), methods=["exact", "normal"])[["method", "n", "statistic"]]
   method   n  statistic
0  normal  10        1.0
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from decimal import Decimal
from fractions import Fraction
from functools import cache
from numbers import Integral, Real

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.special import ndtr

from thalbook.core.inference import stats
from thalbook.core.vocabulary import Rounding

#: Candidate methods, in the order tables list them.
METHODS = ("exact", "exact-ties", "normal", "normal-cc", "paired-t")
#: Their reader-facing names.
METHOD_LABELS = {
    "exact": "exact signed-rank test (no ties, zero differences dropped)",
    "exact-ties": "signed-rank permutation test with one pair of tied differences (scipy's default)",
    "normal": "signed-rank normal approximation without continuity correction",
    "normal-cc": "signed-rank normal approximation with continuity correction",
    "paired-t": "paired t-test from mean ± SD, correlation unknown",
}
#: Largest number of differences for which scipy's ``method="auto"`` runs the permutation test with ties.
PERMUTATION_MAX_N = 13
#: Keys of a ``summaries`` mapping (paired-t).
SUMMARY_KEYS = ("mean_before", "sd_before", "mean_after", "sd_after")
#: Name of the row of :func:`common_methods` that pools every group.
OVERALL = "all"

_COLUMNS = ["method", "n", "statistic", "p_method", "r_low", "r_high", "detail", "rounding"]
_WILCOXON = ("exact", "exact-ties", "normal", "normal-cc")


# --------------------------------------------------------------------------
# argument checking (ValueError naming the function and the argument)


def _whole(func: str, name: str, value, minimum: int) -> int:
    ok = isinstance(value, Integral) and not isinstance(value, bool)
    if not ok and isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value):
        ok = float(value).is_integer()
    if not ok or value < minimum:
        raise ValueError(f"{func}: {name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _n_values(func: str, n_values) -> list[int]:
    if isinstance(n_values, Real) and not isinstance(n_values, bool):
        n_values = [n_values]
    if isinstance(n_values, str | bytes) or not isinstance(n_values, Iterable):
        raise ValueError(f"{func}: n_values must be integers >= 1, got {n_values!r}")
    values = sorted({_whole(func, "n_values", v, 1) for v in n_values})
    if not values:
        raise ValueError(f"{func}: n_values must name at least one n")
    return values


def _target(func: str, p, decimals) -> tuple[Decimal, int]:
    decimals = _whole(func, "decimals", decimals, 0)
    try:
        target = stats.reported_value(func, p, decimals)
    except TypeError:
        raise ValueError(f"{func}: p must be a number, got {p!r}") from None
    if not 0 <= target <= 1:
        raise ValueError(f"{func}: p must be between 0 and 1, got {p!r}")
    return target, decimals


def _methods(func: str, methods) -> list[str]:
    chosen = [methods] if isinstance(methods, str) else list(methods)
    unknown = [m for m in chosen if m not in METHODS]
    if unknown or not chosen:
        raise ValueError(f"{func}: methods must be among {', '.join(METHODS)}, got {methods!r}")
    return [m for m in METHODS if m in chosen]


def _summaries(func: str, summaries) -> dict[str, float] | None:
    # a table column of summaries holds None or NaN where a paper printed no mean +- SD
    if summaries is None or (isinstance(summaries, float) and math.isnan(summaries)):
        return None
    if not isinstance(summaries, Mapping) or set(summaries) != set(SUMMARY_KEYS):
        raise ValueError(f"{func}: summaries must map exactly {', '.join(SUMMARY_KEYS)}, got {summaries!r}")
    values = {}
    for key in SUMMARY_KEYS:
        value = summaries[key]
        if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
            raise ValueError(f"{func}: summaries[{key!r}] must be a finite number, got {value!r}")
        if key.startswith("sd") and value < 0:
            raise ValueError(f"{func}: summaries[{key!r}] must be >= 0, got {value!r}")
        values[key] = float(value)
    return values


def _runs(values: list[int]) -> str:
    """Sorted integers as runs, ``[2, 3, 4, 7]`` -> ``"2-4, 7"`` (tie positions in a detail text)."""
    runs: list[list[int]] = []
    for v in values:
        if runs and v == runs[-1][-1] + 1:
            runs[-1].append(v)
        else:
            runs.append([v])
    return ", ".join(str(r[0]) if len(r) == 1 else f"{r[0]}-{r[-1]}" for r in runs)


def _rounds_to(p, target: Decimal, decimals: int, rounding: Rounding) -> bool:
    # A float p is rounded as the exact binary fraction it is, never re-parsed from text.
    return stats.round_decimal(Fraction(p), decimals, rounding) == target


# --------------------------------------------------------------------------
# the p-values of each signed-rank method


def smallest_exact_p(n) -> float:
    """Smallest two-sided p-value the exact signed-rank test can give with n pairs.

    All n differences of one sign (W = 0): p = 2 / 2^n. With ties the
    permutation test cannot go lower either, since each sign pattern has
    probability 2^-n.

    Parameters
    ----------
    n : int
        Number of non-zero differences, >= 1.

    Returns
    -------
    float
        ``min(1, 2 / 2**n)``.

    Examples
    --------
    >>> smallest_exact_p(8), smallest_exact_p(10)
    (0.0078125, 0.001953125)
    """
    n = _whole("smallest_exact_p", "n", n, 1)
    return float(min(Fraction(1), Fraction(2, 2**n)))


def _normal_p(n: int, w: float, correction: bool) -> float:
    """Two-sided p of the signed-rank normal approximation, computed as scipy computes it."""
    mean = n * (n + 1) / 4
    sd = math.sqrt(n * (n + 1) * (2 * n + 1) / 24)
    z = (w - mean) / sd
    if correction:
        # scipy subtracts sign(z) * 0.5 / sd: the continuity correction moves W half a unit toward the mean
        z -= np.sign(z) * 0.5 / sd
    return float(2 * ndtr(-abs(z)))


@cache
def _tied_counts(n: int, k: int) -> tuple[int, ...]:
    """Sign patterns by twice their positive rank sum, ranks k and k+1 tied at k + 1/2.

    Doubling the ranks keeps every midrank sum an integer.
    """
    doubled = [2 * r for r in range(1, n + 1) if r not in (k, k + 1)] + [2 * k + 1, 2 * k + 1]
    counts = [1] + [0] * (n * (n + 1))
    for rank in doubled:
        counts = [c + (counts[s - rank] if s >= rank else 0) for s, c in enumerate(counts)]
    return tuple(counts)


@cache
def _tied_lattice(n: int) -> tuple[tuple[Fraction, int, Fraction], ...]:
    """(W, k, p) for every attainable W <= mean with ranks k, k+1 tied, as scipy's permutation test gives p."""
    rows = []
    for k in range(1, n):
        counts, cumulative = _tied_counts(n, k), 0
        for s in range(n * (n + 1) // 2 + 1):
            cumulative += counts[s]
            if counts[s]:
                # the null is symmetric, so 2 min(P(T <= t), P(T >= t)) is 2 P(T <= W) for W = min(W+, W-)
                rows.append((Fraction(s, 2), k, min(Fraction(1), Fraction(2 * cumulative, 2**n))))
    return tuple(rows)


def lattice(method: str, n) -> pd.DataFrame:
    """Every two-sided p-value a signed-rank method gives with n non-zero differences.

    Parameters
    ----------
    method : {"exact", "exact-ties", "normal", "normal-cc"}
    n : int
        Number of non-zero differences, >= 1 (>= 2 and <= :data:`PERMUTATION_MAX_N` for ``exact-ties``).

    Returns
    -------
    pandas.DataFrame
        Columns ``statistic`` (W = min(W+, W-), the statistic scipy reports),
        ``tied`` (for ``exact-ties`` the lower of the two tied ranks, else 0)
        and ``p``; W runs over 0 .. n(n+1)/4, in steps of 1/2 for
        ``exact-ties`` (only attainable values).

    Examples
    --------
    >>> lattice("normal", 4).round(4)
       statistic  tied       p
    0        0.0     0  0.0679
    1        1.0     0  0.1441
    2        2.0     0  0.2733
    3        3.0     0  0.4652
    4        4.0     0  0.7150
    5        5.0     0  1.0000
    >>> lattice("exact-ties", 3)
       statistic  tied     p
    0        0.0     1  0.25
    1        1.5     1  0.75
    2        3.0     1  1.00
    3        0.0     2  0.25
    4        1.0     2  0.50
    5        2.5     2  1.00
    """
    if method not in _WILCOXON:
        raise ValueError(f"lattice: method must be one of {', '.join(_WILCOXON)}, got {method!r}")
    n = _whole("lattice", "n", n, 2 if method == "exact-ties" else 1)
    if method == "exact-ties":
        if n > PERMUTATION_MAX_N:
            raise ValueError(f"lattice: n must be <= {PERMUTATION_MAX_N} for exact-ties, got {n}")
        rows = [(float(w), k, float(p)) for w, k, p in _tied_lattice(n)]
    elif method == "exact":
        rows = [(float(w), 0, p) for w, p in stats.wilcoxon_pvalues(n).items()]
    else:
        rows = [(float(w), 0, _normal_p(n, w, method == "normal-cc")) for w in range(n * (n + 1) // 4 + 1)]
    return pd.DataFrame(rows, columns=["statistic", "tied", "p"])


# --------------------------------------------------------------------------
# paired t from summaries


def _paired_t_interval(target, decimals, rounding, n, s) -> tuple[float, float] | None:
    """The interval of correlations r in [-1, 1] whose paired-t p rounds to ``target``, or None.

    p falls as r rises (the SD of the change shrinks), so the set is one
    interval; its ends are where p crosses the ends of the rounding bucket.
    """

    def p_of(r: float) -> float:
        table = stats.paired_t_bounds(s["mean_before"], s["sd_before"], s["mean_after"], s["sd_after"], n, [r])
        p = float(table["p"].iloc[0])
        # equal means and zero SD of the change: 0/0; no change at all, so no evidence
        return 1.0 if math.isnan(p) else p

    unit = Fraction(1, 10**decimals)
    low, high = (Fraction(target), Fraction(target) + unit)
    if rounding != "truncation":
        low, high = low - unit / 2, high - unit / 2
    top, bottom = p_of(-1.0), p_of(1.0)
    inside = [_rounds_to(p, target, decimals, rounding) for p in (top, bottom)]
    if not inside[0] and top < low or not inside[1] and bottom > high:
        return None
    r_low = -1.0 if inside[0] else brentq(lambda r: p_of(r) - float(high), -1.0, 1.0, xtol=1e-12)
    r_high = 1.0 if inside[1] else brentq(lambda r: p_of(r) - float(low), -1.0, 1.0, xtol=1e-12)
    if r_low > r_high or not _rounds_to(p_of((r_low + r_high) / 2), target, decimals, rounding):
        return None
    return r_low, r_high


# --------------------------------------------------------------------------
# public API


def reproducing(p, decimals, n_values, *, rounding="half-up", summaries=None, methods=METHODS) -> pd.DataFrame:
    """Every method, n and statistic whose two-sided p-value rounds to a printed p.

    Parameters
    ----------
    p : str or float
        The p-value as printed (a string keeps trailing zeros).
    decimals : int
        Digits after the point as printed.
    n_values : int or iterable of int
        Numbers of pairs to try: for the signed-rank methods, the number of
        non-zero differences (zeros are dropped, so any n up to the number of
        patients); for ``paired-t`` the number of pairs (n >= 2).
    rounding : Rounding
    summaries : mapping, optional
        ``mean_before, sd_before, mean_after, sd_after`` (SD with n - 1
        denominator); without it ``paired-t`` is not tried.
    methods : iterable of str
        Subset of :data:`METHODS` to try.

    Returns
    -------
    pandas.DataFrame
        One row per reproducing (method, n, statistic), columns ``method, n,
        statistic, p_method, r_low, r_high, detail, rounding``. ``statistic``
        is W = min(W+, W-) for the signed-rank methods (a half-integer is a
        midrank sum) and NaN for ``paired-t``, whose ``r_low, r_high`` bound
        the baseline/follow-up correlations that reproduce p. ``exact-ties``
        rows pool the tie positions that give the same p; ``detail`` names them.

    Raises
    ------
    ValueError
        If an argument is out of range or of the wrong type; the message names it.

    Examples
    --------
    >>> reproducing("0.0156", 4, [8], methods=["exact", "exact-ties"])[["method", "statistic", "detail"]]
           method  statistic                                   detail
    0       exact        1.0                                    W = 1
    1  exact-ties        1.0  W = 1, ranks k and k+1 tied for k = 2-7
    >>> s = dict(mean_before=5.39, sd_before=2.33, mean_after=3.78, sd_after=1.67)
    >>> reproducing("0.007", 3, [9], methods=["paired-t"], summaries=s)[["r_low", "r_high"]].round(3)
       r_low  r_high
    0  0.818   0.831
    """
    func = "reproducing"
    target, decimals = _target(func, p, decimals)
    rounding = Rounding(rounding)
    ns = _n_values(func, n_values)
    chosen = _methods(func, methods)
    s = _summaries(func, summaries)
    rows = []
    if "exact" in chosen:
        for n, w, exact in stats.wilcoxon_matches(target, decimals, ns, rounding):
            rows.append(("exact", n, float(w), exact, np.nan, np.nan, f"W = {w}"))
    if "exact-ties" in chosen:
        for n in (n for n in ns if 2 <= n <= PERMUTATION_MAX_N):
            found: dict[tuple[Fraction, Fraction], list[int]] = {}
            for w, k, exact in _tied_lattice(n):
                if stats.round_decimal(exact, decimals, rounding) == target:
                    found.setdefault((w, exact), []).append(k)
            for (w, exact), ks in sorted(found.items()):
                rows.append(("exact-ties", n, float(w), float(exact), np.nan, np.nan,
                             f"W = {stats.short(w, 1)}, ranks k and k+1 tied for k = {_runs(ks)}"))
    for method in ("normal", "normal-cc"):
        if method in chosen:
            for n in ns:
                for w in range(n * (n + 1) // 4 + 1):
                    value = _normal_p(n, w, method == "normal-cc")
                    if _rounds_to(value, target, decimals, rounding):
                        rows.append((method, n, float(w), value, np.nan, np.nan, f"W = {w}"))
    if "paired-t" in chosen and s is not None:
        for n in (n for n in ns if n >= 2):
            interval = _paired_t_interval(target, decimals, rounding, n, s)
            if interval is not None:
                r_low, r_high = interval
                rows.append(("paired-t", n, np.nan, np.nan, r_low, r_high,
                             f"r from {r_low:.3f} to {r_high:.3f}"))
    table = pd.DataFrame([(*row, rounding) for row in rows], columns=_COLUMNS)
    return table.astype({"n": int, "statistic": float, "p_method": float, "r_low": float, "r_high": float})


def method_table(reported: pd.DataFrame, roundings=tuple(Rounding), methods=METHODS) -> pd.DataFrame:
    """For each printed p and rounding convention, which methods reproduce it and with which n.

    Parameters
    ----------
    reported : pandas.DataFrame
        One row per printed p: ``id``, ``group`` (e.g. the visit), ``p`` (as
        printed; text keeps trailing zeros), ``n_values`` (an int or an
        iterable of ints), optionally ``decimals`` (else read from the text of
        ``p``) and ``summaries`` (a mapping for ``paired-t``, or None).
    roundings : iterable of str
        Conventions to try (:class:`~thalbook.core.vocabulary.Rounding`, or their text).
    methods : iterable of str
        Subset of :data:`METHODS`.

    Returns
    -------
    pandas.DataFrame
        One row per (printed p, rounding, method): ``id, group, p, rounding,
        method, applicable`` (False for ``paired-t`` without summaries),
        ``reproduces``, ``n`` (tuple of the n that reproduce p) and ``detail``
        (``n = 8: W = 1; ...``, empty if none).

    Examples
    --------
    >>> reported = pd.DataFrame({"id": ["crp"], "group": ["week 24"], "p": ["0.078"], "n_values": [8]})
    >>> table = method_table(reported, roundings=["half-up"])
    >>> table[["method", "applicable", "reproduces", "n"]]
           method  applicable  reproduces     n
    0       exact        True        True  (8,)
    1  exact-ties        True        True  (8,)
    2      normal        True       False    ()
    3   normal-cc        True       False    ()
    4    paired-t       False       False    ()
    >>> table["detail"][1]
    'n = 8: W = 5, ranks k and k+1 tied for k = 2, 6-7'
    """
    func = "method_table"
    if not isinstance(reported, pd.DataFrame):
        raise ValueError(f"method_table: reported must be a pandas DataFrame, got {type(reported).__name__}")
    missing = [c for c in ("id", "group", "p", "n_values") if c not in reported.columns]
    if missing:
        raise ValueError(f"method_table: reported lacks the columns {', '.join(missing)}")
    roundings = [Rounding(r) for r in ([roundings] if isinstance(roundings, str) else roundings)]
    chosen = _methods(func, methods)
    rows = []
    for record in reported.to_dict("records"):
        decimals = record.get("decimals")
        if decimals is None or (isinstance(decimals, Real) and math.isnan(decimals)):
            try:
                decimals = stats.places(Decimal(str(record["p"])))
            except ArithmeticError:
                raise ValueError(f"method_table: p of {record['id']!r} is not a number: {record['p']!r}") from None
        summaries = record.get("summaries")
        for rounding in roundings:
            found = reproducing(record["p"], decimals, record["n_values"], rounding=rounding,
                                summaries=summaries, methods=chosen)
            for method in chosen:
                hits = found[found["method"] == method]
                applicable = method != "paired-t" or _summaries(func, summaries) is not None
                details = [f"n = {n}: {'; '.join(dict.fromkeys(group['detail']))}"
                           for n, group in hits.groupby("n", sort=True)]
                rows.append((record["id"], record["group"], record["p"], rounding, method, applicable,
                             not hits.empty, tuple(sorted(set(hits["n"].tolist()))), " | ".join(details)))
    columns = ["id", "group", "p", "rounding", "method", "applicable", "reproduces", "n", "detail"]
    return pd.DataFrame(rows, columns=columns)


def common_methods(table: pd.DataFrame, by: str = "group") -> pd.DataFrame:
    """Per group and overall, the methods that reproduce every printed p of the group.

    Parameters
    ----------
    table : pandas.DataFrame
        The output of :func:`method_table` (columns ``id``, ``by``,
        ``rounding``, ``method``, ``reproduces``, ``n``).
    by : str
        The column that groups the printed p-values (e.g. the visit).

    Returns
    -------
    pandas.DataFrame
        One row per group (in order of appearance, then :data:`OVERALL`) and
        rounding: ``p_values`` (how many printed p), ``methods`` (tuple of the
        methods, in :data:`METHODS` order, that reproduce every one of them,
        each with its own n; empty = none) and ``same_n`` (tuple of
        ``"method n=..."`` for those methods that do it with one n common to
        every p of the group, listing the common n). For ``paired-t`` each p
        keeps its own correlation interval: outcomes need not share r.

    Examples
    --------
    >>> t = pd.DataFrame({"id": ["a", "a", "b", "b"], "group": ["w8", "w8", "w24", "w24"],
    ...                   "rounding": ["half-up"] * 4, "method": ["exact", "normal"] * 2,
    ...                   "reproduces": [True, True, True, False], "n": [(8, 9), (10,), (9,), ()]})
    >>> common_methods(t)
      group rounding  p_values          methods                      same_n
    0    w8  half-up         1  (exact, normal)  (exact n=8,9, normal n=10)
    1   w24  half-up         1         (exact,)                (exact n=9,)
    2   all  half-up         2         (exact,)                (exact n=9,)
    """
    if not isinstance(table, pd.DataFrame):
        raise ValueError(f"common_methods: table must be a pandas DataFrame, got {type(table).__name__}")
    missing = [c for c in ("id", by, "rounding", "method", "reproduces", "n") if c not in table.columns]
    if missing:
        raise ValueError(f"common_methods: table lacks the columns {', '.join(missing)}")
    if (table[by] == OVERALL).any():
        raise ValueError(f"common_methods: a group may not be called {OVERALL!r}, the name of the overall row")
    groups = [(g, table[table[by] == g]) for g in dict.fromkeys(table[by])] + [(OVERALL, table)]
    rows = []
    for name, part in groups:
        for rounding in dict.fromkeys(part["rounding"]):
            rows_r = part[part["rounding"] == rounding]
            ids = list(dict.fromkeys(rows_r["id"]))
            explaining, same_n = [], []
            for method in [m for m in METHODS if m in set(rows_r["method"])]:
                hits = rows_r[(rows_r["method"] == method) & rows_r["reproduces"].astype(bool)]
                if set(hits["id"]) != set(ids):
                    continue
                explaining.append(method)
                common = set.intersection(*(set(n) for n in hits["n"]))
                if common:
                    same_n.append(f"{method} n={','.join(str(n) for n in sorted(common))}")
            rows.append((name, rounding, len(ids), tuple(explaining), tuple(same_n)))
    return pd.DataFrame(rows, columns=[by, "rounding", "p_values", "methods", "same_n"])
