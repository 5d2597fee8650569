"""Patient-level paired data sets that reproduce every printed summary of a before-and-after study.

SPRITE and CORVIDS (see the appraisal notes) search for single samples with a
given n, mean, SD and bounds. A paired design fixes more at once: the same n
patients at baseline and at follow-up, both means and SDs as printed, the
grid the values lie on, and the Wilcoxon signed-rank statistic
W = min(W+, W-) that the reported p implies. No library reconstructs paired
data under such joint constraints (scipy has the solver, not the problem),
so the formulation is written here by hand; the solver is
``scipy.optimize.milp`` (HiGHS).

The verdicts mean different things. ``feasible`` is a proof by example: the
data set returned reproduces every printed number, checked again by exact
fractions and ``scipy.stats.wilcoxon``, independently of how it was found.
``infeasible`` is a proof: by exact arithmetic for GRIM- and GRIMMER-type
failures (no total, or no sum of squares, rounds to the printed number),
otherwise by the solver, every sub-problem proven infeasible by HiGHS (which
works in floating point, with its tolerances). ``undecided`` is neither: the
time budget ran out first.

Search, in integer units u = value / step. For each whole-unit total T whose
mean rounds to the printed mean, the sums of squares that give the printed SD
form an exact integer interval. A seeded SPRITE-like search first draws a
sample for each time point and tries every pairing of the two; it finds most
examples in milliseconds, but finding none proves nothing. Then the exact
search: binaries per patient and value make totals and sums of squares
linear; each (baseline total, follow-up total) pair, and each set S of ranks
held by the patients who changed against the majority (ranks summing to W),
is one linear sub-problem. Sorting patients by |change| fixes every sign and
makes "no zeros, no ties" the linear chain 1 <= |d_1| < |d_2| < ... < |d_n|,
which also breaks the symmetry between patients.

Examples
--------
>>> r = reconstruct_paired(Summary("69.5", 1, "21.2", 1), Summary("34.2", 1, "28", 0), 8,
...                        step=1, low=0, high=200, w=1, rounding="half-even")
>>> r.verdict, len(r.example[0])
('feasible', 8)
>>> reconstruct_paired(Summary("69.5", 1, "21.2", 1), Summary("34.2", 1, "28", 0), 8,
...                    step=1, low=0, high=200, w=1).reason
'infeasible (half-up rounding, step 1, values in [0, 200], W = 1): no whole-unit totals give the follow-up \
mean 34.2 with n = 8'
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from numbers import Integral, Real

import numpy as np
import scipy.stats

from thalbook.core.inference import paired_search, stats
from thalbook.core.inference.stats import reported_value, round_decimal
from thalbook.core.vocabulary import Rounding

#: Verdicts of :func:`reconstruct_paired`.
VERDICTS = ("feasible", "infeasible", "undecided")
#: Directions of the majority of changes (the side with the larger rank sum).
DIRECTIONS = ("decrease", "increase")

_FUNC = "reconstruct_paired"
_TRIES = 16  # attempts of the seeded search (each: one sample per time point, then every pairing)
_FEASIBLE, _INFEASIBLE, _OPEN = VERDICTS


@dataclass(frozen=True)
class Summary:
    """One printed mean +- SD, each with the number of decimals it was printed with.

    Attributes
    ----------
    mean : str, float or Decimal
        The mean as printed (a string keeps trailing zeros: ``"3.10"``).
    mean_decimals : int
        Digits after the point of the printed mean.
    sd : str, float, Decimal or None
        The sample SD (n - 1 denominator) as printed; None if not reported.
    sd_decimals : int or None
        Digits after the point of the printed SD; None when ``sd`` is None.

    Examples
    --------
    >>> Summary("6.02", 2, "2.75", 2).sd
    '2.75'
    """

    mean: str | float | Decimal
    mean_decimals: int
    sd: str | float | Decimal | None = None
    sd_decimals: int | None = None


@dataclass(frozen=True)
class Reconstruction:
    """The outcome of :func:`reconstruct_paired`.

    Attributes
    ----------
    verdict : {"feasible", "infeasible", "undecided"}
        Proof by example, proof by the solver, or neither.
    reason : str
        One sentence naming the rounding, step, bounds and W, what failed (or
        was found) and how much was searched.
    example : tuple of (tuple of Decimal, tuple of Decimal) or None
        For a feasible verdict, the baseline and follow-up values patient by
        patient, in the original units; ordered by the size of the change when
        W is given, else by baseline value.
    searched : int
        Number of solver sub-problems run, those of each time point searched
        alone included (0 when an exact check or the seeded search decided).
    """

    verdict: str
    reason: str
    example: tuple[tuple[Decimal, ...], tuple[Decimal, ...]] | None
    searched: int


# --------------------------------------------------------------------------
# helpers on the signed-rank statistic


def rank_subsets(n, w) -> tuple[tuple[int, ...], ...]:
    """Every set of distinct ranks from 1..n whose sum is w.

    These are the candidate ranks of the patients whose change goes against
    the majority when the signed-rank statistic is W = w.

    Parameters
    ----------
    n : int
        Number of ranks, >= 1.
    w : int
        Target sum, >= 0.

    Returns
    -------
    tuple of tuple of int
        Each subset in increasing order; the subsets in lexicographic order.

    Examples
    --------
    >>> rank_subsets(8, 0), rank_subsets(8, 1), rank_subsets(8, 5)
    (((),), ((1,),), ((1, 4), (2, 3), (5,)))
    """
    n = stats.whole_argument("rank_subsets", "n", n, minimum=1)
    w = stats.whole_argument("rank_subsets", "w", w)
    found: list[tuple[int, ...]] = []

    def extend(start: int, left: int, chosen: tuple[int, ...]) -> None:
        if left == 0:
            found.append(chosen)
            return
        for rank in range(start, min(n, left) + 1):
            extend(rank + 1, left - rank, (*chosen, rank))

    extend(1, w, ())
    return tuple(found)


def signed_rank_w(p, decimals, n, rounding: Rounding = Rounding.HALF_UP) -> tuple[int, ...]:
    """Every signed-rank statistic W whose exact two-sided p with n pairs rounds to the printed p.

    A thin reader of :func:`thalbook.core.inference.stats.wilcoxon_matches` for one n.

    Parameters
    ----------
    p : float or str
        The reported p-value as printed.
    decimals : int
        Number of decimals it was printed with.
    n : int
        Number of pairs (non-zero, untied differences).
    rounding : Rounding

    Returns
    -------
    tuple of int
        Possibly empty; in increasing order.

    Examples
    --------
    >>> signed_rank_w("0.0078", 4, 8), signed_rank_w("0.0156", 4, 8), signed_rank_w("0.078", 3, 8)
    ((0,), (1,), (5,))
    """
    n = stats.whole_argument("signed_rank_w", "n", n, minimum=1)
    return tuple(w for _, w, _ in stats.wilcoxon_matches(p, decimals, [n], rounding))


# --------------------------------------------------------------------------
# reading the arguments


def _decimal(name: str, value) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, Real | Decimal | str):
        raise ValueError(f"{_FUNC}: {name} must be a number, got {value!r}")
    try:
        exact = Decimal(repr(float(value))) if isinstance(value, float) else Decimal(str(value))
    except ArithmeticError:
        raise ValueError(f"{_FUNC}: {name} must be a number, got {value!r}") from None
    if not exact.is_finite():
        raise ValueError(f"{_FUNC}: {name} must be a finite number, got {value!r}")
    return exact


def _units(name: str, value: Decimal, step: Decimal) -> int:
    units = value / step
    if units != units.to_integral_value():
        raise ValueError(f"{_FUNC}: {name} must be a multiple of step {step}, got {value}")
    return int(units)


@dataclass(frozen=True)
class _Side:
    """One time point, read: its printed numbers, and for each admissible total the admissible sums of squares."""

    label: str
    mean: Decimal
    mean_decimals: int
    sd: Decimal | None
    sd_decimals: int | None
    #: admissible whole-unit totals (GRIM, on the grid)
    totals: tuple[int, ...]
    #: for each total that has one, the inclusive interval of sums of squares (in units) giving the SD
    squares: dict[int, tuple[int, int] | None]


def _read_summary(label: str, summary) -> tuple[Decimal, int, Decimal | None, int | None]:
    """The printed numbers of ``summary``, the argument named ``label``, as exact decimals."""
    if not isinstance(summary, Summary):
        raise ValueError(f"{_FUNC}: {label} must be a Summary, got {summary!r}")

    def printed(field: str, value, decimals) -> tuple[Decimal, int]:
        if isinstance(decimals, bool) or not isinstance(decimals, Integral) or decimals < 0:
            raise ValueError(f"{_FUNC}: {label}.{field}_decimals must be an integer >= 0, got {decimals!r}")
        try:
            return reported_value(_FUNC, value, decimals), int(decimals)
        except (TypeError, ValueError):
            raise ValueError(
                f"{_FUNC}: {label}.{field} must be a number printed with {decimals} decimals, got {value!r}"
            ) from None

    mean, mean_decimals = printed("mean", summary.mean, summary.mean_decimals)
    if (summary.sd is None) != (summary.sd_decimals is None):
        raise ValueError(f"{_FUNC}: {label}.sd and {label}.sd_decimals must both be given or both be None")
    if summary.sd is None:
        return mean, mean_decimals, None, None
    sd, sd_decimals = printed("sd", summary.sd, summary.sd_decimals)
    if sd < 0:
        raise ValueError(f"{_FUNC}: {label}.sd must be >= 0, got {summary.sd!r}")
    return mean, mean_decimals, sd, sd_decimals


def _totals(mean: Decimal, decimals: int, n: int, step: Decimal, rounding: Rounding) -> list[int]:
    """Whole-unit totals T with round(T * step / n) equal to the printed mean.

    Rounding is monotone in T for a fixed n, so these totals are contiguous;
    the list is exact either way, as every candidate is rounded by Fractions.
    """
    low, high = stats.rounding_window(mean, decimals, rounding)
    unit = Fraction(step)
    return [
        total
        for total in range(math.floor(low * n / unit), math.ceil(high * n / unit) + 1)
        if round_decimal(total * unit / n, decimals, rounding) == mean
    ]


def _square_range(total: int, sd: Decimal, decimals: int, n: int, step: Decimal, rounding: Rounding):
    """The inclusive interval of whole-unit sums of squares Q that give the printed SD with this total, or None.

    The SD sqrt((Q - T^2/n) / (n - 1)) * step increases with Q, so the
    admissible Q are an interval; its ends are decided exactly. Q has the
    parity of T (u^2 and u have the same parity), so the ends are moved to it.
    """
    low, high = stats.rounding_window(sd, decimals, rounding)
    low = max(low, Fraction(0))
    unit = Fraction(step)
    base = Fraction(total**2, n)
    first = math.ceil(base + (n - 1) * (low / unit) ** 2)
    last = math.floor(base + (n - 1) * (high / unit) ** 2)

    def fits(squares: int) -> bool:
        return stats.sd_rounds_to(unit**2 * (squares - base) / (n - 1), sd, decimals, rounding)

    while first <= last and not (fits(first) and (first - total) % 2 == 0):
        first += 1
    while last >= first and not (fits(last) and (last - total) % 2 == 0):
        last -= 1
    return (first, last) if first <= last else None


def _value_range(total: int, squares: tuple[int, int] | None, n: int, low: int, high: int) -> tuple[int, int]:
    """Bounds on any one value in units, from the grid bounds and the largest admissible SD.

    With mean m = T/n and centred sum of squares C = Q - T^2/n, a value at
    m + a leaves the other n - 1 values summing to -a around m, so they add at
    least a^2 / (n - 1) to C: a^2 n / (n - 1) <= C, i.e.
    |n u - T|^2 <= (n - 1)(n Q - T^2). This is the sharp bound (n - 1) s / sqrt(n),
    tighter than sqrt(n - 1) s; it only removes values no admissible sample can hold.
    """
    if squares is None:
        return low, high
    reach = math.isqrt((n - 1) * (n * squares[1] - total**2))
    return max(low, -((reach - total) // n)), min(high, (total + reach) // n)


# --------------------------------------------------------------------------
# verification, independent of the solver


def _verify(example, sides: list[_Side], n: int, w, sign: int, rounding: Rounding, low: Decimal, high: Decimal) -> bool:
    for values, side in zip(example, sides, strict=True):
        exact = [Fraction(v) for v in values]
        if len(exact) != n or not all(low <= v <= high for v in values):
            return False
        total = sum(exact)
        if round_decimal(total / n, side.mean_decimals, rounding) != side.mean:
            return False
        if side.sd is not None:
            variance = sum((v - total / n) ** 2 for v in exact) / (n - 1)
            if not stats.sd_rounds_to(variance, side.sd, side.sd_decimals, rounding):
                return False
    if w is None:
        return True
    changes = [sign * (a - b) for a, b in zip(*example, strict=True)]
    if 0 in changes or len({abs(d) for d in changes}) < n:
        return False
    floats = np.array([float(d) for d in changes])
    result = scipy.stats.wilcoxon(floats, method="exact")
    ranks = scipy.stats.rankdata(np.abs(floats))
    return (
        result.statistic == w
        and ranks[floats < 0].sum() == w
        and math.isclose(result.pvalue, float(stats.wilcoxon_exact_fractions(n)[w]), rel_tol=1e-9)
    )


# --------------------------------------------------------------------------
# each time point within the bounds, cut into blocks


def _reachable_squares(total: int, n: int, low: int, high: int) -> tuple[int, int]:
    """The least and largest sum of squares of n whole units in [low, high] with this total.

    Least when the values are as equal as possible, largest when as many as
    possible sit at a bound (the sum of squares is convex), one value taking
    the remainder. Without it, an SD wider than the bounds allow is left to
    the solver, which cannot prove that quickly.
    """
    share, extra = divmod(total, n)
    least = extra * (share + 1) ** 2 + (n - extra) * share**2
    top, rest = divmod(total - n * low, high - low)
    top = min(top, n)
    middle = total - top * high - (n - top - 1) * low if top < n else None
    largest = top * high**2 + (0 if middle is None else middle**2 + (n - top - 1) * low**2)
    return least, largest


def _within_bounds(squares: tuple[int, int] | None, total: int, n: int, low: int, high: int):
    if squares is None:
        return None
    least, largest = _reachable_squares(total, n, low, high)
    first, last = max(squares[0], least), min(squares[1], largest)
    first += (first - squares[0]) % 2  # keep the parity of the total
    last -= (squares[1] - last) % 2
    return (first, last) if first <= last else None


def _side(argument: str, label: str, summary, n: int, step: Decimal, low: int, high: int, rounding: Rounding) -> _Side:
    mean, mean_decimals, sd, sd_decimals = _read_summary(argument, summary)
    totals = tuple(t for t in _totals(mean, mean_decimals, n, step, rounding) if n * low <= t <= n * high)
    squares = {t: (None if sd is None else _within_bounds(_square_range(t, sd, sd_decimals, n, step, rounding),
                                                          t, n, low, high)) for t in totals}
    return _Side(label, mean, mean_decimals, sd, sd_decimals, totals, squares)


def _measured(side: _Side) -> str:
    return "mean" if side.sd is None else "mean and SD"


def _blocks(side: _Side, n: int, low: int, high: int) -> list[paired_search.Block]:
    return [
        paired_search.Block(t, side.squares[t], *_value_range(t, side.squares[t], n, low, high))
        for t in side.totals
        if side.sd is None or side.squares[t] is not None
    ]


def reconstruct_paired(
    before: Summary,
    after: Summary,
    n,
    *,
    step,
    low,
    high,
    w,
    direction: str = "decrease",
    rounding: Rounding = Rounding.HALF_UP,
    time_limit: float = 5.0,
    seed: int = 0,
    node_limit: int = 10_000,
) -> Reconstruction:
    """Search for n patients' baseline and follow-up values that reproduce every printed summary.

    First exact checks (GRIM- and GRIMMER-type, on the grid), then a seeded
    SPRITE-like search for a quick example, then the exact search by
    ``milp`` over every (baseline total, follow-up total, ranks against the
    majority) sub-problem. When all of those are infeasible, each time point
    is searched alone to say whether the signed-rank constraint is what fails.

    Parameters
    ----------
    before, after : Summary
        Baseline and follow-up mean +- SD as printed.
    n : int
        Number of patients (pairs), >= 2.
    step : str, float, int or Decimal
        The grid of the values: every value is a multiple of it (1 for a
        whole-number lab value, 0.1 for a 0-10 scale read to one decimal).
    low, high : str, float, int or Decimal
        The bounds of the scale, multiples of ``step``, low < high.
    w : int or None
        The signed-rank statistic min(W+, W-) of the exact test on the n
        changes, which then must be non-zero and untied (see
        :func:`signed_rank_w`), at most n(n+1)/4; None if no p is reported.
    direction : {"decrease", "increase"}
        The change of the majority of patients (the larger rank sum); the
        patients going the other way hold ranks summing to ``w``.
    rounding : Rounding
        How every printed number was rounded.
    time_limit : float
        Seconds for the whole search, > 0. The seeded search stops when it is
        spent; each solver sub-problem gets an even share of what is left.
    seed : int
        Seed of the heuristic search; the same seed gives the same example
        (unless the time budget runs out first).
    node_limit : int
        Branch-and-bound nodes each solver sub-problem may explore before it
        counts as not decided. A work limit, unlike ``time_limit``, gives the
        same verdict on a fast and a slow or busy machine; give a generous
        ``time_limit`` as a safety net when the verdict must be reproducible.

    Returns
    -------
    Reconstruction
        ``feasible`` with a verified example, ``infeasible`` naming the
        constraints that cannot be met together, or ``undecided``.

    Raises
    ------
    ValueError
        If an argument is out of range or malformed; the message names it.

    Examples
    --------
    >>> r = reconstruct_paired(Summary("6.02", 2, "2.75", 2), Summary("3.21", 2, "2.01", 2), 8,
    ...                        step="0.1", low=0, high=10, w=0, rounding="truncation")
    >>> r.verdict, r.searched
    ('feasible', 0)
    >>> print(reconstruct_paired(Summary(2, 0, 1, 0), Summary(3, 0, 1, 0), 3, step=1, low=0, high=5, w=0).reason)
    infeasible (half-up rounding, step 1, values in [0, 5], W = 0): means, SDs and bounds can be met, but not \
with W = 0 (every patient changing in the decrease direction); 9 of 9 sub-problems proven infeasible
    """
    rounding = Rounding(rounding)
    n = stats.whole_argument(_FUNC, "n", n, minimum=2)
    if direction not in DIRECTIONS:
        raise ValueError(f"{_FUNC}: direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}")
    step_value = _decimal("step", step)
    if step_value <= 0:
        raise ValueError(f"{_FUNC}: step must be > 0, got {step!r}")
    low_value, high_value = _decimal("low", low), _decimal("high", high)
    low_u, high_u = _units("low", low_value, step_value), _units("high", high_value, step_value)
    if low_u >= high_u:
        raise ValueError(f"{_FUNC}: low must be below high, got low={low!r}, high={high!r}")
    if w is not None:
        w = stats.whole_argument(_FUNC, "w", w)
        if w > n * (n + 1) // 4:
            raise ValueError(f"{_FUNC}: w must be <= n(n+1)/4 = {n * (n + 1) // 4} (the smaller rank sum), got {w}")
    if isinstance(time_limit, bool) or not isinstance(time_limit, Real) or not time_limit > 0:
        raise ValueError(f"{_FUNC}: time_limit must be a number of seconds > 0, got {time_limit!r}")
    seed = stats.whole_argument(_FUNC, "seed", seed)
    node_limit = stats.whole_argument(_FUNC, "node_limit", node_limit, minimum=1)

    sides = [_side(argument, label, s, n, step_value, low_u, high_u, rounding)
             for argument, label, s in (("before", "baseline", before), ("after", "follow-up", after))]
    head = (f"({rounding} rounding, step {step_value}, values in [{low_value}, {high_value}], "
            f"{'no signed-rank constraint' if w is None else f'W = {w}'})")

    def answer(verdict: str, why: str, example=None, searched: int = 0) -> Reconstruction:
        return Reconstruction(verdict, f"{verdict} {head}: {why}", example, searched)

    for side in sides:
        if not side.totals:
            return answer(_INFEASIBLE, f"no whole-unit totals give the {side.label} mean {side.mean} with n = {n}")
        if side.sd is not None and all(q is None for q in side.squares.values()):
            return answer(_INFEASIBLE, f"no sums of squares give the {side.label} SD {side.sd} with n = {n} "
                                       f"and a total that gives the mean {side.mean}")

    sign = 1 if direction == "decrease" else -1
    rng = np.random.default_rng(seed)
    budget = paired_search.Budget(float(time_limit), node_limit)
    blocks = [_blocks(side, n, low_u, high_u) for side in sides]

    def to_values(units) -> tuple[Decimal, ...]:
        return tuple((Decimal(u) * step_value).quantize(step_value) for u in units)

    def verified(units, which=(0, 1), with_w=w) -> bool:
        return _verify([to_values(u) for u in units], [sides[k] for k in which], n, with_w, sign, rounding,
                       low_value, high_value)

    def alone(k: int):
        """One time point alone, as SPRITE/CORVIDS would search it: (sorted units or None, proven infeasible)."""
        for attempt in range(_TRIES):
            if budget.left() <= 0:
                break
            units = paired_search.sprite(rng, n, blocks[k][attempt % len(blocks[k])], budget)
            if units is not None and verified([units], (k,), None):
                return sorted(units), True
        found, proven = paired_search.search([([b], None) for b in blocks[k]], n, budget,
                                lambda units: verified(units, (k,), None))
        return (None if found is None else sorted(found[0])), proven

    def searched(total: int) -> str:
        if budget.open == 0:
            return f"{budget.searched} of {total} sub-problems proven infeasible"
        return (f"no example found by the seeded search or the solver; {budget.searched} of {total} sub-problems "
                f"run, {budget.open} not decided within {node_limit} nodes each or {time_limit:g} s in all")

    if w is None:
        found = []
        for k, side in enumerate(sides):
            units, proven = alone(k)
            if units is None:
                if not proven:
                    return answer(_OPEN, f"{side.label}: {searched(len(blocks[k]))}", None, budget.searched)
                return answer(_INFEASIBLE, f"no {n} values on the grid within the bounds give the {side.label} "
                                           f"{_measured(side)}; {searched(len(blocks[k]))}", None, budget.searched)
            found.append(units)
        return answer(_FEASIBLE, "an example reproduces every summary (verified exactly; follow-up values paired "
                                 "in sorted order, as any pairing fits without W)",
                      (to_values(found[0]), to_values(found[1])), budget.searched)

    pairs = [(bx, by) for bx in blocks[0] for by in blocks[1]]
    for attempt in range(_TRIES):
        if budget.left() <= 0:
            break
        bx, by = pairs[attempt % len(pairs)]
        x, y = paired_search.sprite(rng, n, bx, budget), paired_search.sprite(rng, n, by, budget)
        paired = None if x is None or y is None else paired_search.pair(rng, x, y, w, sign)
        if paired is not None and verified(paired):
            return answer(_FEASIBLE, f"an example reproduces every summary, found by the seeded search (attempt "
                                     f"{attempt + 1}) and verified exactly; no solver sub-problem needed",
                          (to_values(paired[0]), to_values(paired[1])))

    jobs = [([bx, by], tuple(-sign if rank in subset else sign for rank in range(1, n + 1)))
            for subset in rank_subsets(n, w) for bx, by in pairs]
    found, _ = paired_search.search(jobs, n, budget, verified)
    if found is not None:
        return answer(_FEASIBLE, f"an example reproduces every summary, found by the solver (sub-problem "
                                 f"{budget.searched} of {len(jobs)}) and verified exactly",
                      (to_values(found[0]), to_values(found[1])), budget.searched)
    where = searched(len(jobs))
    if budget.open:
        return answer(_OPEN, where, None, budget.searched)
    # every paired sub-problem is infeasible: is it the signed-rank constraint that fails?
    (x, x_proven), (y, y_proven) = alone(0), alone(1)
    for side, one, proven in ((sides[0], x, x_proven), (sides[1], y, y_proven)):
        if one is None and proven:
            return answer(_INFEASIBLE, f"no {n} values on the grid within the bounds give the {side.label} "
                                       f"{_measured(side)}; {where}", None, budget.searched)
    met = "means, SDs and bounds" if any(side.sd is not None for side in sides) else "means and bounds"
    if x is not None and y is not None:
        every = f" (every patient changing in the {direction} direction)" if w == 0 else ""
        return answer(_INFEASIBLE, f"{met} can be met, but not with W = {w}{every}; {where}", None, budget.searched)
    return answer(_INFEASIBLE, f"{met} cannot be met together with W = {w} (whether they can without W was not "
                               f"decided within the budget); {where}", None, budget.searched)
