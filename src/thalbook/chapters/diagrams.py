"""The methods, safety and appraisal chapters' figures, in the book's one plotting style.

Interval methods compared, the specification curve of the multiverse, the
risk-of-bias traffic light, a study's patient flow and its adverse events. The
style, the figure width and the row and legend layout are those of
:mod:`thalbook.chapters.figures`.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from thalbook.chapters.figures import (
    LINE_IN,
    PALETTE,
    WIDTH,
    label_rows,
    legend_below,
    stacked_rows,
    use_book_style,
    wrap,
)
from thalbook.core.analyses.harms import STATED_BASIS

# --------------------------------------------------------------------------
# appraisal figures


def specification_curve(table: pd.DataFrame, choices: dict[str, list]):
    """A specification curve per outcome: every estimate with its interval, sorted, and the choices below.

    The outcomes are stacked, each with the full width, so that every
    specification keeps a visible column on a phone. A choice's name labels
    its first value only, which keeps the labels short.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`thalbook.core.analyses.multiverse.multiverse` (rows with a ``note`` are left out).
    choices : dict
        Choice -> its values, in the order they are marked.

    Examples
    --------
    >>> t = pd.DataFrame({"outcome": ["x", "x"], "method": ["a", "b"], "proportion": [0.5, 0.6],
    ...                   "low": [0.3, 0.4], "high": [0.7, 0.8], "note": ["", ""]})
    >>> fig = specification_curve(t, {"method": ["a", "b"]})
    >>> [label.get_text() for label in fig.axes[1].get_yticklabels()]
    ['method: a', 'b']
    >>> plt.close(fig)
    """
    use_book_style()
    table = table[table["note"].eq("")]
    outcomes = list(dict.fromkeys(table["outcome"]))
    rows = [(choice, value) for choice, values in choices.items() for value in values]
    labels = [f"{choice}: {value}" if value == choices[choice][0] else str(value) for choice, value in rows]
    matrix_in, curve_in = 0.15 * len(labels), 0.8
    fig, axes = plt.subplots(2 * len(outcomes), 1, squeeze=False,
                             figsize=(WIDTH, len(outcomes) * (matrix_in + curve_in + 0.55) + 0.25),
                             gridspec_kw={"height_ratios": [curve_in, matrix_in] * len(outcomes)})
    for block, outcome in enumerate(outcomes):
        part = table[table["outcome"].eq(outcome)].sort_values(["proportion", "low"]).reset_index(drop=True)
        top, bottom = axes[2 * block][0], axes[2 * block + 1][0]
        x = range(len(part))
        top.vlines(x, 100 * part["low"], 100 * part["high"], color=PALETTE[0], linewidth=0.6)
        top.plot(x, 100 * part["proportion"], "o", color="black", markersize=1.8)
        top.axhline(50, color="0.5", linewidth=0.7, linestyle="--")
        top.set_title(outcome, loc="left")
        top.set_ylim(0, 100)
        top.set_yticks([0, 50, 100])
        top.set_ylabel("%")
        top.tick_params(axis="x", labelbottom=False)
        for row, (choice, value) in enumerate(rows):
            marked = [i for i, chosen in enumerate(part[choice]) if chosen == value]
            bottom.plot(marked, [row] * len(marked), "|", color="black", markersize=3.5)
        starts = [i for i, (choice, value) in enumerate(rows) if i and value == choices[choice][0]]
        for start in starts:  # a rule between one choice and the next
            bottom.axhline(start - 0.5, color="0.8", linewidth=0.6)
        bottom.set_yticks(range(len(labels)), labels)
        bottom.tick_params(axis="y", length=0, pad=2)
        bottom.set_ylim(len(labels) - 0.5, -0.5)
        bottom.set_xlim(top.get_xlim())
        bottom.grid(False)
    axes[-1][0].set_xlabel("specification, sorted by estimate")
    return fig


def traffic_light(table: pd.DataFrame, meanings: dict[int, str]):
    """A risk-of-bias traffic light: one row per item, one column per study, coloured and marked by its score.

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
    >>> [label.get_text() for label in fig.axes[0].get_xticklabels()]
    ['A']
    >>> plt.close(fig)
    """
    use_book_style()
    studies, questions = list(dict.fromkeys(table["study"])), list(dict.fromkeys(table["question"]))
    colours = {2: PALETTE[2], 1: PALETTE[8], 0: PALETTE[3]}
    marks = {2: "+", 1: "~", 0: "−"}
    fig, ax = plt.subplots(figsize=(WIDTH, 0.42 * len(questions) + 1.5))
    for _, row in table.iterrows():
        x, y = studies.index(row["study"]), questions.index(row["question"])
        ax.scatter(x, y, s=300, color=colours[row["score"]], edgecolor="black", linewidth=0.6)
        ax.text(x, y, marks[row["score"]], ha="center", va="center", fontsize=11, fontweight="bold")
    ax.set_yticks(range(len(questions)), [wrap(q, 34) for q in questions])
    ax.set_xticks(range(len(studies)), [wrap(s, 16) for s in studies])
    ax.xaxis.tick_top()
    ax.set_xlim(-0.6, len(studies) - 0.4)
    ax.set_ylim(len(questions) - 0.5, -0.5)
    ax.grid(False)
    handles = [plt.Line2D([], [], marker="o", linestyle="", markersize=9, color=colours[score],
                          markeredgecolor="black") for score in (2, 1, 0)]
    legend_below(fig, handles, [f"{marks[score]} {score}: {meanings[score]}" for score in (2, 1, 0)])
    return fig


# --------------------------------------------------------------------------
# methods figures


def interval_methods(table: pd.DataFrame, method_in_force: str, confidence_level: float):
    """The intervals of every method for each case, stacked under its label; the method in force solid.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`thalbook.chapters.methods.interval_comparison`.
    method_in_force : str
        Drawn solid and thick; the others faded.
    confidence_level : float
        For the axis label.

    Returns
    -------
    matplotlib.figure.Figure
        Closed (it is drawn when shown or glued).
    """
    use_book_style()
    cases = list(dict.fromkeys(table["case"]))
    methods = list(dict.fromkeys(table["method"]))
    spacing = 0.11
    labels = [wrap(case) for case in cases]
    tops, centres, total = [], [], 0.0
    for label in labels:
        tops.append(total)
        centres.append(total + LINE_IN * (label.count("\n") + 1) + 0.16 + spacing * np.arange(len(methods)))
        total = centres[-1][-1] + 0.2
    fig, ax = plt.subplots(figsize=(WIDTH, total + 1.7))
    for case, label, top, ys in zip(cases, labels, tops, centres, strict=True):
        rows = table[table["case"].eq(case)].set_index("method")
        for y, method, colour in zip(ys, methods, PALETTE, strict=False):
            row = rows.loc[method]
            strong = method == method_in_force
            name = method + (" (in force)" if strong else "")
            ax.hlines(y, 100 * row["low"], 100 * row["high"], color=colour, lw=3.2 if strong else 1.8,
                      alpha=1 if strong else 0.55, label=name if case == cases[0] else None)
        estimate = rows.iloc[0]["k"] / rows.iloc[0]["n"]
        ax.plot([100 * estimate] * 2, [ys[0] - 0.06, ys[-1] + 0.06], color="black", lw=1)
        ax.text(0.01, top + 0.04, label, transform=ax.get_yaxis_transform(), ha="left", va="top")
    ax.set_yticks([])
    ax.set_ylim(total, 0)
    ax.set_xlim(-1, 101)
    ax.set_xlabel(wrap(f"proportion, % ({100 * confidence_level:g}% interval; black tick: the estimate k/n)", 50))
    legend_below(fig, *ax.get_legend_handles_labels())
    plt.close(fig)
    return fig


# --------------------------------------------------------------------------
# safety figures


def _box_height(text: str) -> float:
    return LINE_IN * (text.count("\n") + 1) + 0.14


def _box(ax, x, top, width, text, colour) -> float:
    """A rounded box of text, ``top`` and ``width`` in inches, as tall as its lines; returns its bottom."""
    from matplotlib.patches import FancyBboxPatch

    height = _box_height(text)
    ax.add_patch(FancyBboxPatch((x - width / 2, top), width, height, boxstyle="round,pad=0,rounding_size=0.06",
                                facecolor=(*colour[:3], 0.16), edgecolor=colour, linewidth=1.2))
    ax.text(x, top + height / 2, text, ha="center", va="center")
    return top + height


def flow_figure(accounting: pd.DataFrame, n_enrolled: int, n_completed: int, dose: str, end: str):
    """A CONSORT-style flow diagram of one study's patients, from enrolment to the end.

    Laid out in inches: every box is as tall as its wrapped text.

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
        Fixed size and fonts, so that the drawing is the same on every run.
    """
    use_book_style()
    colours = {"adverse event": PALETTE[3], "lack of efficacy": PALETTE[0]}
    spine, side_width = 0.75, 3.0
    side = WIDTH - 0.05 - side_width / 2
    enrolled = f"Enrolled and started thalidomide: n = {n_enrolled}\n{wrap(dose)}"
    completed = f"Completed treatment to {end}: n = {n_completed}"
    steps = [f"Left {row['when']}: n = {row['left']}\n{wrap(row['reason'], 42)}" for _, row in accounting.iterrows()]
    gap = 0.22
    height = 0.1 + _box_height(enrolled) + sum(gap + _box_height(s) for s in steps) + gap + _box_height(completed)
    fig, ax = plt.subplots(figsize=(WIDTH, height), layout="none")
    fig.subplots_adjust(0, 0, 1, 1)
    ax.set_axis_off()
    ax.set_xlim(0, WIDTH)
    ax.set_ylim(height, 0)
    grey = (0.35, 0.35, 0.35)
    y = start = _box(ax, WIDTH / 2, 0.05, WIDTH - 0.1, enrolled, PALETTE[2])
    for text, (_, row) in zip(steps, accounting.iterrows(), strict=True):
        colour = colours.get(row["category"], PALETTE[7])
        top = y + gap
        y = _box(ax, side, top, side_width, text, colour)
        ax.annotate("", xy=(side - side_width / 2, (top + y) / 2), xytext=(spine, (top + y) / 2),
                    arrowprops={"arrowstyle": "-|>", "color": colour, "lw": 1.2})
        ax.text(spine - 0.06, y + gap / 2, f"{row['remaining']} remain", ha="right", va="center", color=grey)
    ax.annotate("", xy=(spine, y + gap), xytext=(spine, start),
                arrowprops={"arrowstyle": "-|>", "color": grey, "lw": 1.2})
    _box(ax, WIDTH / 2, y + gap, WIDTH - 0.1, completed, PALETTE[2])
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
    use_book_style()
    shown = events[events["k"].notna() & ~events["is_total"]].copy()
    studies = list(dict.fromkeys(shown["study"]))
    panels = []
    for study in studies:
        mine = shown[shown["study"].eq(study)]
        labels = [wrap(f"{e} ({loc}): {int(k)}/{int(n)}")
                  for e, loc, k, n in zip(mine["event"], mine["location"], mine["k"], mine["n"], strict=True)]
        panels.append((study, mine, labels, *stacked_rows(labels)))
    heights = [total for *_, total in panels]
    fig, axes = plt.subplots(len(studies), 1, figsize=(WIDTH, sum(heights) + 0.3 * len(studies) + 0.8),
                             sharex=True, gridspec_kw={"height_ratios": heights}, squeeze=False)
    for ax, (study, mine, labels, tops, y, total), colour in zip(axes[:, 0], panels, PALETTE, strict=False):
        p = (mine["k"] / mine["n"]).to_numpy(dtype=float)
        low, high = mine["low"].to_numpy(dtype=float), mine["high"].to_numpy(dtype=float)
        stated = (mine["basis"] == STATED_BASIS).to_numpy()
        ax.hlines(y, 100 * low, 100 * high, color=colour, lw=2)
        ax.scatter(100 * p[stated], y[stated], color=colour, zorder=3, s=30, label="denominator stated")
        ax.scatter(100 * p[~stated], y[~stated], facecolor="white", edgecolor=colour, zorder=3, s=30, lw=1.5,
                   label="denominator assumed (all enrolled)")
        label_rows(ax, labels, tops, y, total)
        ax.set_title(study_labels.get(study, study), loc="left")
    axes[-1, 0].set_xlim(0, 100)
    axes[-1, 0].set_xlabel(f"patients with the event, % ({100 * confidence_level:g}% interval)")
    handles, names = axes[0, 0].get_legend_handles_labels()
    legend_below(fig, handles, names)
    return fig
