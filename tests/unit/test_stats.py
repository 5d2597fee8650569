"""thalbook.core.inference.stats and thalbook.core.inference.granularity against independent references.

Each test names its reference: a published table, a brute-force enumeration
done here, or a scipy routine that computes the same thing another way.
"""

from __future__ import annotations

import itertools
import math
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, localcontext

import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

from thalbook.core import vocabulary
from thalbook.core.inference import granularity, stats

FAST = settings(max_examples=60, deadline=None)
DECIMAL_ROUNDING = {"half-up": ROUND_HALF_UP, "half-even": ROUND_HALF_EVEN, "truncation": ROUND_DOWN}


def decimal_round(numerator: int, denominator: int, decimals: int, rounding: str) -> Decimal:
    """numerator/denominator rounded by the decimal module (a second implementation).

    With 60 significant digits no rational with a small denominator can sit
    on a rounding tie unless it is one exactly, so the double rounding is safe.
    """
    with localcontext() as ctx:
        ctx.prec = 60
        value = Decimal(numerator) / Decimal(denominator)
        return value.quantize(Decimal(1).scaleb(-decimals), rounding=DECIMAL_ROUNDING[rounding])


# --------------------------------------------------------------------------
# proportion_ci

# Newcombe RG. Two-sided confidence intervals for the single proportion:
# comparison of seven methods. Stat Med 1998;17:857-872, Table II (95% limits,
# 4 decimals): method 3 is the Wilson score interval, method 5 the exact
# Clopper-Pearson interval.
NEWCOMBE_1998 = [
    (81, 263, "wilson", (0.2553, 0.3662)),
    (81, 263, "clopper-pearson", (0.2527, 0.3676)),
    (15, 148, "wilson", (0.0624, 0.1605)),
    (15, 148, "clopper-pearson", (0.0578, 0.1617)),
    (0, 20, "wilson", (0.0000, 0.1611)),
    (0, 20, "clopper-pearson", (0.0000, 0.1684)),
    (1, 29, "wilson", (0.0061, 0.1718)),
    (1, 29, "clopper-pearson", (0.0009, 0.1776)),
]


@pytest.mark.parametrize(("k", "n", "method", "printed"), NEWCOMBE_1998)
def test_proportion_ci_matches_newcombe_1998_table(k, n, method, printed):
    low, high = stats.proportion_ci(k, n, method)
    assert (round(low, 4), round(high, 4)) == printed


@pytest.mark.parametrize("level", [0.8, 0.9, 0.95, 0.99])
@pytest.mark.parametrize("n", [1, 2, 7, 13, 47])
def test_proportion_ci_agrees_with_scipy_binomtest(n, level):
    for k in range(n + 1):
        result = scipy.stats.binomtest(k, n)
        for ours, theirs in (("clopper-pearson", "exact"), ("wilson", "wilson")):
            expected = result.proportion_ci(confidence_level=level, method=theirs)
            assert stats.proportion_ci(k, n, ours, level) == pytest.approx(
                (expected.low, expected.high), abs=1e-9
            )


@pytest.mark.parametrize(("k", "n"), [(1, 10), (8, 10), (27, 47), (5, 47), (13, 19)])
def test_jeffreys_and_agresti_coull_match_their_formulas(k, n):
    # Brown, Cai & DasGupta 2001, equations (4) and (5), computed here directly.
    alpha, z = 0.05, scipy.stats.norm.ppf(0.975)
    jeffreys = (
        scipy.stats.beta.ppf(alpha / 2, k + 0.5, n - k + 0.5),
        scipy.stats.beta.ppf(1 - alpha / 2, k + 0.5, n - k + 0.5),
    )
    n_tilde = n + z**2
    p_tilde = (k + z**2 / 2) / n_tilde
    half = z * math.sqrt(p_tilde * (1 - p_tilde) / n_tilde)
    assert stats.proportion_ci(k, n, "jeffreys") == pytest.approx(jeffreys, abs=1e-12)
    agresti_coull = (max(p_tilde - half, 0), min(p_tilde + half, 1))  # clipped to [0, 1]
    assert stats.proportion_ci(k, n, "agresti-coull") == pytest.approx(agresti_coull, abs=1e-12)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((1, -1), "proportion_ci: n must be a positive integer, got -1"),
        ((1, 0), "proportion_ci: n must be a positive integer, got 0"),
        ((11, 10), "proportion_ci: k must be <= n, got k=11, n=10"),
        ((1.5, 10), "proportion_ci: k must be an integer >= 0, got 1.5"),
        (
            (1, 10, "wald"),
            "'wald' is not a valid CiMethod",
        ),
        ((1, 10, "wilson", 1.0), "proportion_ci: confidence_level must be between 0 and 1, got 1.0"),
    ],
)
def test_proportion_ci_names_the_invalid_argument(args, message):
    with pytest.raises(ValueError) as error:
        stats.proportion_ci(*args)
    assert str(error.value) == message


@FAST
@given(
    n=st.integers(1, 200),
    fraction=st.floats(0, 1),
    method=st.sampled_from(vocabulary.CI_METHODS),
    levels=st.tuples(st.floats(0.5, 0.999), st.floats(0.5, 0.999)).map(sorted),
)
def test_interval_contains_estimate_and_widens_with_level(n, fraction, method, levels):
    k = round(fraction * n)
    narrow = stats.proportion_ci(k, n, method, levels[0])
    wide = stats.proportion_ci(k, n, method, levels[1])
    assert 0 <= narrow[0] <= k / n <= narrow[1] <= 1
    assert wide[0] <= narrow[0] + 1e-12 and narrow[1] <= wide[1] + 1e-12


# --------------------------------------------------------------------------
# Wilcoxon signed-rank lattice


def brute_force_wilcoxon(n: int) -> dict[int, float]:
    """Two-sided exact p for each W = min(W+, W-), by listing all 2^n sign patterns."""
    sums = [
        sum(r for r, positive in zip(range(1, n + 1), signs, strict=True) if positive)
        for signs in itertools.product((0, 1), repeat=n)
    ]
    total = n * (n + 1) // 2
    return {w: min(1.0, 2 * sum(s <= w for s in sums) / 2**n) for w in range(total // 2 + 1)}


@pytest.mark.parametrize("n", range(1, 13))
def test_wilcoxon_lattice_matches_enumeration_of_sign_patterns(n):
    assert stats.wilcoxon_pvalues(n) == brute_force_wilcoxon(n)


def differences_with_statistic(n: int, w: int) -> list[int]:
    """Untied non-zero differences 1..n whose positive ranks sum to w."""
    positive, left = set(), w
    for rank in range(n, 0, -1):
        if rank <= left:
            positive.add(rank)
            left -= rank
    assert left == 0
    return [r if r in positive else -r for r in range(1, n + 1)]


@pytest.mark.parametrize("n", [5, 6, 8, 10, 13, 20])
def test_wilcoxon_lattice_matches_scipy_exact_test(n):
    for w, p in stats.wilcoxon_pvalues(n).items():
        result = scipy.stats.wilcoxon(differences_with_statistic(n, w), method="exact")
        assert result.statistic == w
        assert p == pytest.approx(result.pvalue, rel=1e-12)


@FAST
@given(n=st.integers(1, 30))
def test_wilcoxon_pvalues_are_multiples_of_two_to_minus_n(n):
    pvalues = list(stats.wilcoxon_pvalues(n).values())
    for p in pvalues:
        assert 0 < p <= 1 and (p * 2**n).is_integer()
    assert pvalues == sorted(pvalues)


def test_wilcoxon_matches_lists_every_reproducing_lattice_point():
    for p, decimals in [("0.0156", 4), ("0.0078", 4), ("0.078", 3), ("0.375", 3), ("0.014", 3), ("0.05", 2)]:
        target = Decimal(p)
        expected = [
            (n, w, q)
            for n in range(1, 14)
            for w, q in brute_force_wilcoxon(n).items()
            # q is dyadic, so Decimal(q) is its exact value
            if Decimal(q).quantize(target, rounding=ROUND_HALF_UP) == target
        ]
        assert stats.wilcoxon_matches(p, decimals, range(1, 14)) == expected


def test_wilcoxon_matches_on_the_values_the_as_paper_reports():
    assert stats.wilcoxon_matches(0.0156, 4, [7, 8]) == [(7, 0, 0.015625), (8, 1, 0.015625)]
    assert stats.wilcoxon_matches(0.0078, 4, [8]) == [(8, 0, 0.0078125)]
    assert stats.wilcoxon_matches(0.078, 3, [8]) == [(8, 5, 0.078125)]
    assert stats.wilcoxon_matches(0.375, 3, [8]) == []
    assert stats.wilcoxon_matches(0.014, 3, [10]) == [(10, 4, 0.013671875)]
    # 0.007 needs at least 11 untied pairs
    assert stats.wilcoxon_matches(0.007, 3, range(1, 11)) == []
    assert stats.wilcoxon_matches(0.007, 3, [11])[0][:2] == (11, 4)


def test_wilcoxon_matches_rounding_convention_decides_ties():
    # n = 4, W = 0: p = 2/16 = 0.125 exactly
    assert (4, 0, 0.125) in stats.wilcoxon_matches("0.13", 2, [4], "half-up")
    assert (4, 0, 0.125) not in stats.wilcoxon_matches("0.12", 2, [4], "half-up")
    assert (4, 0, 0.125) in stats.wilcoxon_matches("0.12", 2, [4], "half-even")


# --------------------------------------------------------------------------
# percentages to counts


@pytest.mark.parametrize("rounding", vocabulary.ROUNDINGS)
@pytest.mark.parametrize(
    ("percent", "decimals"),
    [
        ("68.4", 1),
        ("43.8", 1),
        ("28.1", 1),
        ("12.5", 1),
        ("13", 0),
        ("12", 0),
        ("80", 0),
        ("0", 0),
        ("100.0", 1),
        ("14.9", 1),
    ],
)
def test_percent_to_counts_matches_enumeration(percent, decimals, rounding):
    expected = [
        (k, n)
        for n in range(1, 61)
        for k in range(n + 1)
        if decimal_round(100 * k, n, decimals, rounding) == Decimal(percent)
    ]
    assert granularity.percent_to_counts(percent, decimals, n_max=60, rounding=rounding) == expected


def test_percent_to_counts_on_the_crohns_abstract():
    assert granularity.percent_to_counts(57.4, 1, n=47) == [(27, 47)]
    assert granularity.percent_to_counts(10.6, 1, n=47) == [(5, 47)]
    assert granularity.percent_to_counts(28.1, 1, n=32) == [(9, 32)]
    assert granularity.percent_to_counts(68.4, 1, n=32) == []
    assert granularity.percent_to_counts(68.4, 1, n_max=32) == [(13, 19)]


def test_percent_to_counts_rounding_ties():
    # 1/8 = 12.5% exactly
    assert granularity.percent_to_counts(13, 0, n=8, rounding="half-up") == [(1, 8)]
    assert granularity.percent_to_counts(13, 0, n=8, rounding="half-even") == []
    assert granularity.percent_to_counts(12, 0, n=8, rounding="half-even") == [(1, 8)]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: granularity.percent_to_counts(68.4, 1, n=0),
            "percent_to_counts: n must be a positive integer, got 0",
        ),
        (
            lambda: granularity.percent_to_counts(68.45, 1, n=32),
            "percent_to_counts: 68.45 has more than 1 decimals",
        ),
        (
            lambda: granularity.percent_to_counts(101, 0, n=32),
            "percent_to_counts: percent must be between 0 and 100, got 101",
        ),
        (
            lambda: granularity.percent_to_counts(50, 0, rounding="up"),
            "'up' is not a valid Rounding",
        ),
    ],
)
def test_percent_to_counts_names_the_invalid_argument(call, message):
    with pytest.raises(ValueError) as error:
        call()
    assert str(error.value) == message


# --------------------------------------------------------------------------
# GRIM and GRIMMER


@pytest.mark.parametrize("rounding", vocabulary.ROUNDINGS)
@pytest.mark.parametrize("n", range(1, 8))
def test_grim_matches_enumeration_of_integer_samples(n, rounding):
    # Samples of n integers in 0..10 reach every total 0..10n, hence every
    # possible mean in [0, 10]; enumerate them rather than the totals.
    possible = {
        decimal_round(sum(sample), n, 2, rounding)
        for sample in itertools.combinations_with_replacement(range(11), n)
    }
    for hundredths in range(0, 1001):
        mean = Decimal(hundredths).scaleb(-2)
        assert granularity.grim(mean, 2, n, rounding).consistent == (mean in possible), mean


@FAST
@given(
    sample=st.lists(st.integers(-50, 50), min_size=1, max_size=40),
    decimals=st.integers(0, 3),
    rounding=st.sampled_from(vocabulary.ROUNDINGS),
)
def test_grim_accepts_every_mean_it_generates_from_integers(sample, decimals, rounding):
    mean = decimal_round(sum(sample), len(sample), decimals, rounding)
    verdict = granularity.grim(mean, decimals, len(sample), rounding)
    assert verdict.consistent and verdict.rounding == rounding and rounding in verdict.detail


def test_grim_verdicts_say_which_rounding_they_assume():
    # 274/8 = 34.25: a tie that only half-even rounds to 34.2
    up, even = granularity.grim(34.2, 1, 8), granularity.grim(34.2, 1, 8, rounding="half-even")
    assert not up.consistent and "half-up" in up.detail
    assert even.consistent and "half-even" in even.detail
    assert not granularity.grim(70.03, 2, 10).consistent
    assert not granularity.grim(6, 0, 12).informative and granularity.grim(5.5, 1, 8).informative


def sample_mean_sd(sample, mean_decimals, sd_decimals, rounding):
    """Rounded mean and sample SD of integers, via the decimal module."""
    n, total = len(sample), sum(sample)
    with localcontext() as ctx:
        ctx.prec = 60
        variance = (Decimal(sum(x * x for x in sample)) - Decimal(total) ** 2 / n) / (n - 1)
        sd = variance.sqrt().quantize(Decimal(1).scaleb(-sd_decimals), rounding=DECIMAL_ROUNDING[rounding])
    return decimal_round(total, n, mean_decimals, rounding), sd


@pytest.mark.parametrize(
    ("n", "rounding"), [(2, "half-up"), (3, "half-even"), (4, "half-up"), (5, "half-even")]
)
def test_grimmer_agrees_with_enumeration_of_integer_samples(n, rounding):
    values = range(-1, 11)
    possible = {sample_mean_sd(s, 1, 2, rounding) for s in itertools.combinations_with_replacement(values, n)}
    # Every reported pair that some integer sample produces is accepted ...
    for mean, sd in possible:
        assert granularity.grimmer(mean, sd, 1, 2, n, rounding).consistent, (mean, sd)
    # ... and every rejected pair with mean in [2, 7] and SD <= 1.5 has no
    # integer sample: such a sample lies within mean +- (SD + 0.005) sqrt(n - 1),
    # inside the enumerated values.
    rejected_after_grim = 0
    for tenths, hundredths in itertools.product(range(20, 71, 3), range(0, 151)):
        mean, sd = Decimal(tenths).scaleb(-1), Decimal(hundredths).scaleb(-2)
        verdict = granularity.grimmer(mean, sd, 1, 2, n, rounding)
        if not verdict.consistent:
            assert (mean, sd) not in possible
            rejected_after_grim += granularity.grim(mean, 1, n, rounding).consistent
    assert rejected_after_grim > 0  # the SD adds evidence beyond GRIM


def test_grimmer_flags_when_it_cannot_fail():
    verdict = granularity.grimmer(69.5, 21.2, 1, 1, 8)
    assert verdict.consistent and not verdict.informative and "adds nothing" in verdict.detail
    assert granularity.grimmer(2.0, 0.5, 1, 1, 3).informative
    assert not granularity.grimmer(34.2, 28, 1, 0, 8).consistent  # GRIM already fails
    with pytest.raises(ValueError, match="grimmer: n must be an integer >= 2, got 1"):
        granularity.grimmer(1.0, 0.0, 1, 1, 1)


# --------------------------------------------------------------------------
# paired comparisons and analysis sets


def test_paired_t_bounds_match_scipy_ttest_rel_at_the_sample_correlation():
    before = [5.1, 6.3, 4.8, 7.9, 3.2, 6.6, 5.5, 4.1]
    after = [3.0, 4.2, 4.9, 5.1, 2.2, 3.9, 4.4, 1.8]
    r = scipy.stats.pearsonr(before, after).statistic
    m_b, m_a = sum(before) / 8, sum(after) / 8
    s_b, s_a = scipy.stats.tstd(before), scipy.stats.tstd(after)
    row = stats.paired_t_bounds(m_b, s_b, m_a, s_a, 8, correlations=[r]).iloc[0]
    expected = scipy.stats.ttest_rel(after, before)
    assert row["t"] == pytest.approx(expected.statistic, rel=1e-10)
    assert row["p"] == pytest.approx(expected.pvalue, rel=1e-10)


def test_paired_t_bounds_shrink_sd_as_correlation_grows():
    table = stats.paired_t_bounds(4.97, 2.33, 3.1, 2.08, 8)
    assert list(table.columns) == ["correlation", "sd_change", "t", "p"]
    assert table["sd_change"].is_monotonic_decreasing and table["p"].is_monotonic_decreasing
    with pytest.raises(ValueError, match=r"correlations must be numbers in \[-1, 1\]"):
        stats.paired_t_bounds(4.97, 2.33, 3.1, 2.08, 8, correlations=[1.5])


def test_analysis_sets_for_the_as_response_rate():
    table = stats.analysis_sets(count=8, denominator_reported=10, enrolled=13, assessed=8)
    assert list(table.index) == list(stats.SET_ORDER)
    assert table[["k", "n"]].to_dict("index") == {
        "reported": {"k": 8, "n": 10},
        "itt": {"k": 8, "n": 13},
        "complete-case": {"k": 8, "n": 8},
        "best-case": {"k": 13, "n": 13},
        "worst-case": {"k": 8, "n": 13},
    }
    with pytest.raises(ValueError, match="need count <= assessed <= enrolled"):
        stats.analysis_sets(9, 10, 13, 8)
