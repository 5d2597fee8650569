"""What the methods chapter shows: the parameters, the four interval methods
side by side on real outcomes, the analysis sets, the Wilcoxon lattice and
the audit's checks with their assumptions.

Examples
--------
>>> table = interval_comparison([("demo", 8, 10)], 0.95)
>>> table["method"].tolist()
['wilson', 'clopper-pearson', 'jeffreys', 'agresti-coull']
>>> lattice(8).head(3)["p"].round(6).tolist()
[0.007812, 0.015625, 0.023438]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from thalbook.core import stats
from thalbook.core.vocabulary import CI_METHODS, EFFECTS, SCHEMA, allowed, allowed_values  # noqa: F401

#: Each check of the audit: what it compares, and what its verdict assumes.
CHECKS = {
    "percent-to-count": (
        "a printed percentage against whole counts: some k of the stated denominator (or of any n up to the "
        "analysis set or the enrolled total) must round to it",
        "the percentage is of whole patients; the stated rounding convention",
    ),
    "analysis-set": (
        "a proportion labelled with a set of patients whose size the paper states (ITT, enrolled, completers, "
        "endoscopy): its denominator, or its percentage, must fit that size",
        "the label means what it says",
    ),
    "grim": (
        "a mean of a measure recorded in whole units (ESR in mm/h) must be a whole total divided by n "
        "(GRIM)",
        "integer raw values; n stated, or bounded by the withdrawals; the rounding convention",
    ),
    "grimmer": (
        "the SD of such a measure must come from a whole sum of squares of the right parity (GRIMMER)",
        "as GRIM, and the sample SD (n - 1 denominator); not informative when the SD is printed too coarsely",
    ),
    "scale-bounds": (
        "a mean must lie on its scale, and its SD cannot exceed the largest spread possible on that scale",
        "the scale limits of the measure (BASDAI, BASFI and BAS-G 0-10; laboratory values from 0)",
    ),
    "wilcoxon-lattice": (
        "an exact two-sided Wilcoxon signed-rank p-value must be one of the few values its number of pairs "
        "allows",
        "the test the methods name, exact, with no ties; zero differences are dropped, which lowers n",
    ),
    "cross-place": (
        "the same quantity stated in several places (abstract, results, tables, captions) must agree",
        "the places describe the same patients and time point",
    ),
    "parts-sum": ("parts (withdrawals by reason, subgroups) against the whole they make up", "none"),
    "subgroup-size": ("a subgroup's count against the subgroup's size stated elsewhere", "none"),
    "withdrawals-total": ("enrolled minus withdrawn against completed", "every withdrawal is listed"),
    "withdrawals-vs-events": (
        "adverse events said to have led to withdrawal against withdrawals for adverse events",
        "each withdrawn patient is counted once",
    ),
    "summary-in-range": ("a mean or median against the range stated with it", "none"),
    "summary-label": ("the same number called a mean in one place and a median in another", "none"),
}


def parameter_table(defaults: dict, declared: dict[str, tuple[str, ...]]) -> pd.DataFrame:
    """One row per parameter: allowed values, default and the chapters that use it (MyST cells)."""
    rows = []
    for name in SCHEMA["properties"]:
        users = [chapter for chapter, names in declared.items() if name in names]
        rows.append({
            "parameter": f"`{name}`",
            "allowed values": allowed(name),
            "default": f"`{defaults.get(name, '')}`",
            "chapters that use it": ", ".join(users) or "none",
        })
    return pd.DataFrame(rows)


def parameter_effects() -> str:
    """What each parameter changes, as a MyST definition list (the reproducibility page says the same).

    Examples
    --------
    >>> parameter_effects().splitlines()[0]
    '`confidence_level`'
    """
    return "\n\n".join(f"`{name}`\n: {EFFECTS[name]}" for name in SCHEMA["properties"] if name in EFFECTS)


def interval_comparison(cases: list[tuple[str, int, int]], confidence_level: float) -> pd.DataFrame:
    """The interval of every method for each case ``(label, k, n)``.

    Returns
    -------
    pandas.DataFrame
        ``case, k, n, method, low, high, width`` (proportions), methods in
        the order of :data:`thalbook.core.CI_METHODS`.
    """
    rows = []
    for label, k, n in cases:
        for method in CI_METHODS:
            low, high = stats.proportion_ci(k, n, method, confidence_level)
            rows.append({"case": label, "k": k, "n": n, "method": method, "low": low, "high": high,
                         "width": high - low})
    return pd.DataFrame(rows)


def interval_figure(table: pd.DataFrame, method_in_force: str, confidence_level: float):
    """The four intervals of each case side by side; the method in force drawn solid, the others faded.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    from thalbook.chapters.figures import PALETTE

    cases = list(dict.fromkeys(table["case"]))
    methods = list(CI_METHODS)
    fig, ax = plt.subplots(figsize=(7.6, 0.9 + 0.95 * len(cases)))
    offsets = np.linspace(0.27, -0.27, len(methods))
    for i, case in enumerate(cases[::-1]):
        rows = table[table["case"].eq(case)].set_index("method")
        for offset, method, colour in zip(offsets, methods, PALETTE, strict=False):
            row = rows.loc[method]
            strong = method == method_in_force
            ax.hlines(i + offset, 100 * row["low"], 100 * row["high"], color=colour, lw=3.2 if strong else 1.8,
                      alpha=1 if strong else 0.55, label=method + (" (in force)" if strong else "") if i == 0 else None)
        estimate = rows.iloc[0]["k"] / rows.iloc[0]["n"]
        ax.plot([100 * estimate] * 2, [i - 0.38, i + 0.38], color="black", lw=1)
    ax.set_yticks(range(len(cases)), cases[::-1], fontsize=9)
    ax.set_xlim(-1, 101)
    ax.set_xlabel(f"proportion, % ({100 * confidence_level:g}% interval; black tick: the estimate k/n)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22 if len(cases) > 2 else -0.3), ncol=4, frameon=False,
              fontsize=8.5)
    fig.tight_layout()
    return fig


def lattice(n: int, p_max: float = 0.2) -> pd.DataFrame:
    """The exact two-sided Wilcoxon signed-rank p-values for n pairs, up to ``p_max``.

    Returns
    -------
    pandas.DataFrame
        ``W, p`` (exact) and ``count`` (sign patterns with W+ <= W, of 2^n).
    """
    values = stats.wilcoxon_pvalues(n)
    rows = [{"W": w, "p": p, "count": round(p * 2**n / 2)} for w, p in values.items() if p <= p_max]
    return pd.DataFrame(rows)


def analysis_set_table(count: int, reported: int, enrolled: int, assessed: int, ci_method: str,
                       confidence_level: float) -> pd.DataFrame:
    """A binary outcome under every analysis set, with its interval (see :func:`thalbook.core.stats.analysis_sets`)."""
    table = stats.analysis_sets(count, reported, enrolled, assessed)
    limits = [stats.proportion_ci(int(k), int(n), ci_method, confidence_level) for k, n in zip(table["k"], table["n"],
                                                                                                strict=True)]
    table["low"] = [low for low, _ in limits]
    table["high"] = [high for _, high in limits]
    return table
