"""One plotting style for the whole book, and the results chapters' figures drawn in it.

The style is colour-blind-safe, vector, deterministic and legible on a phone.

Figures are SVG in the HTML book and PDF in the LaTeX one (MyST-NB picks by
builder), with text kept as text. Every figure is :data:`WIDTH` inches wide
with no text below :data:`SMALLEST_PT` points: a phone 390 px wide shows the
book's figures about 342 px wide, which keeps that text at about 9 CSS pixels,
and in print a figure appears at its own size. So that narrow figures keep
their room for data, rows carry their labels above their marks (not beside
them) and legends go below the plot, wrapped. The helpers that lay rows and
legends out so are shared with :mod:`thalbook.chapters.diagrams`, which draws
the methods, safety and appraisal chapters' figures in the same style.
"""

from __future__ import annotations

import os
import textwrap

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

#: seaborn's colour-blind-safe palette (after Okabe and Ito), used everywhere.
PALETTE = sns.color_palette("colorblind")
#: The width of every figure, in inches.
WIDTH = 4.6
#: The size of tick labels, legends and annotations, and the smallest text in any figure, in points.
TEXT_PT = 9.5
SMALLEST_PT = 9.0
#: Characters of TEXT_PT text that fit across a figure (DejaVu Sans averages about 0.55 em).
_LINE_CHARS = 58
#: Height of a line of TEXT_PT text and of a row's marks, in inches, for rows labelled above their marks.
LINE_IN = 0.15
_MARK_IN = 0.21


def use_book_style() -> None:
    """Apply the book's style to matplotlib and seaborn (call once per chapter).

    Figures carry no date of their own: matplotlib writes ``SOURCE_DATE_EPOCH``
    into SVG and PDF files, and this sets it (to the epoch) unless the
    environment already does, so that a chapter run by papermill or in
    Jupyter draws the same bytes as one run by the build.
    """
    os.environ.setdefault("SOURCE_DATE_EPOCH", "0")
    sns.set_theme(context="paper", style="whitegrid", palette=PALETTE, font="DejaVu Sans")
    mpl.rcParams.update(
        {
            "figure.figsize": (WIDTH, 3.2),
            "figure.dpi": 110,
            "savefig.dpi": 110,
            "figure.constrained_layout.use": True,
            "font.size": TEXT_PT,
            "axes.labelsize": 10,
            "axes.titlesize": 10,
            "axes.titleweight": "bold",
            "xtick.labelsize": TEXT_PT,
            "ytick.labelsize": TEXT_PT,
            "legend.fontsize": TEXT_PT,
            "legend.title_fontsize": TEXT_PT,
            # Vector output: text stays text (searchable, and its size checkable), and a fixed
            # salt for the SVG ids (dates: SOURCE_DATE_EPOCH, above).
            "svg.hashsalt": "thalbook",
            "svg.fonttype": "none",
            # TrueType (Type 42) fonts, subset, in the PDF figures: journals' and archives' PDF checks
            # reject the Type 3 fonts matplotlib embeds by default. The subsetting costs about 0.07 CPU s
            # a font a figure (benchmarks/README.md).
            "pdf.fonttype": 42,
            # Labels come from the data package: a '$' there is a dollar sign,
            # not the start of mathtext (which would fail to parse and stop the chapter).
            "text.parse_math": False,
        }
    )
    # SVG for the HTML book and PDF for the LaTeX one (MyST-NB picks by builder: nb_mime_priority_overrides).
    try:
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("svg", "pdf")
    except Exception:  # not in a kernel (e.g. doctest): plain matplotlib is fine
        pass


def wrap(text: str, chars: int = _LINE_CHARS) -> str:
    """``text`` broken into lines of at most ``chars`` characters (one figure width by default).

    Examples
    --------
    >>> wrap("complete-case bound: stated withdrawals all before that week", 30)
    'complete-case bound: stated\\nwithdrawals all before that\\nweek'
    """
    return "\n".join(textwrap.wrap(str(text), chars, break_on_hyphens=False)) or str(text)


def legend_below(fig, handles, labels, chars: int = _LINE_CHARS - 8) -> None:
    """One legend under the plot, one entry per line, wrapped to the figure's width."""
    fig.legend(handles, [wrap(label, chars) for label in labels], loc="outside lower center", ncol=1,
               frameon=False)


def stacked_rows(labels) -> tuple[np.ndarray, np.ndarray, float]:
    """Where rows go when each carries its label above its marks: tops, centres and total height, in inches."""
    tops, centres, y = [], [], 0.0
    for label in labels:
        lines = label.count("\n") + 1
        tops.append(y)
        centres.append(y + LINE_IN * lines + _MARK_IN / 2)
        y += LINE_IN * lines + _MARK_IN + 0.03
    return np.array(tops), np.array(centres), y


def label_rows(ax, labels, tops, centres, total: float) -> None:
    """Write each row's label above its marks, left-aligned on the axes (y runs down, in inches)."""
    ax.set_yticks(centres, [""] * len(centres))
    ax.tick_params(axis="y", length=0)
    ax.set_ylim(total, 0)
    for top, label in zip(tops, labels, strict=True):
        # on a white ground, so that the grid lines it crosses do not cut its letters
        ax.text(0.01, top + 0.04, label, transform=ax.get_yaxis_transform(), ha="left", va="top",
                bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.6, "alpha": 0.85})


#: Marker and colour of each kind of estimate in the forest plots.
_KINDS = {
    "source": ("s", 0, True, "source study (this chapter)"),
    "thalidomide": ("o", 1, True, "thalidomide, other study"),
    "placebo": ("o", 2, False, "placebo arm"),
    "pooled": ("^", 7, False, "counts pooled by a review (not pooled here)"),
}


def _percent_axis(ax, axis: str = "x", label: str = "Patients (%)") -> None:
    # a little room beyond 0 and 100 so that a marker at either end is whole
    getattr(ax, f"set_{axis}lim")(-2, 102)
    getattr(ax, f"set_{axis}ticks")(range(0, 101, 20))
    getattr(ax, f"set_{axis}label")(label)


def _errors(table, low: str = "low", high: str = "high", centre: str = "proportion"):
    """Lower and upper error-bar lengths in percent."""
    return np.vstack([100 * (table[centre] - table[low]), 100 * (table[high] - table[centre])])


def remission_over_time(table, interval_text: str):
    """Clinical remission by week, with interval bars (and the complete-case bound if any).

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`thalbook.core.analyses.efficacy.remission_table` for one analysis set.
    interval_text : str
        What the bars are, for the legend (e.g. "95% Wilson interval").

    Examples
    --------
    >>> from thalbook.core.analyses import efficacy
    >>> from thalbook.core.evidence import data
    >>> fig = remission_over_time(efficacy.remission_table(data.load()), "95% Wilson interval")
    >>> [t.get_text() for t in fig.axes[0].get_xticklabels()]
    ['4', '8', '12', '24']
    >>> plt.close(fig)
    """
    use_book_style()
    fig, ax = plt.subplots(figsize=(WIDTH, 3.9))
    weeks = table["week"].to_numpy()
    ax.errorbar(weeks, 100 * table["proportion"], yerr=_errors(table), fmt="-o", color=PALETTE[0], capsize=4,
                label=f"in remission ({interval_text})")
    bounded = table[table["proportion_max"] > table["proportion"] + 1e-12]
    if len(bounded):
        ax.plot(bounded["week"], 100 * bounded["proportion_max"], "^", markerfacecolor="white", color=PALETTE[1],
                markersize=7, linestyle="none", label="complete-case bound: stated withdrawals all before that week")
    ax.set_xticks(weeks, [str(w) for w in weeks])
    ax.set_xlabel("Week of treatment")
    _percent_axis(ax, "y", "Patients in remission (%)")
    legend_below(fig, *ax.get_legend_handles_labels())
    return fig


def endoscopy_ranges(table, interval_text: str, set_name: str):
    """Endoscopic outcomes: estimate under the analysis set, the rate as reported, and the best-worst range.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`thalbook.core.analyses.efficacy.endoscopy_table` for one analysis set.
    interval_text, set_name : str
        Legend texts.

    Examples
    --------
    >>> from thalbook.core.analyses import efficacy
    >>> from thalbook.core.evidence import data
    >>> fig = endoscopy_ranges(efficacy.endoscopy_table(data.load()), "95% Wilson interval", "ITT")
    >>> len(fig.axes[0].get_yticklabels())
    3
    >>> plt.close(fig)
    """
    use_book_style()
    labels = [f"{label} ({k}/{n} as reported)"
              for label, k, n in zip(table["label"], table["k_reported"], table["n_reported"], strict=True)]
    tops, y, total = stacked_rows(labels)
    fig, ax = plt.subplots(figsize=(WIDTH, total + 2.0))
    ax.hlines(y, 100 * table["worst"], 100 * table["best"], color=PALETTE[7], alpha=0.45, linewidth=9,
              label="worst to best case for the patients without endoscopy")
    ax.errorbar(100 * table["proportion"], y, xerr=_errors(table), fmt="o", color=PALETTE[0], capsize=4,
                label=f"{set_name} ({interval_text})")
    ax.plot(100 * table["k_reported"] / table["n_reported"], y, "x", color=PALETTE[3], markersize=8,
            markeredgewidth=2, linestyle="none", label="as reported (denominator inferred)")
    label_rows(ax, labels, tops, y, total)
    _percent_axis(ax, "x", "Patients at week 24 (%)")
    legend_below(fig, *ax.get_legend_handles_labels())
    return fig


def forest(table, interval_text: str, xlabel: str):
    """Side-by-side proportions with intervals, one row per estimate, no pooled estimate.

    Labels carry the study (author and year), arm, outcome definition, time
    point and k/n; markers tell the source study, other thalidomide arms,
    placebo arms and a review's pooled counts apart.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`thalbook.core.analyses.context.context_table`.
    interval_text, xlabel : str
        Legend text of the bars; x-axis label.

    Examples
    --------
    >>> from thalbook.core.analyses import context
    >>> from thalbook.core.evidence import data
    >>> fig = forest(context.context_table(data.load(), "as"), "95% Wilson interval", "Responders (%)")
    >>> len(fig.axes[0].get_yticklabels())
    5
    >>> plt.close(fig)
    """
    use_book_style()
    labels = [wrap(f"{r['label']}, {r['arm']}: {r['outcome_definition']}, {r['timepoint']}; {r['count_text']}")
              for _, r in table.iterrows()]
    tops, y, total = stacked_rows(labels)
    fig, ax = plt.subplots(figsize=(WIDTH, total + 0.75 + 0.2 * len(set(table["kind"]))))
    seen = set()
    for yi, (_, row) in zip(y, table.iterrows(), strict=True):
        marker, colour, filled, legend = _KINDS[row["kind"]]
        ax.errorbar(100 * row["proportion"], yi,
                    xerr=[[100 * (row["proportion"] - row["low"])], [100 * (row["high"] - row["proportion"])]],
                    fmt=marker, color=PALETTE[colour], markerfacecolor=PALETTE[colour] if filled else "white",
                    markersize=6, capsize=3, label=None if row["kind"] in seen else legend)
        seen.add(row["kind"])
    label_rows(ax, labels, tops, y, total)
    _percent_axis(ax, "x", xlabel)
    handles, names = ax.get_legend_handles_labels()
    legend_below(fig, handles, [f"{n} ({interval_text})" if i == 0 else n for i, n in enumerate(names)])
    return fig


def _n_text(row) -> str:
    return str(row["n_min"]) if row["n_min"] == row["n_max"] else f"{row['n_min']} to {row['n_max']} (not stated)"


def as_means(table, measures, scale_max: float | None = None):
    """Mean ± SD at baseline and follow-up, one panel per measure, each comparison its own line.

    The week-8 comparison has its own baseline in the paper, so it is drawn
    as its own (dashed) pair rather than joined to the week-24 one. Panels go
    two to a row; with an odd number, the legend takes the last place.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`thalbook.core.analyses.changes.as_outcomes_table`.
    measures : sequence of str
        Measures to draw, one panel each.
    scale_max : float, optional
        Upper limit of the y axes (the 0-10 scale of the clinical indices).

    Examples
    --------
    >>> from thalbook.core.analyses import changes
    >>> from thalbook.core.evidence import data
    >>> fig = as_means(changes.as_outcomes_table(data.load()), ["basdai", "basfi"], 10)
    >>> [ax.get_ylabel() for ax in fig.axes]
    ['BASDAI (points)', 'BASFI (points)']
    >>> plt.close(fig)
    """
    use_book_style()
    columns = min(len(measures), 2)
    rows = -(-len(measures) // columns)
    fig, grid = plt.subplots(rows, columns, figsize=(WIDTH, 2.35 * rows + (0.7 if len(measures) % 2 == 0 else 0)),
                             squeeze=False)
    axes = list(grid.flat)
    for ax, measure in zip(axes, measures, strict=False):
        found = table[table["measure"].eq(measure)].sort_values("week", ascending=False)
        for i, (_, row) in enumerate(found.iterrows()):
            shift = 0.0 if i == 0 else 1.2  # keep the two baselines apart
            week = row["week"]
            ax.errorbar([0 + shift, week + shift], [row["baseline_mean"], row["followup_mean"]],
                        yerr=[row["baseline_sd"], row["followup_sd"]], fmt="-o" if i == 0 else "--s",
                        color=PALETTE[0] if i == 0 else PALETTE[1], markerfacecolor="white" if i else PALETTE[0],
                        capsize=3, label=f"week {week} vs its baseline, n = {_n_text(row)}")
        ax.set_xticks([0, 8, 24])
        ax.set_xlim(-2, 27)
        ax.set_xlabel("Week")
        ax.set_ylabel(f"{found['label'].iloc[0]} ({found['unit'].iloc[0]})")
        ax.set_ylim(0, scale_max)
    legend = {}
    for ax in axes[:len(measures)]:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            legend.setdefault(label, handle)
    spare = axes[len(measures):]
    if spare:  # the legend in the empty place beside the last panel
        spare[0].set_axis_off()
        spare[0].legend(legend.values(), [wrap(label, 24) for label in legend], loc="center", frameon=False)
    else:
        legend_below(fig, legend.values(), legend.keys())
    return fig


def reconstructed_trajectories(examples: pd.DataFrame):
    """One data set per measure that reproduces every printed summary: each patient a grey line, the printed
    means in black.

    Parameters
    ----------
    examples : pandas.DataFrame
        One row per measure: ``label``, ``unit``, ``week``, ``baseline`` and
        ``followup`` (the reconstructed values, patient by patient) and
        ``means`` (the printed baseline and follow-up means).

    Examples
    --------
    >>> examples = pd.DataFrame({"label": ["BAS-G"], "unit": ["points"], "week": [24],
    ...     "baseline": [[5.0, 7.0]], "followup": [[3.0, 4.0]], "means": [(6.0, 3.5)]})
    >>> fig = reconstructed_trajectories(examples)
    >>> fig.axes[0].get_title(), len(fig.axes[0].lines)
    ('BAS-G', 3)
    >>> plt.close(fig)
    """
    use_book_style()
    columns = 2 if len(examples) % 2 == 0 else min(len(examples), 3)  # full rows where possible
    rows = -(-len(examples) // columns)
    fig, grid = plt.subplots(rows, columns, figsize=(WIDTH, 2.3 * rows), squeeze=False)
    for ax, (_, row) in zip(grid.flat, examples.iterrows(), strict=False):
        for before, after in zip(row["baseline"], row["followup"], strict=True):
            ax.plot([0, row["week"]], [float(before), float(after)], color="0.6", linewidth=0.9, marker="o",
                    markersize=2.5)
        ax.plot([0, row["week"]], [float(m) for m in row["means"]], color="black", linewidth=2.2, marker="D",
                markersize=5, label="printed means")
        ax.set_title(row["label"])
        ax.set_xticks([0, row["week"]])
        ax.set_xlim(-3, row["week"] + 3)
        ax.set_xlabel("Week")
        ax.set_ylabel(row["unit"])
    for ax in list(grid.flat)[len(examples):]:
        ax.set_axis_off()
    return fig


def asas_sets(table, analysis_set: str, interval_text: str):
    """Responders under each analysis set, the set in force filled.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`thalbook.core.analyses.efficacy.asas_by_analysis_set`.
    analysis_set : str
        The set in force (drawn filled).
    interval_text : str
        Legend text of the bars.

    Examples
    --------
    >>> from thalbook.core.analyses import efficacy
    >>> from thalbook.core.evidence import data
    >>> fig = asas_sets(efficacy.asas_by_analysis_set(data.load()), "itt", "95% Wilson interval")
    >>> len(fig.axes[0].get_yticklabels())
    6
    >>> plt.close(fig)
    """
    from thalbook.core.vocabulary import SET_NAMES

    use_book_style()
    labels = [
        wrap(f"{'ASAS20' if r['outcome'] == 'asas20' else 'ASAS-40 (paper)'}, {SET_NAMES[r['analysis_set']]}: "
             f"{r['k']}/{r['n']}" + (" [in force]" if r["analysis_set"] == analysis_set else ""))
        for _, r in table.iterrows()
    ]
    tops, y, total = stacked_rows(labels)
    gap = np.where(table["outcome"].eq(table["outcome"].iloc[0]), 0.0, 0.2)  # a gap between outcomes
    tops, y, total = tops + gap, y + gap, total + gap.max()
    fig, ax = plt.subplots(figsize=(WIDTH, total + 0.8))
    colours = {"asas20": PALETTE[0], "asas40": PALETTE[2]}
    for yi, (_, row) in zip(y, table.iterrows(), strict=True):
        filled = row["analysis_set"] == analysis_set
        ax.errorbar(100 * row["proportion"], yi,
                    xerr=[[100 * (row["proportion"] - row["low"])], [100 * (row["high"] - row["proportion"])]],
                    fmt="o", color=colours[row["outcome"]],
                    markerfacecolor=colours[row["outcome"]] if filled else "white", markersize=7, capsize=3)
    label_rows(ax, labels, tops, y, total)
    _percent_axis(ax, "x", wrap(f"Responders at week 24 (%), {interval_text}", 48))
    return fig


def subtype_responses(table):
    """Response category by disease subtype, stacked counts of patients.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`thalbook.core.analyses.efficacy.response_by_subtype`.

    Examples
    --------
    >>> from thalbook.core.analyses import efficacy
    >>> from thalbook.core.evidence import data
    >>> fig = subtype_responses(efficacy.response_by_subtype(data.load()))
    >>> fig.axes[0].get_xlabel()
    'Patients (count)'
    >>> plt.close(fig)
    """
    use_book_style()
    labels = [f"{r['label']} (n = {r['n']})" for _, r in table.iterrows()]
    tops, y, total = stacked_rows(labels)
    fig, ax = plt.subplots(figsize=(WIDTH, total + 1.5))
    left = np.zeros(len(table))
    parts = (
        ("gt40", "> 40% improvement (abstract: > 50%)", PALETTE[0], ""),
        ("from20to40", "> 20% but < 40% (abstract: > 20%)", PALETTE[1], "//"),
        ("other", "no response, or left the trial", PALETTE[7], ".."),
    )
    for column, label, colour, hatch in parts:
        values = table[column].to_numpy()
        ax.barh(y, values, left=left, color=colour, hatch=hatch, edgecolor="white", label=label, height=_MARK_IN)
        left += values
    label_rows(ax, labels, tops, y, total)
    ax.set_xlabel("Patients (count)")
    ax.set_xticks(range(int(left.max()) + 1))
    legend_below(fig, *ax.get_legend_handles_labels())
    return fig
