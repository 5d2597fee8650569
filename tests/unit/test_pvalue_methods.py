"""thalbook.core.inference.pvalue_methods against independent references.

Every p-value is checked against scipy run on an actual data set built to have
the statistic in question (signed ranks for the signed-rank tests, a sample
with a known correlation for the paired t-test), and every rounding against
the ``decimal`` module (a second implementation of the three conventions).
"""

from __future__ import annotations

import itertools
import math
import warnings
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd
import pytest
import scipy.stats

from thalbook.core.inference import pvalue_methods as pm
from thalbook.core.inference import stats

DECIMAL_ROUNDING = {"half-up": ROUND_HALF_UP, "half-even": ROUND_HALF_EVEN, "truncation": ROUND_DOWN}
SCIPY_ARGS = {"exact": {"method": "exact"}, "exact-ties": {},  # exact-ties is scipy's default, method="auto"
              "normal": {"method": "asymptotic", "correction": False},
              "normal-cc": {"method": "asymptotic", "correction": True}}


def decimal_round(p: float, decimals: int, rounding: str) -> str:
    """A float p rounded by the decimal module: Decimal(float) is the exact binary value."""
    return str(Decimal(p).quantize(Decimal(1).scaleb(-decimals), rounding=DECIMAL_ROUNDING[rounding]))


def differences(n: int, w: float, tied: int = 0) -> np.ndarray:
    """n differences whose smaller signed-rank sum is w; with ``tied`` = k, |d| of ranks k and k+1 are equal."""
    size = np.arange(1.0, n + 1)
    if tied:
        size[tied - 1] = size[tied] = tied + 0.5
    for r in range(n + 1):
        for negative in itertools.combinations(range(n), r):
            if sum(size[i] for i in negative) == w:  # midranks equal the sizes here
                d = size.copy()
                d[list(negative)] *= -1
                return d
    raise AssertionError(f"no sign pattern of {n} ranks sums to {w}")


def sample(n: int, r: float, mb, sb, ma, sa) -> tuple[np.ndarray, np.ndarray]:
    """Before and after values with exactly these means, SDs and sample correlation r."""
    z = np.random.default_rng(n).normal(size=(n, 2))
    q, _ = np.linalg.qr(z - z.mean(axis=0))  # centred, orthonormal: mean 0, SD 1/sqrt(n-1), uncorrelated
    q *= math.sqrt(n - 1)
    return mb + sb * q[:, 0], ma + sa * (r * q[:, 0] + math.sqrt(1 - r * r) * q[:, 1])


# --------------------------------------------------------------------------
# each method's p-values are scipy's


@pytest.mark.parametrize("method", ["exact", "normal", "normal-cc"])
@pytest.mark.parametrize("n", [3, 6, 8, 10, 12])
def test_every_lattice_point_is_scipys_p_for_data_with_that_w(method, n):
    for w, p in pm.lattice(method, n)[["statistic", "p"]].itertuples(index=False):
        result = scipy.stats.wilcoxon(differences(n, w), **SCIPY_ARGS[method])
        assert result.statistic == w
        assert result.pvalue == pytest.approx(p, rel=1e-12, abs=0), (n, w)


@pytest.mark.parametrize(("n", "step"), [(2, 1), (5, 1), (7, 1), (10, 17)])  # every 17th point: scipy is slow
def test_exact_ties_is_scipys_permutation_p_with_one_tied_pair(n, step):
    for w, k, p in pm.lattice("exact-ties", n)[::step].itertuples(index=False):
        result = scipy.stats.wilcoxon(differences(n, w, tied=k))
        assert (result.statistic, result.pvalue) == (w, pytest.approx(p, rel=1e-12)), (n, k, w)


def test_scipy_treats_ties_and_zeros_as_the_module_docstring_says():
    exact8 = stats.wilcoxon_pvalues(8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no case warns
        # zeros without ties, method="auto": the untied exact p of the non-zero differences
        with_zeros = np.concatenate([[0.0, 0.0], differences(8, 3)])
        assert scipy.stats.wilcoxon(with_zeros).pvalue == exact8[3]
        # method="exact" with a tie: the untied lattice, a midrank W rounded up (for the lower tail)
        tied = differences(8, 2.5, tied=2)
        assert scipy.stats.wilcoxon(tied, method="exact").pvalue == exact8[3]
        # method="auto" with a tie: the permutation p, not the lattice
        assert scipy.stats.wilcoxon(tied).pvalue == 8 / 256 != exact8[3]  # {}, {1}, either 2.5: 4 of 256
        # method="approx" is an alias of "asymptotic"
        assert scipy.stats.wilcoxon(tied, method="approx").pvalue == scipy.stats.wilcoxon(
            tied, method="asymptotic").pvalue


@pytest.mark.parametrize("n", [1, 5, 8, 13])
def test_smallest_exact_p_is_scipys_p_when_every_difference_has_one_sign(n):
    assert pm.smallest_exact_p(n) == min(1.0, scipy.stats.wilcoxon(np.arange(1.0, n + 1), method="exact").pvalue)


# --------------------------------------------------------------------------
# reproducing finds what produced a printed p


CASES = [("exact", 8, 1.0, 0), ("exact", 10, 7.0, 0), ("exact-ties", 9, 2.5, 2), ("exact-ties", 7, 5.5, 3),
         ("normal", 10, 1.0, 0), ("normal", 7, 3.0, 0), ("normal-cc", 9, 5.0, 0), ("normal-cc", 12, 14.0, 0)]


@pytest.mark.parametrize("rounding", list(DECIMAL_ROUNDING))
@pytest.mark.parametrize(("method", "n", "w", "tied"), CASES)
def test_reproducing_finds_the_n_and_w_behind_a_rounded_scipy_p(method, n, w, tied, rounding):
    p = scipy.stats.wilcoxon(differences(n, w, tied), **SCIPY_ARGS[method]).pvalue
    for decimals in (2, 3, 4):
        printed = decimal_round(p, decimals, rounding)
        found = pm.reproducing(printed, decimals, range(n - 2, n + 3), rounding=rounding, methods=[method])
        assert ((found["n"] == n) & (found["statistic"] == w)).any(), (printed, found)
        assert all(decimal_round(q, decimals, rounding) == printed for q in found["p_method"])


@pytest.mark.parametrize("rounding", list(DECIMAL_ROUNDING))
@pytest.mark.parametrize(("n", "r"), [(8, 0.0), (8, 0.8), (9, 0.5), (10, -0.3), (12, 0.95)])
def test_paired_t_interval_holds_the_true_correlation_and_no_other(n, r, rounding):
    summary = dict(mean_before=5.39, sd_before=2.33, mean_after=3.78, sd_after=1.67)
    before, after = sample(n, r, *summary.values())
    assert np.corrcoef(before, after)[0, 1] == pytest.approx(r, abs=1e-12)
    p = scipy.stats.ttest_rel(before, after).pvalue
    printed = decimal_round(p, 3, rounding)
    found = pm.reproducing(printed, 3, [n], rounding=rounding, summaries=summary, methods=["paired-t"])
    assert len(found) == 1
    low, high = found.loc[0, ["r_low", "r_high"]]
    assert low - 1e-9 <= r <= high + 1e-9
    for outside in (low - 0.01, high + 0.01):
        if -1 <= outside <= 1:
            q = scipy.stats.ttest_rel(*sample(n, outside, *summary.values())).pvalue
            assert decimal_round(q, 3, rounding) != printed


def test_paired_t_cannot_give_a_p_below_its_value_at_r_equal_one():
    # IgA in Wei 2003: 496 +- 230 -> 505 +- 323 with n = 8; at r = 1 the SD of the change is 93
    best = 2 * scipy.stats.t.sf(9 / (93 / math.sqrt(8)), 7)
    summary = dict(mean_before=496, sd_before=230, mean_after=505, sd_after=323)
    assert best > 0.375
    assert pm.reproducing("0.375", 3, [8], summaries=summary, methods=["paired-t"]).empty


# --------------------------------------------------------------------------
# the tables


def test_method_table_reads_decimals_from_the_printed_text():
    reported = pd.DataFrame({"id": ["a", "b"], "group": ["w24", "w24"], "p": ["0.078", "0.0780"],
                             "n_values": [8, [8]], "summaries": [None, None]})
    table = pm.method_table(reported, roundings=["half-up"])
    assert len(table) == 2 * len(pm.METHODS)
    exact = table[table["method"] == "exact"].set_index("id")
    assert exact.loc["a", "n"] == (8,) and exact.loc["a", "detail"] == "n = 8: W = 5"
    assert not exact.loc["b", "reproduces"]  # 0.078125 prints as 0.0781 to four decimals
    assert not table[table["method"] == "paired-t"]["applicable"].any()


def test_common_methods_on_a_hand_built_table():
    rows = [("p1", "w8", "exact", True, (9, 10)), ("p1", "w8", "normal", True, (10,)),
            ("p2", "w8", "exact", True, (8,)), ("p2", "w8", "normal", True, (10,)),
            ("p3", "w24", "exact", True, (8,)), ("p3", "w24", "normal", False, ())]
    table = pd.DataFrame(rows, columns=["id", "visit", "method", "reproduces", "n"]).assign(rounding="half-up")
    out = pm.common_methods(table, by="visit").set_index("visit")
    assert list(out.index) == ["w8", "w24", pm.OVERALL]
    assert out.loc["w8", "methods"] == ("exact", "normal")
    assert out.loc["w8", "same_n"] == ("normal n=10",)  # exact needs n = 9 or 10 for p1 but 8 for p2
    assert out.loc["w24", "methods"] == ("exact",) and out.loc["w24", "same_n"] == ("exact n=8",)
    assert out.loc[pm.OVERALL, "methods"] == ("exact",) and out.loc[pm.OVERALL, "same_n"] == ()
    assert out["p_values"].tolist() == [2, 1, 3]
    none = pm.common_methods(table[table["method"] == "normal"], by="visit").set_index("visit")
    assert none.loc["w24", "methods"] == () and none.loc[pm.OVERALL, "methods"] == ()


# --------------------------------------------------------------------------
# bad arguments


@pytest.mark.parametrize(("call", "message"), [
    (lambda: pm.reproducing("1.5", 1, [8]), "reproducing: p must be between 0 and 1"),
    (lambda: pm.reproducing("0.0156", 3, [8]), "reproducing: '0.0156' has more than 3 decimals"),
    (lambda: pm.reproducing("0.01", -1, [8]), "reproducing: decimals"),
    (lambda: pm.reproducing("0.01", 2, [0]), "reproducing: n_values"),
    (lambda: pm.reproducing("0.01", 2, "8"), "reproducing: n_values"),
    (lambda: pm.reproducing("0.01", 2, [8], rounding="bankers"), "'bankers' is not a valid Rounding"),
    (lambda: pm.reproducing("0.01", 2, [8], methods=["sign"]), "reproducing: methods"),
    (lambda: pm.reproducing("0.01", 2, [8], summaries={"mean_before": 1}), "reproducing: summaries"),
    (lambda: pm.reproducing("0.01", 2, [8], summaries=dict(mean_before=1, sd_before=-1, mean_after=1,
                                                          sd_after=1)), r"reproducing: summaries\['sd_before'\]"),
    (lambda: pm.lattice("paired-t", 8), "lattice: method"),
    (lambda: pm.lattice("exact-ties", 14), "lattice: n"),
    (lambda: pm.smallest_exact_p(0), "smallest_exact_p: n"),
    (lambda: pm.method_table(pd.DataFrame({"id": [1]})), "method_table: reported lacks the columns group, p"),
    (lambda: pm.method_table([]), "method_table: reported must be a pandas DataFrame"),
    (lambda: pm.common_methods(pd.DataFrame({"id": [1]}), by="visit"), "common_methods: table lacks"),
])
def test_bad_arguments_raise_value_error_naming_them(call, message):
    with pytest.raises(ValueError, match=message):
        call()
