"""The results chapters' tables and words as they are shown: percentages with one decimal, k/n, names.

What :mod:`thalbook.core.analyses.efficacy` computes, formatted for a reader (display
only: no number here is used in a further calculation).
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from thalbook.chapters import tables
from thalbook.core.analyses import cohort, efficacy
from thalbook.core.analyses.changes import CORRELATIONS, TYPICAL_CORRELATION
from thalbook.core.analyses.efficacy import OUTCOME_LABELS
from thalbook.core.vocabulary import ANALYSIS_SETS, SET_NAMES, CiMethod


def source_pair(package) -> tuple[str, str]:
    """The Crohn's disease and the AS source study, for the chapters that set them side by side.

    They are the source studies that report clinical remission and the ASAS
    response (:func:`thalbook.core.analyses.cohort.source_study`).

    Examples
    --------
    >>> from thalbook.core.evidence import data
    >>> source_pair(data.load())
    ('he2017', 'wei2003')
    """
    return cohort.source_study(package, efficacy.REMISSION), cohort.source_study(package, efficacy.ASAS)


def interval_text(ci_method: CiMethod, confidence_level: float) -> str:
    """The interval's name for legends and prose (``ci_method`` may be its text: ``CiMethod(text)`` checks it).

    Examples
    --------
    >>> interval_text("clopper-pearson", 0.9)
    '90% Clopper-Pearson interval'
    """
    return f"{100 * confidence_level:g}% {CiMethod(ci_method).label} interval"


def percent_text(proportion: float, low: float | None = None, high: float | None = None) -> str:
    """A proportion, with its interval, as percentages with one decimal (display only).

    Examples
    --------
    >>> percent_text(11 / 47, 0.1359, 0.3721)
    '23.4% (13.6–37.2)'
    """
    text = f"{100 * proportion:.1f}%"
    if low is not None and high is not None:
        text += f" ({100 * low:.1f}–{100 * high:.1f})"
    return text


def markdown_table(
    frame: pd.DataFrame,
    name: str,
    caption: str,
    widths: Iterable[int] | None = None,
    markup: Iterable[str] = (),
) -> str:
    """A DataFrame as a numbered, captioned MyST table that renders in HTML and in the PDF.

    The book's ``{list-table}`` (:func:`thalbook.chapters.tables.frame_table`: cells
    escaped except the ``markup`` columns, long tables broken across PDF
    pages), every value shown as text. The caption must not cite: a citation
    inside a LaTeX caption breaks the PDF build (hyperref), so cite in the
    cells or the prose.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table; every value is shown as text (format numbers first).
    name : str
        The label, referenced from the prose with ``{numref}`name```.
    caption : str
        One line, no citations.
    widths : iterable of int, optional
        Relative column widths (the PDF wraps each column to its width).
    markup : iterable of str
        Columns whose cells are MyST (e.g. citations) rather than literal text.

    Returns
    -------
    str
        MyST; display it with :func:`thalbook.chapters.tables.show`.

    Examples
    --------
    >>> myst = markdown_table(pd.DataFrame({"week": [8], "k/n": ["11/47"]}), "tbl-x", "Remission.")
    >>> print(*myst.splitlines()[-3:], sep=chr(10))
    * - 8
      - 11/47
    ````
    """
    if "\n" in caption:
        raise ValueError(f"markdown_table: {name}: the caption must be one line")
    return tables.frame_table(frame.astype(str), caption, name, None if widths is None else list(widths), markup)


# --------------------------------------------------------------------------
# the tables as the chapters show them (text, one decimal for percentages)


def _kn(k, n, proportion=None, low=None, high=None) -> str:
    proportion = k / n if proportion is None else proportion
    return f"{k}/{n} = {percent_text(proportion, low, high)}"


def _heading(analysis_set: str, in_force: str) -> str:
    return SET_NAMES[analysis_set] + (" (in force)" if analysis_set == in_force else "")


def counts_display(inference: pd.DataFrame) -> pd.DataFrame:
    """:func:`thalbook.core.inference.counts.count_inference` as shown: every candidate count and the one used.

    Examples
    --------
    >>> from thalbook.core.evidence import data
    >>> from thalbook.core.inference import counts
    >>> t = counts_display(counts.count_inference(data.load(), "he2017", ["mucosal_healing"]))
    >>> t.iloc[0].tolist()
    ['mucosal healing', '24', '28.1%', '1 to 32 (none stated; endoscopy set)', '9/32', '9/32 (only candidate)']
    """
    reasons = {"the stated denominator": "stated n", "the only candidate": "only candidate"}
    return pd.DataFrame(
        {
            "Outcome": inference["outcome"].map(OUTCOME_LABELS),
            "Week": inference["week"].astype(str),
            "Reported": inference["percent"] + "%",
            "n tried": [
                f"{int(n)} (stated)"
                if not pd.isna(n)
                else searched.removeprefix("n = ").replace(" (the ", " (none stated; ")
                for n, searched in inference[["stated_n", "searched"]].to_numpy()
            ],
            "Every k/n that rounds to it": inference["candidates"].map(candidates_text),
            "Used": [
                f"{k}/{n} ({reasons.get(reason, reason)})"
                for k, n, reason in inference[["k", "n", "reason"]].to_numpy()
            ],
        }
    )


def remission_display(by_set: pd.DataFrame, in_force: str) -> pd.DataFrame:
    """:func:`remission_by_set` as shown: one column per analysis set.

    Examples
    --------
    >>> from thalbook.core.analyses import efficacy
    >>> from thalbook.core.auditing import checks
    >>> from thalbook.core.evidence import data
    >>> t = remission_display(efficacy.remission_by_set(data.load()), "itt")
    >>> list(t.columns), t.iloc[1, 1]
    (['Week', 'ITT (in force)', 'as reported', 'complete case'], '11/47 = 23.4% (13.6–37.2)')
    """
    frame = pd.DataFrame({"Week": sorted(by_set["week"].unique())})
    for analysis_set in ANALYSIS_SETS:
        rows = by_set[by_set["analysis_set"].eq(analysis_set)].sort_values("week")
        cells = []
        for _, r in rows.iterrows():
            text = _kn(r["k"], r["n"], r["proportion"], r["low"], r["high"])
            if r["n_min"] != r["n"]:
                text = f"not reported; {r['k']}/{r['n']} shown, at most {_kn(r['k'], r['n_min'])}"
            cells.append(text)
        frame[_heading(analysis_set, in_force)] = cells
    frame["Week"] = frame["Week"].astype(str)
    return frame


def endoscopy_display(by_set: pd.DataFrame, in_force: str) -> pd.DataFrame:
    """:func:`endoscopy_by_set` as shown: the reported rate, each set, and the best-worst range.

    Examples
    --------
    >>> from thalbook.core.analyses import efficacy
    >>> from thalbook.core.auditing import checks
    >>> from thalbook.core.evidence import data
    >>> t = endoscopy_display(efficacy.endoscopy_by_set(data.load()), "itt")
    >>> t.iloc[2, -1]
    '9/47 = 19.1% to 24/47 = 51.1%'
    """
    first = by_set[by_set["analysis_set"].eq(ANALYSIS_SETS[0])].reset_index(drop=True)
    frame = pd.DataFrame({"Outcome": first["label"], "Reported": first["percent"] + "%"})
    for analysis_set in ANALYSIS_SETS:
        rows = by_set[by_set["analysis_set"].eq(analysis_set)].reset_index(drop=True)
        frame[_heading(analysis_set, in_force)] = [
            _kn(r["k"], r["n"], r["proportion"], r["low"], r["high"]) for _, r in rows.iterrows()
        ]
    frame["Worst to best case"] = [
        f"{_kn(r['worst_k'], r['worst_n'])} to {_kn(r['best_k'], r['best_n'])}" for _, r in first.iterrows()
    ]
    return frame


def context_display(context: pd.DataFrame) -> pd.DataFrame:
    """:func:`thalbook.core.analyses.context.context_table` as shown, each study cited.

    Examples
    --------
    >>> from thalbook.core.analyses import context
    >>> from thalbook.core.auditing import checks
    >>> from thalbook.core.evidence import data
    >>> context_display(context.context_table(data.load(), "as")).iloc[4, 0]
    '{cite:t}`zhu2010`'
    """
    return pd.DataFrame(
        {
            "Study": context["citation_key"].map(lambda key: f"{{cite:t}}`{key}`"),
            "Design; participants; dose": context["design"] + "; " + context["participants"] + "; " + context["dose"],
            "Outcome, time point": context["outcome_definition"] + ", " + context["timepoint"],
            "k/n (basis)": [f"{k}/{n} ({b})" for k, n, b in context[["k", "n", "basis"]].to_numpy()],
            "Percent (interval)": [
                percent_text(p, lo, hi) for p, lo, hi in context[["proportion", "low", "high"]].to_numpy()
            ],
        }
    )


def as_means_display(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`as_outcomes_table` as shown: means, change and n.

    Examples
    --------
    >>> from thalbook.core.analyses import changes
    >>> from thalbook.core.evidence import data
    >>> as_means_display(changes.as_outcomes_table(data.load())).iloc[1].tolist()[:4]
    ['BASDAI (points)', '24', '4.97 ± 2.33', '3.1 ± 2.08']
    """
    return pd.DataFrame(
        {
            "Measure (unit)": table["label"] + " (" + table["unit"] + ")",
            "Week": table["week"].astype(str),
            "Baseline, mean ± SD": table["baseline"],
            "Follow-up, mean ± SD": table["followup"],
            "Change (%)": [f"{c:+.2f} ({p:+.0f}%)" for c, p in table[["change", "change_percent"]].to_numpy()],
            "Interval of the change, r = 0": [
                f"{lo:.2f} to {hi:.2f}" for lo, hi in table[["change_low", "change_high"]].to_numpy()
            ],
            f"Interval, r = {TYPICAL_CORRELATION:g}": [
                f"{lo:.2f} to {hi:.2f}"
                for lo, hi in table[["change_low_typical", "change_high_typical"]].to_numpy()
            ],
            "n": table["n_basis"],
        }
    )


def _p_text(p: float) -> str:
    """A computed p-value for display: four decimals, or ``< 0.0001``."""
    return "< 0.0001" if p < 0.0001 else f"{p:.4f}"


def as_pvalues_display(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`as_outcomes_table` as shown: the reported p, the Wilcoxon lattice and the paired-t bounds.

    Examples
    --------
    >>> from thalbook.core.analyses import changes
    >>> from thalbook.core.evidence import data
    >>> as_pvalues_display(changes.as_outcomes_table(data.load())).iloc[7].tolist()[2:4]
    ['0.375', 'only with fewer non-zero changes: n = 4, W = 2 (p = 0.375); n = 7, W = 8 (p = 0.375)']
    """
    return pd.DataFrame(
        {
            "Measure": table["label"],
            "Week": table["week"].astype(str),
            "Reported p": table["p_text"],
            "Exact Wilcoxon p that rounds to it": table["lattice"],
            "Audit": table["audit_status"],
            f"Paired t, p over r = {min(CORRELATIONS):g} to {max(CORRELATIONS):g}": [
                f"{_p_text(lo)} to {_p_text(hi)}" for lo, hi in table[["t_p_min", "t_p_max"]].to_numpy()
            ],
            f"Least r for p < {table['alpha'].iloc[0]:g}": table["r_needed"].map(
                lambda r: "none" if pd.isna(r) else f"{r:.2f}"
            ),
        }
    )


def asas_display(table: pd.DataFrame, in_force: str) -> pd.DataFrame:
    """:func:`asas_by_analysis_set` as shown: one column per set.

    Examples
    --------
    >>> from thalbook.core.analyses import efficacy
    >>> from thalbook.core.auditing import checks
    >>> from thalbook.core.evidence import data
    >>> asas_display(efficacy.asas_by_analysis_set(data.load()), "reported").columns.tolist()
    ['Outcome', 'ITT', 'as reported (in force)', 'complete case']
    """
    outcomes = list(dict.fromkeys(table["outcome"]))
    frame = pd.DataFrame({"Outcome": [OUTCOME_LABELS[o] for o in outcomes]})
    for analysis_set in ANALYSIS_SETS:
        rows = table[table["analysis_set"].eq(analysis_set)].set_index("outcome").loc[outcomes]
        frame[_heading(analysis_set, in_force)] = [
            _kn(r["k"], r["n"], r["proportion"], r["low"], r["high"]) for _, r in rows.iterrows()
        ]
    return frame


def subtype_display(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`response_by_subtype` as shown.

    Examples
    --------
    >>> from thalbook.core.analyses import efficacy
    >>> from thalbook.core.auditing import checks
    >>> from thalbook.core.evidence import data
    >>> subtype_display(efficacy.response_by_subtype(data.load())).iloc[0].tolist()
    ['juvenile-onset AS', '3', '2', '0', '1']
    """
    return pd.DataFrame(
        {
            "Subtype": table["label"],
            "Patients": table["n"].astype(str),
            "> 40% (abstract: > 50%)": table["gt40"].astype(str),
            "> 20% but < 40% (abstract: > 20%)": table["from20to40"].astype(str),
            "No response, or left": table["other"].astype(str),
        }
    )


def grim_findings(audit_table: pd.DataFrame, study_id: str, measure: str, location: str = "results") -> pd.DataFrame:
    """The audit's GRIM verdicts on the means of one integer-valued measure at one place.

    Parameters
    ----------
    audit_table : pandas.DataFrame
        :func:`thalbook.core.auditing.checks.run_audit` output.
    study_id, measure, location : str

    Returns
    -------
    pandas.DataFrame
        ``quantity, week, comparison, reported, status, detail``, in audit
        order: the rows' keys for selecting, their words for showing.

    Examples
    --------
    >>> from thalbook.core.analyses import efficacy
    >>> from thalbook.core.auditing import checks
    >>> from thalbook.core.evidence import data
    >>> t = grim_findings(checks.run_audit(data.load()), "wei2003", "esr")
    >>> t[["week", "comparison", "reported", "status"]].to_numpy().tolist()  # doctest: +NORMALIZE_WHITESPACE
    [['0', 'week 8 vs baseline', '70.03', 'inconsistent'], ['8', 'week 8 vs baseline', '39.34', 'inconsistent'],
     ['0', 'week 24 vs baseline', '69.5', 'consistent'], ['24', 'week 24 vs baseline', '34.2', 'inconsistent']]
    """
    rows = audit_table[
        audit_table["study"].eq(study_id)
        & audit_table["check"].eq("grim")
        & audit_table["location"].eq(location)
        & audit_table["about"].eq("measure")
        & audit_table["subject"].eq(measure)
    ]
    return rows[["quantity", "week", "comparison", "reported", "status", "detail"]].reset_index(drop=True)


def candidates_text(candidates: Iterable[tuple[int, int]]) -> str:
    """The counts k/n that reproduce a percentage.

    The ``candidates`` of :func:`thalbook.core.inference.counts.count_inference`.

    Examples
    --------
    >>> candidates_text([(7, 16), (14, 32)]), candidates_text([])
    ('7/16, 14/32', 'none')
    """
    return ", ".join(f"{k}/{n}" for k, n in candidates) or "none"
