"""One plotting style for the whole book: colour-blind-safe, deterministic PNG.

Figures are PNG so that they appear in the PDF as well as the HTML (the
LaTeX builder takes no SVG), at a fixed size and resolution so that two
builds from the same inputs give byte-identical images.
"""

from __future__ import annotations

import os
import textwrap

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from thalbook.core.safety import STATED_BASIS

#: seaborn's colour-blind-safe palette (after Okabe and Ito), used everywhere.
PALETTE = sns.color_palette("colorblind")


def use_book_style() -> None:
    """Apply the book's style to matplotlib and seaborn (call once per chapter).

    Figures carry no date of their own: matplotlib writes ``SOURCE_DATE_EPOCH``
    into SVG and PDF files, and this sets it (to the epoch) unless the
    environment already does, so that a chapter run by papermill or in
    Jupyter draws the same bytes as one run by the build.
    """
    os.environ.setdefault("SOURCE_DATE_EPOCH", "0")
    sns.set_theme(context="notebook", style="whitegrid", palette=PALETTE, font="DejaVu Sans")
    mpl.rcParams.update(
        {
            "figure.figsize": (7.0, 4.0),
            "figure.dpi": 110,
            "savefig.dpi": 110,
            "axes.titleweight": "bold",
            # Vector output: text stays text (searchable, and its size checkable), and a fixed
            # salt for the SVG ids (dates: SOURCE_DATE_EPOCH, above).
            "svg.hashsalt": "thalbook",
            "svg.fonttype": "none",
            "pdf.fonttype": 3,
            "figure.autolayout": False,
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


# --------------------------------------------------------------------------
# efficacy figures: each takes a table of thalbook.core.efficacy and returns a Figure

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
        :func:`thalbook.core.efficacy.remission_table` for one analysis set.
    interval_text : str
        What the bars are, for the legend (e.g. "95% Wilson interval").

    Examples
    --------
    >>> from thalbook.core import data, efficacy
    >>> fig = remission_over_time(efficacy.remission_table(data.load()), "95% Wilson interval")
    >>> [t.get_text() for t in fig.axes[0].get_xticklabels()]
    ['4', '8', '12', '24']
    >>> plt.close(fig)
    """
    use_book_style()
    fig, ax = plt.subplots(figsize=(7.0, 4.0))
    weeks = table["week"].to_numpy()
    ax.errorbar(
        weeks,
        100 * table["proportion"],
        yerr=_errors(table),
        fmt="-o",
        color=PALETTE[0],
        capsize=4,
        label=f"in remission ({interval_text})",
    )
    bounded = table[table["proportion_max"] > table["proportion"] + 1e-12]
    if len(bounded):
        ax.plot(
            bounded["week"],
            100 * bounded["proportion_max"],
            "^",
            markerfacecolor="white",
            color=PALETTE[1],
            markersize=8,
            linestyle="none",
            label="complete-case bound: stated withdrawals all before that week",
        )
    ax.set_xticks(weeks, [str(w) for w in weeks])
    ax.set_xlabel("Week of treatment")
    _percent_axis(ax, "y", "Patients in clinical remission (%)")
    ax.legend(loc="upper left", frameon=True, fontsize=9)
    fig.tight_layout()
    return fig


def endoscopy_ranges(table, interval_text: str, set_name: str):
    """Endoscopic outcomes: estimate under the analysis set, the rate as reported, and the best-worst range.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`thalbook.core.efficacy.endoscopy_table` for one analysis set.
    interval_text, set_name : str
        Legend texts.

    Examples
    --------
    >>> from thalbook.core import data, efficacy
    >>> fig = endoscopy_ranges(efficacy.endoscopy_table(data.load()), "95% Wilson interval", "ITT")
    >>> len(fig.axes[0].get_yticklabels())
    3
    >>> plt.close(fig)
    """
    use_book_style()
    fig, ax = plt.subplots(figsize=(7.0, 3.4))
    y = np.arange(len(table))[::-1]
    ax.hlines(
        y,
        100 * table["worst"],
        100 * table["best"],
        color=PALETTE[7],
        alpha=0.45,
        linewidth=11,
        label="worst to best case for the patients without endoscopy",
    )
    ax.errorbar(
        100 * table["proportion"],
        y,
        xerr=_errors(table),
        fmt="o",
        color=PALETTE[0],
        capsize=4,
        label=f"{set_name} ({interval_text})",
    )
    ax.plot(
        100 * table["k_reported"] / table["n_reported"],
        y,
        "x",
        color=PALETTE[3],
        markersize=9,
        markeredgewidth=2,
        linestyle="none",
        label="as reported (denominator inferred)",
    )
    ax.set_yticks(
        y,
        [
            f"{label}\n({k}/{n} as reported)"
            for label, k, n in zip(table["label"], table["k_reported"], table["n_reported"], strict=True)
        ],
    )
    _percent_axis(ax, "x", "Patients at week 24 (%)")
    ax.set_ylim(-0.7, len(table) - 0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=1, fontsize=9, frameon=False)
    fig.tight_layout()
    return fig


def forest(table, interval_text: str, xlabel: str):
    """Side-by-side proportions with intervals, one row per estimate, no pooled estimate.

    Labels carry the study (author and year), arm, outcome definition, time
    point and k/n; markers tell the source study, other thalidomide arms,
    placebo arms and a review's pooled counts apart.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`thalbook.core.efficacy.context_table`.
    interval_text, xlabel : str
        Legend text of the bars; x-axis label.

    Examples
    --------
    >>> from thalbook.core import data, efficacy
    >>> fig = forest(efficacy.context_table(data.load(), "as"), "95% Wilson interval", "Responders (%)")
    >>> len(fig.axes[0].get_yticklabels())
    4
    >>> plt.close(fig)
    """
    use_book_style()
    rows = len(table)
    fig, ax = plt.subplots(figsize=(7.5, 0.75 * rows + 1.6))
    y = np.arange(rows)[::-1]
    seen = set()
    for yi, (_, row) in zip(y, table.iterrows(), strict=True):
        marker, colour, filled, legend = _KINDS[row["kind"]]
        ax.errorbar(
            100 * row["proportion"],
            yi,
            xerr=[[100 * (row["proportion"] - row["low"])], [100 * (row["high"] - row["proportion"])]],
            fmt=marker,
            color=PALETTE[colour],
            markerfacecolor=PALETTE[colour] if filled else "white",
            markersize=7,
            capsize=3,
            label=None if row["kind"] in seen else legend,
        )
        seen.add(row["kind"])
    labels = [
        f"{r['label']}, {r['arm']}\n{r['outcome_definition']}, {r['timepoint']}\n{r['count_text']}"
        for _, r in table.iterrows()
    ]
    ax.set_yticks(y, labels, fontsize=8.5)
    ax.set_ylim(-0.6, rows - 0.4)
    _percent_axis(ax, "x", xlabel)
    handles, names = ax.get_legend_handles_labels()
    names = [f"{n} ({interval_text})" if i == 0 else n for i, n in enumerate(names)]
    height = fig.get_size_inches()[1]
    fig.legend(handles, names, loc="lower center", ncol=2, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.6 / height, 1, 1))
    return fig


def _n_text(row) -> str:
    return str(row["n_min"]) if row["n_min"] == row["n_max"] else f"{row['n_min']} to {row['n_max']} (not stated)"


def as_means(table, measures, scale_max: float | None = None):
    """Mean ± SD at baseline and follow-up, one panel per measure, each comparison its own line.

    The week-8 comparison has its own baseline in the paper, so it is drawn
    as its own (dashed) pair rather than joined to the week-24 one.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`thalbook.core.efficacy.as_outcomes_table`.
    measures : sequence of str
        Measures to draw, one panel each.
    scale_max : float, optional
        Upper limit of the y axes (the 0-10 scale of the clinical indices).

    Examples
    --------
    >>> from thalbook.core import data, efficacy
    >>> fig = as_means(efficacy.as_outcomes_table(data.load()), ["basdai", "basfi"], 10)
    >>> [ax.get_ylabel() for ax in fig.axes]
    ['BASDAI (points)', 'BASFI (points)']
    >>> plt.close(fig)
    """
    use_book_style()
    fig, axes = plt.subplots(1, len(measures), figsize=(7.0, 3.6), sharey=scale_max is not None)
    axes = [axes] if len(measures) == 1 else list(axes)
    for ax, measure in zip(axes, measures, strict=True):
        rows = table[table["measure"].eq(measure)].sort_values("week", ascending=False)
        for i, (_, row) in enumerate(rows.iterrows()):
            shift = 0.0 if i == 0 else 1.2  # keep the two baselines apart
            week = row["week"]
            ax.errorbar(
                [0 + shift, week + shift],
                [row["baseline_mean"], row["followup_mean"]],
                yerr=[row["baseline_sd"], row["followup_sd"]],
                fmt="-o" if i == 0 else "--s",
                color=PALETTE[0] if i == 0 else PALETTE[1],
                markerfacecolor="white" if i else PALETTE[0],
                capsize=3,
                label=f"week {week} vs its baseline, n = {_n_text(row)}",
            )
        ax.set_xticks([0, 8, 24])
        ax.set_xlim(-2, 27)
        ax.set_xlabel("Week")
        ax.set_ylabel(f"{rows['label'].iloc[0]} ({rows['unit'].iloc[0]})")
        ax.set_ylim(0, scale_max)
    legend = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            legend.setdefault(label, handle)
    fig.legend(legend.values(), legend.keys(), loc="lower center", ncol=1, fontsize=9, frameon=False)
    fig.tight_layout(rect=(0, 0.15, 1, 1))
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
    fig, axes = plt.subplots(1, len(examples), figsize=(7.0, 2.9), squeeze=False)
    for ax, (_, row) in zip(axes[0], examples.iterrows(), strict=True):
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
    fig.tight_layout()
    return fig


def specification_curve(table: pd.DataFrame, choices: dict[str, list]):
    """A specification curve per outcome: every estimate with its interval, sorted, and the choices below.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`thalbook.core.multiverse.multiverse` (rows with a ``note`` are left out).
    choices : dict
        Choice -> its values, in the order they are marked.

    Examples
    --------
    >>> t = pd.DataFrame({"outcome": ["x", "x"], "method": ["a", "b"], "proportion": [0.5, 0.6],
    ...                   "low": [0.3, 0.4], "high": [0.7, 0.8], "note": ["", ""]})
    >>> fig = specification_curve(t, {"method": ["a", "b"]})
    >>> len(fig.axes)
    2
    >>> plt.close(fig)
    """
    use_book_style()
    table = table[table["note"].eq("")]
    outcomes = list(dict.fromkeys(table["outcome"]))
    labels = [f"{choice} = {value}" for choice, values in choices.items() for value in values]
    fig, axes = plt.subplots(2, len(outcomes), figsize=(7.0, 2.2 + 0.18 * len(labels)), squeeze=False,
                             gridspec_kw={"height_ratios": [1.0, 0.09 * len(labels)]}, sharex="col")
    for column, outcome in enumerate(outcomes):
        part = table[table["outcome"].eq(outcome)].sort_values(["proportion", "low"]).reset_index(drop=True)
        top, bottom = axes[0][column], axes[1][column]
        x = range(len(part))
        top.vlines(x, 100 * part["low"], 100 * part["high"], color=PALETTE[0], linewidth=0.6)
        top.plot(x, 100 * part["proportion"], "o", color="black", markersize=1.8)
        top.axhline(50, color="0.5", linewidth=0.7, linestyle="--")
        top.set_title(outcome.replace(": ", ":\n", 1), fontsize=8)
        top.set_ylim(0, 100)
        if column == 0:
            top.set_ylabel("Patients (%)")
        for row, (choice, values) in enumerate((c, v) for c, vs in choices.items() for v in vs):
            marked = [i for i, value in enumerate(part[choice]) if value == values]
            bottom.plot(marked, [row] * len(marked), "|", color="black", markersize=3)
        # 7 pt: at least 6 pt once the figure is scaled to the A4 text width (the PDF test's minimum)
        bottom.set_yticks(range(len(labels)), labels if column == 0 else [""] * len(labels), fontsize=7)
        bottom.set_ylim(len(labels) - 0.5, -0.5)
        bottom.set_xlabel("specification, sorted", fontsize=7)
        bottom.grid(False)
    fig.tight_layout(h_pad=0.2)
    return fig


def traffic_light(table: pd.DataFrame, meanings: dict[int, str]):
    """A risk-of-bias traffic light: one row per study, one column per item, coloured and marked by its score.

    Parameters
    ----------
    table : pandas.DataFrame
        ``study``, ``question``, ``score`` (0, 1 or 2), one row per study and item.
    meanings : dict
        Score -> what it means, for the legend.

    Examples
    --------
    >>> t = pd.DataFrame({"study": ["A", "A"], "question": ["aim", "size"], "score": [2, 0]})
    >>> fig = traffic_light(t, {0: "not reported", 1: "inadequate", 2: "adequate"})
    >>> [label.get_text() for label in fig.axes[0].get_yticklabels()]
    ['A']
    >>> plt.close(fig)
    """
    use_book_style()
    studies, questions = list(dict.fromkeys(table["study"])), list(dict.fromkeys(table["question"]))
    colours = {2: PALETTE[2], 1: PALETTE[8], 0: PALETTE[3]}
    marks = {2: "+", 1: "~", 0: "−"}
    fig, ax = plt.subplots(figsize=(7.0, 2.6 + 0.5 * len(studies)))
    for _, row in table.iterrows():
        x, y = questions.index(row["question"]), studies.index(row["study"])
        ax.scatter(x, y, s=520, color=colours[row["score"]], edgecolor="black", linewidth=0.6)
        ax.text(x, y, marks[row["score"]], ha="center", va="center", fontsize=12, fontweight="bold")
    ax.set_xticks(range(len(questions)), questions, rotation=35, ha="right", fontsize=8)
    ax.set_yticks(range(len(studies)), studies)
    ax.set_xlim(-0.6, len(questions) - 0.4)
    ax.set_ylim(len(studies) - 0.4, -0.6)
    ax.grid(False)
    handles = [plt.Line2D([], [], marker="o", linestyle="", markersize=10, color=colours[score],
                          markeredgecolor="black", label=f"{marks[score]} {score}: {meanings[score]}")
               for score in (2, 1, 0)]
    fig.legend(handles=handles, loc="upper center", ncol=3, frameon=False, fontsize=8)
    fig.tight_layout(rect=(0, 0, 1, 0.9))
    return fig


def asas_sets(table, analysis_set: str, interval_text: str):
    """Responders under each analysis set, the set in force filled.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`thalbook.core.efficacy.asas_by_analysis_set`.
    analysis_set : str
        The set in force (drawn filled).
    interval_text : str
        Legend text of the bars.

    Examples
    --------
    >>> from thalbook.core import data, efficacy
    >>> fig = asas_sets(efficacy.asas_by_analysis_set(data.load()), "itt", "95% Wilson interval")
    >>> len(fig.axes[0].get_yticklabels())
    6
    >>> plt.close(fig)
    """
    from thalbook.core.vocabulary import SET_NAMES

    use_book_style()
    fig, ax = plt.subplots(figsize=(7.0, 3.8))
    y = np.arange(len(table))[::-1].astype(float)
    y -= np.where(table["outcome"].eq(table["outcome"].iloc[0]), 0.0, 0.6)  # a gap between outcomes
    colours = {"asas20": PALETTE[0], "asas40": PALETTE[2]}
    for yi, (_, row) in zip(y, table.iterrows(), strict=True):
        filled = row["analysis_set"] == analysis_set
        ax.errorbar(
            100 * row["proportion"],
            yi,
            xerr=[[100 * (row["proportion"] - row["low"])], [100 * (row["high"] - row["proportion"])]],
            fmt="o",
            color=colours[row["outcome"]],
            markerfacecolor=colours[row["outcome"]] if filled else "white",
            markersize=8,
            capsize=3,
        )
    labels = [
        f"{'ASAS20' if r['outcome'] == 'asas20' else 'ASAS-40 (paper)'}, {SET_NAMES[r['analysis_set']]}: "
        f"{r['k']}/{r['n']}" + ("  [in force]" if r["analysis_set"] == analysis_set else "")
        for _, r in table.iterrows()
    ]
    ax.set_yticks(y, labels, fontsize=9)
    _percent_axis(ax, "x", f"Responders at week 24 (%), {interval_text}")
    fig.tight_layout()
    return fig


def subtype_responses(table):
    """Response category by disease subtype, stacked counts of patients.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`thalbook.core.efficacy.response_by_subtype`.

    Examples
    --------
    >>> from thalbook.core import data, efficacy
    >>> fig = subtype_responses(efficacy.response_by_subtype(data.load()))
    >>> fig.axes[0].get_xlabel()
    'Patients (count)'
    >>> plt.close(fig)
    """
    use_book_style()
    fig, ax = plt.subplots(figsize=(7.0, 3.6))
    y = np.arange(len(table))[::-1]
    left = np.zeros(len(table))
    parts = (
        ("gt40", "> 40% improvement (abstract: > 50%)", PALETTE[0], ""),
        ("from20to40", "> 20% but < 40% (abstract: > 20%)", PALETTE[1], "//"),
        ("other", "no response, or left the trial", PALETTE[7], ".."),
    )
    for column, label, colour, hatch in parts:
        values = table[column].to_numpy()
        ax.barh(y, values, left=left, color=colour, hatch=hatch, edgecolor="white", label=label, height=0.6)
        left += values
    ax.set_yticks(y, [f"{r['label']} (n = {r['n']})" for _, r in table.iterrows()])
    ax.set_xlabel("Patients (count)")
    ax.set_xticks(range(int(left.max()) + 1))
    fig.legend(loc="lower center", ncol=2, fontsize=8.5, frameon=False)
    fig.tight_layout(rect=(0, 0.16, 1, 1))
    return fig


# --------------------------------------------------------------------------
# figures


def _box(ax, x, y, text, colour, width, height=0.085, size=9.5):
    from matplotlib.patches import FancyBboxPatch

    ax.add_patch(FancyBboxPatch((x - width / 2, y - height / 2), width, height,
                                boxstyle="round,pad=0.008,rounding_size=0.012",
                                facecolor=(*colour[:3], 0.16), edgecolor=colour, linewidth=1.4))
    ax.text(x, y, text, ha="center", va="center", fontsize=size)


def flow_figure(accounting: pd.DataFrame, n_enrolled: int, n_completed: int, dose: str, end: str):
    """A CONSORT-style flow diagram of one study's patients, from enrolment to the end.

    Parameters
    ----------
    accounting : pandas.DataFrame
        What :func:`as_accounting` returns.
    n_enrolled, n_completed : int
        As the paper states them.
    dose : str
        The regimen, shown in the enrolment box.
    end : str
        The end of treatment as written (e.g. ``week 24``).

    Returns
    -------
    matplotlib.figure.Figure
        Fixed size and fonts, so that the PNG is the same on every run.
    """
    import matplotlib.pyplot as plt

    use_book_style()
    colours = {"adverse event": PALETTE[3], "lack of efficacy": PALETTE[0]}
    steps = len(accounting)
    fig, ax = plt.subplots(figsize=(7.6, 2.2 + 1.0 * steps))
    ax.set_axis_off()
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    top, bottom, spine = 0.88, 0.06, 0.27
    grey = (0.35, 0.35, 0.35)
    wrapped_dose = "\n".join(textwrap.wrap(dose, 48))
    _box(ax, spine, top, f"Enrolled and started thalidomide\nn = {n_enrolled}\n{wrapped_dose}", PALETTE[2],
         0.5, height=0.21, size=9)
    _box(ax, spine, bottom, f"Completed treatment to {end}\nn = {n_completed}", PALETTE[2], 0.46, height=0.1)
    ax.annotate("", xy=(spine, bottom + 0.05), xytext=(spine, top - 0.11),
                arrowprops={"arrowstyle": "-|>", "color": grey, "lw": 1.3})
    ys = np.linspace(top - 0.24, bottom + 0.16, steps) if steps > 1 else [0.5]
    for y, (_, row) in zip(ys, accounting.iterrows(), strict=True):
        colour = colours.get(row["category"], PALETTE[7])
        ax.annotate("", xy=(0.56, y), xytext=(spine, y),
                    arrowprops={"arrowstyle": "-|>", "color": colour, "lw": 1.3})
        reason = "\n".join(textwrap.wrap(str(row["reason"]), 38))
        _box(ax, 0.77, y, f"Left {row['when']}: n = {row['left']}\n{reason}", colour, 0.42, height=0.12, size=8.5)
        ax.text(spine - 0.015, y - 0.045, f"{row['remaining']} remain", ha="right", va="center", fontsize=8.5,
                color=grey)
    fig.tight_layout(pad=0.3)
    return fig


def events_figure(events: pd.DataFrame, study_labels: dict[str, str], confidence_level: float):
    """Every counted adverse event with its interval, one panel per study.

    Filled markers: the paper states the denominator; open markers: the
    denominator is assumed to be every enrolled patient. Totals of other
    rows are left out.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    use_book_style()
    shown = events[events["k"].notna() & ~events["is_total"]].copy()
    studies = list(dict.fromkeys(shown["study"]))
    heights = [max(len(shown[shown["study"].eq(s)]), 1) for s in studies]
    fig, axes = plt.subplots(len(studies), 1, figsize=(7.6, 1.0 + 0.36 * sum(heights) + 0.5 * len(studies)),
                             sharex=True, gridspec_kw={"height_ratios": heights}, squeeze=False)
    for ax, study, colour in zip(axes[:, 0], studies, PALETTE, strict=False):
        mine = shown[shown["study"].eq(study)].iloc[::-1]
        y = np.arange(len(mine))
        p = (mine["k"] / mine["n"]).to_numpy(dtype=float)
        low, high = mine["low"].to_numpy(dtype=float), mine["high"].to_numpy(dtype=float)
        stated = (mine["basis"] == STATED_BASIS).to_numpy()
        ax.hlines(y, 100 * low, 100 * high, color=colour, lw=2)
        ax.scatter(100 * p[stated], y[stated], color=colour, zorder=3, s=36, label="denominator stated")
        ax.scatter(100 * p[~stated], y[~stated], facecolor="white", edgecolor=colour, zorder=3, s=36, lw=1.5,
                   label="denominator assumed (all enrolled)")
        labels = [
            "\n".join(textwrap.wrap(f"{e} ({loc}): {int(k)}/{int(n)}", 46))
            for e, loc, k, n in zip(mine["event"], mine["location"], mine["k"], mine["n"], strict=True)
        ]
        ax.set_yticks(y, labels, fontsize=8)
        ax.set_ylim(-0.7, len(mine) - 0.3)
        ax.set_title(study_labels.get(study, study), loc="left", fontsize=10)
    axes[-1, 0].set_xlim(0, 100)
    axes[-1, 0].set_xlabel(f"patients with the event, % ({100 * confidence_level:g}% interval)")
    handles, names = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, names, loc="lower center", ncol=2, frameon=False, fontsize=8.5, bbox_to_anchor=(0.5, 0))
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return fig
