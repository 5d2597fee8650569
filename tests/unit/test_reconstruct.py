"""thalbook.core.inference.reconstruct against independent references.

Summaries are printed here by the ``decimal`` module (not ``round_decimal``),
W comes from ``scipy.stats.wilcoxon``, and tiny cases are decided by brute
force over every data set.
"""

from __future__ import annotations

import itertools
import random
import statistics
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction

import numpy as np
import pytest
import scipy.stats

from thalbook.core.inference import paired_search, reconstruct
from thalbook.core.inference.reconstruct import Summary, rank_subsets, reconstruct_paired

DECIMAL_ROUNDING = {"half-up": ROUND_HALF_UP, "half-even": ROUND_HALF_EVEN, "truncation": ROUND_DOWN}


def printed(values, decimals: int, rounding: str) -> Summary:
    """Mean and SD of ``values`` as a paper would print them, both to ``decimals``, by the decimal module."""
    exact = [Fraction(v) for v in values]
    quantum = Decimal(1).scaleb(-decimals)
    with localcontext() as ctx:
        ctx.prec = 60
        mean = Fraction(statistics.mean(exact))
        variance = Fraction(statistics.variance(exact))
        as_decimal = [Decimal(f.numerator) / Decimal(f.denominator) for f in (mean, variance)]
        mean_text, sd_text = (d.quantize(quantum, rounding=DECIMAL_ROUNDING[rounding])
                              for d in (as_decimal[0], as_decimal[1].sqrt()))
    return Summary(str(mean_text), decimals, str(sd_text), decimals)


def against(x, y, direction: str) -> int | None:
    """Sum of ranks of |x - y| of the changes against ``direction``; None if a change is zero or tied."""
    changes = [(a - b) * (1 if direction == "decrease" else -1) for a, b in zip(x, y, strict=True)]
    sizes = sorted(abs(d) for d in changes)
    if sizes[0] == 0 or len(set(sizes)) < len(sizes):
        return None
    return sum(sizes.index(abs(d)) + 1 for d in changes if d < 0)


def reproduces(example, before: Summary, after: Summary, w, rounding: str) -> bool:
    x, y = example
    for values, summary in ((x, before), (y, after)):
        mean = printed(values, summary.mean_decimals, rounding).mean
        sd = printed(values, summary.sd_decimals, rounding).sd
        if (mean, sd) != (summary.mean, summary.sd):
            return False
    return w is None or scipy.stats.wilcoxon(np.array(x, float) - np.array(y, float), method="exact").statistic == w


# --------------------------------------------------------------------------
# a data set made here is found again

BASELINE = [70, 85, 52, 96, 61, 77, 90, 58]
CHANGE = [-3, 4, 8, 12, -6, 20, 27, 15]  # distinct sizes; 3 and 6 go up: W = 1 + 3


@pytest.mark.parametrize("rounding", ["half-up", "half-even", "truncation"])
@pytest.mark.parametrize("direction", ["decrease", "increase"])
def test_a_made_data_set_is_reconstructed(rounding, direction):
    x = BASELINE
    y = [a - d for a, d in zip(x, CHANGE, strict=True)]
    if direction == "increase":
        x, y = y, x
    w = int(scipy.stats.wilcoxon(np.subtract(x, y), method="exact").statistic)
    assert w == 4
    before, after = printed(x, 1, rounding), printed(y, 1, rounding)
    result = reconstruct_paired(before, after, 8, step=1, low=0, high=150, w=w, direction=direction,
                                rounding=rounding)
    assert result.verdict == "feasible", result.reason
    assert reproduces(result.example, before, after, w, rounding)
    assert all(0 <= v <= 150 and v == int(v) for values in result.example for v in values)


def test_the_same_seed_gives_the_same_example():
    before, after = Summary("6.02", 2, "2.75", 2), Summary("3.21", 2, "2.01", 2)
    runs = [reconstruct_paired(before, after, 8, step="0.1", low=0, high=10, w=0, rounding="half-even")
            for _ in range(2)]
    assert runs[0] == runs[1] and runs[0].verdict == "feasible"
    assert reproduces(runs[0].example, before, after, 0, "half-even")


# --------------------------------------------------------------------------
# exact failures


ESR = (Summary("69.5", 1, "21.2", 1), Summary("34.2", 1, "28", 0))


def test_a_grim_failure_is_named():
    result = reconstruct_paired(*ESR, 8, step=1, low=0, high=200, w=1, rounding="half-up")
    assert result.verdict == "infeasible" and result.searched == 0
    assert "follow-up mean 34.2" in result.reason and "half-up" in result.reason
    other = reconstruct_paired(*ESR, 8, step=1, low=0, high=200, w=1, rounding="half-even")
    assert other.verdict == "feasible", other.reason
    assert reproduces(other.example, *ESR, 1, "half-even")


def test_all_improved_but_the_mean_went_up_is_infeasible():
    # each alone is possible: 1, 2, 2, 3 and 1, 2, 3, 4
    result = reconstruct_paired(Summary("2.0", 1, "0.8", 1), Summary("2.5", 1, "1.3", 1), 4, step=1, low=0,
                                high=4, w=0)
    assert result.verdict == "infeasible"
    assert "means, SDs and bounds can be met, but not with W = 0" in result.reason


def test_a_sub_problem_decided_once_is_not_solved_again(monkeypatch):
    # the audit searches each summary under every rounding convention, which often give the same sub-problems
    monkeypatch.setattr(paired_search, "_DECIDED", {})
    monkeypatch.setattr(reconstruct, "_TRIES", 0)  # the solver alone
    solved = []
    solve = paired_search.solve
    monkeypatch.setattr(paired_search, "solve", lambda *args: solved.append(args) or solve(*args))
    summaries = (Summary("2.0", 1, "0.8", 1), Summary("2.5", 1, "1.3", 1), 4)
    first = reconstruct_paired(*summaries, step=1, low=0, high=4, w=0)
    count = len(solved)
    again = reconstruct_paired(*summaries, step=1, low=0, high=4, w=0)
    assert first.verdict == "infeasible" and count > 1
    assert len(solved) == count
    assert again == first  # the same reason, counting the sub-problems decided before as searched


# --------------------------------------------------------------------------
# brute force over every tiny data set: n = 4 pairs on 0..4


N, GRID = 4, range(5)


def brute_force(before: Summary, after: Summary, w: int, direction: str, rounding: str) -> bool:
    tuples = list(itertools.product(GRID, repeat=N))
    xs = [x for x in tuples if printed(x, 1, rounding) == before]
    ys = [y for y in tuples if printed(y, 1, rounding) == after]
    return any(against(x, y, direction) == w for x in xs for y in ys)


def tiny_cases(count: int = 10, seed: int = 20240611):
    """Summaries of random tiny data sets, half of them with W, direction or a side taken from another."""
    rng = random.Random(seed)
    cases = []
    while len(cases) < count:
        rounding = rng.choice(list(DECIMAL_ROUNDING))
        x, y, other = ([rng.choice(GRID) for _ in range(N)] for _ in range(3))
        direction = rng.choice(["decrease", "increase"])
        w = against(x, y, direction)
        if w is None or w > N * (N + 1) // 4:
            continue
        if len(cases) % 2:
            w, y = rng.randrange(N * (N + 1) // 4 + 1), rng.choice([y, other])
        cases.append((printed(x, 1, rounding), printed(y, 1, rounding), w, direction, rounding))
    return cases


@pytest.mark.parametrize("tries", [16, 0], ids=["seeded-search-first", "solver-only"])
def test_the_solver_agrees_with_brute_force_on_tiny_cases(tries, monkeypatch):
    monkeypatch.setattr(reconstruct, "_TRIES", tries)
    verdicts = []
    for before, after, w, direction, rounding in tiny_cases():
        result = reconstruct_paired(before, after, N, step=1, low=0, high=4, w=w, direction=direction,
                                    rounding=rounding)
        expected = brute_force(before, after, w, direction, rounding)
        case = (before, after, w, direction, rounding, result.reason)
        assert result.verdict == ("feasible" if expected else "infeasible"), case
        if expected:
            assert against(*result.example, direction) == w, case
            assert printed(result.example[0], 1, rounding) == before, case
            assert printed(result.example[1], 1, rounding) == after, case
        verdicts.append(result.verdict)
    assert {"feasible", "infeasible"} <= set(verdicts)


def test_rank_subsets_match_enumeration():
    for n, w in [(1, 0), (4, 5), (8, 1), (8, 10), (10, 7)]:
        expected = [c for r in range(n + 1) for c in itertools.combinations(range(1, n + 1), r) if sum(c) == w]
        assert sorted(rank_subsets(n, w)) == sorted(expected)


# --------------------------------------------------------------------------
# honesty about the budget, and bad arguments


def test_a_tiny_budget_gives_undecided():
    before, after = Summary("6.02", 2, "2.75", 2), Summary("3.21", 2, "2.01", 2)
    result = reconstruct_paired(before, after, 8, step="0.01", low=0, high=10, w=0, time_limit=1e-9)
    assert result.verdict == "undecided" and result.example is None
    assert "not decided within" in result.reason


GOOD = dict(before=Summary("2.0", 1, "1.0", 1), after=Summary("1.5", 1, "1.0", 1), n=4, step=1, low=0, high=4, w=0)


@pytest.mark.parametrize(("change", "named"), [
    (dict(n=1), "n"),
    (dict(step=0), "step"),
    (dict(low=4), "low"),
    (dict(low="0.5"), "low"),
    (dict(w=6), "w"),
    (dict(direction="up"), "direction"),
    (dict(time_limit=0), "time_limit"),
    (dict(before=Summary("2.05", 1, "1.0", 1)), "before.mean"),
    (dict(after=Summary("1.5", 1, "-1.0", 1)), "after.sd"),
    (dict(after=Summary("1.5", 1, "1.0", None)), "after.sd"),
    (dict(before=(2.0, 1.0)), "before"),
])
def test_bad_arguments_raise_value_error_naming_them(change, named):
    arguments = {**GOOD, **change}
    with pytest.raises(ValueError, match=rf"reconstruct_paired: .*\b{named}\b"):
        reconstruct_paired(arguments.pop("before"), arguments.pop("after"), arguments.pop("n"), **arguments)


def test_a_rounding_that_is_no_convention_is_refused_by_its_enumeration():
    with pytest.raises(ValueError, match="'banker' is not a valid Rounding"):
        reconstruct_paired(GOOD["before"], GOOD["after"], GOOD["n"], step=1, low=0, high=4, w=0, rounding="banker")


def test_an_sd_wider_than_the_bounds_allow_is_infeasible_without_the_solver():
    # three whole numbers in 0..2 with total 3: (0, 1, 2) spreads most, SD 1; so SD 1.5 cannot be
    assert max(statistics.stdev(v) for v in itertools.product(range(3), repeat=3) if sum(v) == 3) == 1
    result = reconstruct.reconstruct_paired(reconstruct.Summary("1", 0, "1.5", 1), reconstruct.Summary("1", 0), 3,
                                            step=1, low=0, high=2, w=None)
    assert result.verdict == "infeasible" and result.searched == 0
    assert "no sums of squares give the baseline SD 1.5" in result.reason
