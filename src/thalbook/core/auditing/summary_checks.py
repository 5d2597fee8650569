"""Verdicts on a reported mean, SD or p-value over the numbers of patients it may rest on.

The consistency audit (:mod:`thalbook.core.auditing.checks`) asks each of these about
one number of a continuous outcome, given the n it may rest on (one stated
n, or the range of patients still in the study) and a sentence saying where
that n comes from. Each returns ``(status, detail)``: a status of
:data:`thalbook.core.auditing.checks.STATUSES` and one sentence saying why, naming the
rounding convention where rounding decides. :func:`grim_check` and
:func:`lattice_check` add a third item, for inconsistent verdicts: what
would reconcile the numbers, and which of those the paper's text rules out.

``grim``, ``grimmer``
    the mean, and the SD, of a measure whose values are integers
    (:func:`grim_check`, :func:`grimmer_check`);
``scale-bounds``
    the mean lies on the measure's scale and the SD is no larger than the
    largest possible for that mean (:func:`scale_check`);
``wilcoxon-lattice``
    some number of pairs and statistic W give an exact p that rounds to the
    reported p-value (:func:`lattice_check`);
``reconstruction``
    whether n patients' paired values can reproduce both means and SDs,
    the bounds and the signed-rank statistic at once
    (:func:`reconstruction_check`, over :mod:`thalbook.core.inference.reconstruct`);
``test-method``, ``one-method``
    which test methods reproduce each p, and whether one method explains
    every p of a comparison's visit and of the paper (:func:`method_rows`,
    over :mod:`thalbook.core.inference.pvalue_methods`).

Examples
--------
>>> from decimal import Decimal
>>> grim_check(Decimal("34.2"), [8], "n = 8 as stated", "half-up")[0]
'inconsistent'
>>> lattice_check(Decimal("0.0156"), WILCOXON, [8], "n = 8 as stated", "half-up")[0]
'consistent'
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from decimal import Decimal

import pandas as pd

from thalbook.core.auditing.verdicts import Quantity, verdict
from thalbook.core.evidence.data import is_stated
from thalbook.core.inference import granularity, pvalue_methods, reconstruct, stats
from thalbook.core.inference.stats import places, short
from thalbook.core.vocabulary import other_roundings

#: The test whose p-values :func:`lattice_check` reproduces (``continuous_outcomes.test``).
WILCOXON = "wilcoxon-signed-rank"
#: The method of :data:`thalbook.core.inference.pvalue_methods.METHODS` that :func:`lattice_check` assumes.
ASSUMED_TEST = "exact"
#: Matches listed in a detail before "and k more".
LISTED = 6
_EXTRA_PAIRS = 40  # how far beyond the plausible n to look for the n a p-value needs


def _numbers(values: list[int]) -> str:
    return ", ".join(map(str, values))


def _n_limit(ns: list[int]) -> str:
    """Why another n is ruled out, in a few words."""
    if len(ns) == 1:
        return f"n = {ns[0]} is stated"
    return f"the timeline leaves {ns[0]} to {ns[-1]} patients"


def _grim_reconcile(mean: Decimal, ns: list[int], n_text: str, rounding: str) -> str:
    """What would let a mean that fails GRIM for every n in ``ns`` stand, and what the text rules out."""
    decimals = places(mean)
    options = [
        f"{other} rounding (n = {_numbers(allowed)})"
        for other in other_roundings(rounding)
        if (allowed := [n for n in ns if granularity.grim(mean, decimals, n, other).consistent])
    ]
    options.append("values that are not whole numbers, against the measure's stated granularity")
    reach = min(10**decimals, ns[-1] + 200)
    others = [n for n in range(1, reach) if n not in ns and granularity.grim(mean, decimals, n, rounding).consistent]
    ruled = (
        f"another n ({_numbers(others[:3])}{' or more' if len(others) > 3 else ''}), "
        f"which the text rules out ({_n_limit(ns)})"
        if others
        else f"no other n below {reach} would do"
    )
    return f"would reconcile: {'; '.join(options)}; {ruled}"


def grim_check(mean: Decimal, ns: list[int], n_text: str, rounding: str) -> tuple[str, str] | tuple[str, str, str]:
    """GRIM over every n in ``ns``: consistent if some n allows the mean, naming the other rounding if it would."""
    decimals = places(mean)
    verdicts = [granularity.grim(mean, decimals, n, rounding) for n in ns]
    passing = [n for n, v in zip(ns, verdicts, strict=True) if v.consistent]
    if not any(v.informative for v in verdicts):
        return (
            "not-checkable",
            f"GRIM cannot fail: with n >= {10**decimals} every mean to {decimals} decimals is possible; "
            f"{n_text}",
        )
    if len(ns) == 1:
        detail = verdicts[0].detail
    elif passing:
        detail = f"consistent ({rounding} rounding) with n = {_numbers(passing)}"
    else:
        detail = (
            f"inconsistent ({rounding} rounding): no integer total over any n from {ns[0]} to {ns[-1]} "
            f"gives {mean}"
        )
    for other_rounding in other_roundings(rounding) if not passing else ():
        other = [n for n in ns if granularity.grim(mean, decimals, n, other_rounding).consistent]
        if other:
            detail += f"; {other_rounding} rounding would allow n = {_numbers(other)}"
    if passing:
        return "consistent", f"{detail}; {n_text}"
    return "inconsistent", f"{detail}; {n_text}", _grim_reconcile(mean, ns, n_text, rounding)


def grimmer_check(mean: Decimal, sd: Decimal, ns: list[int], n_text: str, rounding: str) -> tuple[str, str]:
    """GRIMMER over the n for which the mean passes GRIM; not checkable where the SD cannot fail."""
    ns = [n for n in ns if n >= 2]
    grim_ok = [n for n in ns if granularity.grim(mean, places(mean), n, rounding).consistent]
    if not grim_ok:
        return (
            "not-checkable",
            f"the mean fails GRIM for every n, so the SD cannot be tested on its own; {n_text}",
        )
    verdicts = {n: granularity.grimmer(mean, sd, places(mean), places(sd), n, rounding) for n in grim_ok}
    if not any(v.informative for v in verdicts.values()):
        return "not-checkable", (
            f"GRIMMER adds nothing to GRIM here: SD {sd} to {places(sd)} decimals admits "
            f"sums of squares of both parities for n = {_numbers(grim_ok)}; {n_text}"
        )
    passing = [n for n, v in verdicts.items() if v.consistent]
    if len(verdicts) == 1:
        detail = next(iter(verdicts.values())).detail
    elif passing:
        detail = f"consistent ({rounding} rounding) with n = {_numbers(passing)}"
    else:
        detail = (
            f"inconsistent ({rounding} rounding): for n = {_numbers(grim_ok)} the mean passes GRIM but no "
            f"integer sum of squares gives SD {sd}"
        )
    return ("consistent" if passing else "inconsistent"), f"{detail}; {n_text}"


def _largest_sd(mean: float, n: int, low: float | None, high: float | None) -> float:
    """Largest sample SD of n values within [low, high] that have this mean.

    Two-sided: the Bhatia-Davis bound (mean - low)(high - mean), times
    n/(n - 1); one-sided: every value at the limit but one, (mean - limit)^2 n.
    """
    bounds = [(mean - low) ** 2 * n] if low is not None else []
    if high is not None:
        bounds.append((high - mean) ** 2 * n)
    if low is not None and high is not None:
        bounds.append((mean - low) * (high - mean) * n / (n - 1))
    return math.sqrt(max(min(bounds), 0.0))


def scale_check(
    measure: pd.Series, mean: Decimal, sd: Decimal | None, ns: list[int] | None, n_text: str
) -> tuple[str, str]:
    """The mean on the scale of ``measure`` (a row of ``measures.csv``), the SD within the largest possible."""
    low = float(measure["scale_min"]) if is_stated(measure["scale_min"]) else None
    high = float(measure["scale_max"]) if is_stated(measure["scale_max"]) else None
    scale = (
        f"{short(low)}-{short(high)} scale"
        if low is not None and high is not None
        else f"scale {'from ' + short(low) if high is None else 'up to ' + short(high)}"
    )
    half = 0.5 * 10.0 ** -places(mean)
    lowest, highest = float(mean) - half, float(mean) + half
    if (low is not None and highest < low) or (high is not None and lowest > high):
        return "inconsistent", f"mean {mean} lies outside the {scale}"
    detail = f"mean {mean} lies on the {scale}"
    if sd is None:
        return "consistent", detail
    ns = [n for n in ns or [] if n >= 2]
    if not ns:
        return "consistent", f"{detail}; the SD cannot be bounded without n ({n_text})"
    # the bound is largest at an end of the mean's rounding interval (kept on the scale), or at mid-scale
    means = [
        min(max(m, -math.inf if low is None else low), math.inf if high is None else high)
        for m in (lowest, highest)
    ]
    if low is not None and high is not None and lowest < (low + high) / 2 < highest:
        means.append((low + high) / 2)
    largest = max(_largest_sd(m, n, low, high) for m in means for n in ns)
    fits = float(sd) - 0.5 * 10.0 ** -places(sd) <= largest
    return ("consistent" if fits else "inconsistent"), (
        f"{detail}; SD {sd} {'is within' if fits else 'exceeds'} {short(largest, 2)}, the largest possible "
        f"for that mean on that scale with n = {ns[0] if len(ns) == 1 else f'{ns[0]} to {ns[-1]}'}; {n_text}"
    )


def lattice_check(
    p: Decimal, test: str, ns: list[int] | None, n_text: str, rounding: str
) -> tuple[str, str] | tuple[str, str, str]:
    """Every exact Wilcoxon p with up to ``max(ns)`` pairs that rounds to ``p`` (only for :data:`WILCOXON`)."""
    if test != WILCOXON:
        return (
            "not-checkable",
            f"the test is {test or 'not named'}; only Wilcoxon signed-rank p-values are checked",
        )
    if ns is None:
        return "not-checkable", n_text
    low, high = ns[0], ns[-1]
    assumed = f"exact two-sided test, untied non-zero differences, {rounding} rounding"
    matches = stats.wilcoxon_matches(p, places(p), range(1, high + 1), rounding)
    inside = [m for m in matches if m[0] >= low]
    if inside:
        shown = "; ".join(f"n = {n}, W = {w} (p = {short(q, 6)})" for n, w, q in inside[:LISTED])
        return "consistent", f"reproduced by {shown} ({assumed}); {n_text}"
    if matches:
        shown = "; ".join(f"n = {n}, W = {w}" for n, w, _ in matches[-3:])
        return "consistent", (
            f"reproduced only with fewer non-zero differences than the {low} or more pairs "
            f"({shown}): possible if some changes were zero, which the test drops ({assumed}); {n_text}"
        )
    lattice = sorted((abs(q - float(p)), q, n, w) for n in ns for w, q in stats.wilcoxon_pvalues(n).items())
    nearest = "; ".join(f"{short(q, 6)} (n = {n}, W = {w})" for _, q, n, w in lattice[:2])
    # the fewest pairs that would do: stop at the first n that has one (larger lattices cost the most)
    more = next((match for n in range(high + 1, high + _EXTRA_PAIRS + 1)
                 for match in stats.wilcoxon_matches(p, places(p), [n], rounding)), None)
    needs = f"; it needs at least {more[0]} pairs (W = {more[1]})" if more else ""
    options = [
        f"{other} rounding"
        for other in other_roundings(rounding)
        if stats.wilcoxon_matches(p, places(p), range(low, high + 1), other)
    ]
    options.append("another test method (see the test-method check)")
    ruled = f"more pairs (n = {more[0]}), which the text rules out ({_n_limit(ns)})" if more else ""
    return (
        "inconsistent",
        f"no exact p with up to {high} pairs rounds to {p} ({assumed}); nearest {nearest}{needs}; {n_text}",
        f"would reconcile: {'; '.join(options)}" + (f"; {ruled}" if ruled else ""),
    )


#: The methods that a paper naming the Wilcoxon signed-rank test may have run.
SIGNED_RANK = ("exact", "exact-ties", "normal", "normal-cc")
#: What the p-values of every comparison of a paper are called together (:func:`pvalue_topic`).
ALL_COMPARISONS = "all comparisons"


def values_topic(measure: str, comparison: str) -> str:
    """The audit topic of the means, SDs and n of one measure in one comparison (baseline and follow-up).

    Examples
    --------
    >>> values_topic("esr", "week 24 vs baseline")
    'esr (week 24 vs baseline) values'
    """
    return f"{measure} ({comparison}) values"


def pvalue_topic(comparison: str) -> str:
    """The audit topic of the p-values of one comparison (one visit against baseline), every measure's.

    The lattice check of each p-value, the test-method check of each and
    the one-method check of the visit judge one question, whether one
    signed-rank test gives the visit's p-values: one topic, one finding.

    Examples
    --------
    >>> pvalue_topic("week 8 vs baseline")
    'p-values (week 8 vs baseline)'
    """
    return f"p-values ({comparison})"


def _places(cells) -> str:
    """Distinct places of cells that each may join several with ``"; "``."""
    return "; ".join(dict.fromkeys(p for cell in cells for p in str(cell).split("; ")))


def reproduced_text(methods: Mapping[str, str]) -> str:
    """The test methods that reproduce a printed p, each with its matches: a ``test-method`` row's ``methods``
    (:data:`thalbook.core.auditing.verdicts.STRUCTURE`) in words, as its ``detail`` says them.

    Examples
    --------
    >>> reproduced_text({"exact": "n = 8: W = 1", "paired-t": "n = 8: r from 0.720 to 0.721"})
    'exact signed-rank test (no ties, zero differences dropped) (n = 8: W = 1); paired t-test from mean ± SD, \
correlation unknown (n = 8: r from 0.720 to 0.721)'
    >>> reproduced_text({})
    'no method'
    """
    shown = [f"{pvalue_methods.METHOD_LABELS[method]} ({matches})" for method, matches in methods.items()]
    return "; ".join(shown) or "no method"


def explained_text(comparison: str, methods: Mapping[str, str]) -> str:
    """Whether one signed-rank method gives every p-value of ``comparison`` (or of the paper, for
    :data:`ALL_COMPARISONS`): a ``one-method`` row's keys and ``methods`` in words, as its ``detail`` says them.

    ``methods`` maps each method that gives every p-value to the n common
    to all of them, in words (``""`` when there is none).

    Examples
    --------
    >>> explained_text("week 8 vs baseline", {"paired-t": ""})
    'no one signed-rank method explains every p-value of week 8 vs baseline (only the paired t-test, each \
outcome with its own correlation)'
    >>> explained_text(ALL_COMPARISONS, {"exact": "exact n=8", "normal": ""})
    'one signed-rank method explains every p-value of the paper: exact signed-rank test (no ties, zero \
differences dropped), signed-rank normal approximation without continuity correction (one n: exact n=8)'
    """
    explaining = [m for m in methods if m in SIGNED_RANK]
    scope = "every p-value of the paper" if comparison == ALL_COMPARISONS else f"every p-value of {comparison}"
    if not explaining:
        return f"no one signed-rank method explains {scope}" + (
            " (only the paired t-test, each outcome with its own correlation)" if "paired-t" in methods else "")
    same = [n for n in methods.values() if n]
    return (f"one signed-rank method explains {scope}: "
            + ", ".join(pvalue_methods.METHOD_LABELS[m] for m in explaining)
            + (f" (one n: {', '.join(same)})" if same else ""))


def method_rows(reported: pd.DataFrame, rounding: str) -> list[dict]:
    """Which test methods reproduce each printed p, and whether one explains a visit and a paper.

    Parameters
    ----------
    reported : pandas.DataFrame
        One row per distinct printed p of a paired comparison: ``study``,
        ``quantity`` (what it is about, a :class:`thalbook.core.auditing.verdicts.Quantity`),
        ``location`` (its places), ``group`` (the comparison),
        ``p`` (as printed), ``n_values`` (numbers of non-zero differences
        to try), ``n_pairs`` (numbers of pairs), ``n_text`` (where the n comes
        from), ``summaries`` (mean and SD before and after, or None) and
        ``topic`` (the audit topic of the p-value).
    rounding : str
        The rounding convention of the verdicts.

    Returns
    -------
    list of dict
        ``test-method`` rows (consistent when a signed-rank method
        reproduces the p) and ``one-method`` rows per group (topic
        :func:`pvalue_topic` of the group) and per study (topic
        :func:`pvalue_topic` of :data:`ALL_COMPARISONS`, implied by a failing
        group's). Each carries ``tests``, for every method of
        :data:`SIGNED_RANK` whether it reproduces the p, or explains every p,
        and ``methods``, each method that does with its matches or the n common
        to every p, in words (:func:`reproduced_text`, :func:`explained_text`).

    Examples
    --------
    >>> crp = Quantity("measure", "crp", week="24", comparison="week 24 vs baseline")
    >>> reported = pd.DataFrame([{"study": "s", "quantity": crp, "location": "results",
    ...     "group": "week 24 vs baseline", "p": "0.078", "n_values": [8], "n_pairs": [8], "n_text": "n = 8 as stated",
    ...     "summaries": None, "topic": "p-values (week 24 vs baseline)"}])
    >>> [(r["check"], r["status"]) for r in method_rows(reported, "half-up")]
    [('test-method', 'consistent'), ('one-method', 'consistent')]
    """
    rows: list[dict] = []
    for study, part in reported.groupby("study", sort=False):
        part = part.reset_index(drop=True)
        ids = part.index.astype(str)
        # zero changes drop out of a signed-rank test (fewer differences than pairs), not out of a t-test
        table = pd.concat([
            pvalue_methods.method_table(part.assign(id=ids), roundings=[rounding], methods=SIGNED_RANK),
            pvalue_methods.method_table(part.assign(id=ids, n_values=part["n_pairs"]), roundings=[rounding],
                                        methods=["paired-t"]),
        ], ignore_index=True)
        for index, record in part.iterrows():
            hits = table[table["id"].eq(str(index))]
            signed = hits[hits["method"].isin(SIGNED_RANK)]
            ok = signed["reproduces"].any()
            rescued = [] if ok else [
                other for other in other_roundings(rounding)
                if pvalue_methods.reproducing(record["p"], places(Decimal(record["p"])), record["n_values"],
                                              rounding=other, methods=SIGNED_RANK).shape[0]
            ]
            methods = {r["method"]: r["detail"] for _, r in hits[hits["reproduces"]].iterrows()}
            rows.append(verdict(
                study, record["quantity"], record["location"], f"p = {record['p']}", "test-method",
                "consistent" if ok else "inconsistent",
                f"reproduced by {reproduced_text(methods)} ({rounding} rounding); {record['n_text']}",
                "" if ok else "would reconcile: " + "; ".join(
                    [f"{r} rounding" for r in rescued] + ["another n than the text allows"]),
                topic=record["topic"], tests=dict(zip(signed["method"], signed["reproduces"].astype(bool),
                                                      strict=True)), methods=methods,
            ))
        common = pvalue_methods.common_methods(table)
        visits = tuple(pvalue_topic(g) for g in dict.fromkeys(part["group"]))
        for _, group in common.iterrows():
            explaining = [m for m in group["methods"] if m in SIGNED_RANK]
            whole = group["group"] == pvalue_methods.OVERALL
            if group["p_values"] < 2 and not whole:
                continue
            comparison = ALL_COMPARISONS if whole else group["group"]
            # each method with the n common to every p, as common_methods words it ("exact n=8"), if any
            methods = {m: next((n for n in group["same_n"] if n.split(" n=")[0] == m), "") for m in group["methods"]}
            rows.append(verdict(
                study, Quantity("test-method", comparison=comparison),
                _places(part["location"] if whole else part.loc[part["group"].eq(group["group"]), "location"]),
                f"{group['p_values']} p-values", "one-method",
                "consistent" if explaining else "inconsistent",
                f"{explained_text(comparison, methods)} ({rounding} rounding)",
                "" if explaining else "would reconcile: different tests or n for different outcomes, "
                "which the methods, naming one test, do not say",
                topic=pvalue_topic(ALL_COMPARISONS if whole else group["group"]),
                tests={m: m in group["methods"] for m in SIGNED_RANK}, methods=methods,
                implied_by=visits if whole else (),
            ))
    return rows


# Deterministic for the same arguments; the audit chapter and the AS chapter ask for the same ones.
_reconstruct = functools.lru_cache(maxsize=256)(reconstruct.reconstruct_paired)

#: Branch-and-bound nodes each solver sub-problem of a reconstruction may explore before it is left undecided: a
#: limit of work, so that the verdict is the same on every machine.
RECONSTRUCTION_NODES = 500
#: Seconds a reconstruction may take in all, a safety net far above what the node limit needs here.
RECONSTRUCTION_BUDGET = 60.0


def _grid(measure: pd.Series, mean: Decimal) -> tuple[Decimal, str]:
    """The step values lie on, and what it rests on: whole units, or the printed precision (an assumption)."""
    if measure["value_type"] == "integer":
        return Decimal(1), "whole units, as the measure is defined"
    step = Decimal(1).scaleb(-places(mean))
    return step, f"steps of {step}, the precision of the printed mean (an assumption)"


def reconstructions(printed, p: Decimal, ns: list[int], measure: pd.Series, rounding: str) -> list[tuple]:
    """For each n in ``ns`` with an exact signed-rank W for the printed p, the reconstruction of the comparison.

    The values lie on whole units for an integer measure and otherwise on the
    printed precision of the baseline mean (an assumption); the lower bound
    is the scale's, the upper bound the scale's or, without one, the largest
    value the printed mean and SD allow ((n - 1) SD / sqrt(n) above the
    mean). Each solver sub-problem may explore :data:`RECONSTRUCTION_NODES`
    nodes, so that the verdict does not depend on the machine.

    Returns
    -------
    list of (n, W, Reconstruction, grid)
        ``grid`` says in words what the step rests on.
    """
    (mean_0, sd_0), (mean_1, sd_1) = printed
    step, grid = _grid(measure, mean_0)
    low = Decimal(0) if pd.isna(measure["scale_min"]) else Decimal(str(measure["scale_min"]))
    outcomes = []
    for n in ns:
        ws = reconstruct.signed_rank_w(p, places(p), n, rounding)
        if not ws or n < 2:
            continue
        if pd.isna(measure["scale_max"]):
            reach = max(m + (n - 1) * (sd + Decimal(1).scaleb(-places(sd))) / Decimal(n).sqrt()
                        for m, sd in printed)
            high = (reach / step).to_integral_value(rounding="ROUND_CEILING") * step
        else:
            high = Decimal(str(measure["scale_max"]))
        result = _reconstruct(
            reconstruct.Summary(mean_0, places(mean_0), sd_0, places(sd_0)),
            reconstruct.Summary(mean_1, places(mean_1), sd_1, places(sd_1)),
            n, step=step, low=low, high=high, w=ws[0],
            direction="decrease" if mean_1 <= mean_0 else "increase", rounding=rounding,
            time_limit=RECONSTRUCTION_BUDGET / len(ns), seed=0, node_limit=RECONSTRUCTION_NODES)
        outcomes.append((n, ws[0], result, grid))
    return outcomes


def reconstruction_check(outcomes: list[tuple], p: Decimal, ns: list[int],
                         n_text: str) -> tuple[str, str] | tuple[str, str, str]:
    """The verdict on :func:`reconstructions`: can n patients' paired values give every printed summary at once?

    Returns
    -------
    tuple
        ``consistent`` with an example data set (feasible for some n),
        ``inconsistent`` with the reasons (infeasible for every n) and what
        would reconcile it, or ``not-checkable`` when no n has an exact W or
        the budget ran out.

    Examples
    --------
    >>> esr = pd.Series({"value_type": "integer", "scale_min": 0.0, "scale_max": float("nan")})
    >>> printed = [(Decimal("69.5"), Decimal("21.2")), (Decimal("34.2"), Decimal("28"))]
    >>> found = reconstructions(printed, Decimal("0.0156"), [8], esr, "half-even")
    >>> reconstruction_check(found, Decimal("0.0156"), [8], "n = 8 as stated")[0]
    'consistent'
    """
    if not outcomes:
        return "not-checkable", f"no n of {_numbers(ns)} has an exact signed-rank W for p = {p}; {n_text}"
    grid = outcomes[0][3]
    feasible = [(n, w, r) for n, w, r, _ in outcomes if r.verdict == "feasible"]
    if feasible:
        n, w, result = feasible[0]
        before, after = (" ".join(map(str, values)) for values in result.example)
        return "consistent", (
            f"n = {n} patients can give every printed summary and W = {w} at once, on {grid}; one such data set "
            f"(not the patients' data): baseline {before}; follow-up {after}; {n_text}")
    if any(r.verdict == "undecided" for _, _, r, _ in outcomes):
        return "not-checkable", (f"undecided within {RECONSTRUCTION_NODES} solver nodes per sub-problem on {grid}: "
                                 f"{outcomes[0][2].reason}; {n_text}")
    reasons = "; ".join(f"n = {n}: {r.reason}" for n, _, r, _ in outcomes)
    return "inconsistent", f"no data set on {grid} gives them all: {reasons}; {n_text}", (
        "would reconcile: values on a finer grid than assumed, another rounding, or another n than the text "
        "states or allows")
