"""The background chapter: thalidomide, the two diseases and the two studies the book re-analyses.

The prose is history and pharmacology with citations; what it says of the
studies (how many patients, which dose, how long, what the evidence in
children found) is glued from the data package, and two tables set the
source studies side by side and list the context studies. The chapter takes
no parameters.

Examples
--------
>>> from thalbook.core.evidence import data
>>> view = build(data.load(), {})
>>> view.value("he_enrolled"), view.value("wei_enrolled"), view.value("he_dose")
(47, 13, '50–100 mg/day')
>>> sorted(view.tables)
['tbl-background-context', 'tbl-background-studies']
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from thalbook.chapters import data_provenance, displays, tables
from thalbook.chapters.view import View, check_names
from thalbook.core.analyses import cohort, harms

#: The chapter declares no parameters.
PARAMETERS: tuple[str, ...] = ()
#: The arms of the randomised trial in children that the Crohn's disease paper starts from: glue prefix -> row.
LAZZERINI = {"lazzerini_thalidomide": "lazzerini2013-remission-w8-thalidomide",
             "lazzerini_placebo": "lazzerini2013-remission-w8-placebo"}


def build(package, params: Mapping[str, Any] | None = None) -> View:
    """Everything the background chapter glues and shows.

    Parameters
    ----------
    package : thalbook.core.evidence.data.DataPackage
        The loaded data package (:func:`thalbook.core.evidence.data.load`).
    params : mapping, optional
        Empty: the chapter declares no parameters (:data:`PARAMETERS`).

    Returns
    -------
    View
        ``values``: patient counts as ``int``, dose and durations as text;
        ``tables``: ``tbl-background-studies`` (the two source studies, one
        column each) and ``tbl-background-context`` (one row per context study).

    Raises
    ------
    TypeError
        If ``params`` names a parameter.

    Examples
    --------
    >>> from thalbook.core.evidence import data
    >>> view = build(data.load())
    >>> view.params, view.value("wei_months"), view.value("huang_months")
    ({}, '6', '12 months')
    >>> [view.value(f"lazzerini_{arm}_{x}") for arm in ("thalidomide", "placebo") for x in ("k", "n")]
    [13, 28, 3, 26]
    """
    check_names("background", params or {}, PARAMETERS)
    he_study, wei_study = displays.source_pair(package)
    wei = cohort.facts(package, wei_study)
    context = package.context_outcomes
    by_id = context.set_index("id")
    huang = context[context["study_id"].eq("huang2002")].iloc[0]
    values = {
        "he_enrolled": cohort.enrolled(package, he_study),
        "wei_enrolled": cohort.enrolled(package, wei_study),
        "he_dose": harms.dose_text(package, he_study),
        "wei_months": wei["duration_months"],
        "wei_background_months": wei["stable_background_months"],
        "huang_months": huang["timepoint"],
        "lazzerini_when": by_id.loc[LAZZERINI["lazzerini_thalidomide"], "timepoint"],
        "n_context": int(package.studies["role"].eq("context").sum()),
    }
    for prefix, row_id in LAZZERINI.items():
        values[f"{prefix}_k"] = int(by_id.loc[row_id, "count"])
        values[f"{prefix}_n"] = int(by_id.loc[row_id, "denominator"])
    overview = data_provenance.study_overview(package)
    studies = tables.list_table(
        [[f"**{tables.escape(index)}**", *row] for index, row in zip(overview.index, overview.to_numpy().tolist(),
                                                                     strict=True)],
        ["study", *[f"{{cite:t}}`{key}`" for key in overview.columns]],
        tables.caption("tbl-background-studies"), "tbl-background-studies", widths=[18, 41, 41])
    context_table = tables.frame_table(
        data_provenance.context_overview(package),
        tables.caption("tbl-background-context"),
        "tbl-background-context", widths=[18, 14, 16, 20, 20, 12],
        markup=["study", "disease", "design", "participants", "dose", "enrolled"])
    return View({}, values, {"tbl-background-studies": studies, "tbl-background-context": context_table})
