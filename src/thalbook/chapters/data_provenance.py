"""What the data chapter shows: what the data package holds, then every file, as written, with its quotes.

The chapter opens with a summary (:func:`summary_table`: each file's rows
by study); each file's full table, every row with its quote, is folded
beneath its heading in the web book (a dropdown) and printed whole in the PDF.

Also the studies as the data package describes them (:func:`study_labels`,
:func:`study_overview`, :func:`context_overview`), which other chapters show.

The data files are shown as written: :func:`raw_tables` reads every CSV as
text, so ``3.1`` stays ``3.1`` and a quote keeps its typos, after
:func:`thalbook.core.evidence.data.load` has validated the package.

Examples
--------
>>> from thalbook.core.evidence import data
>>> tables = raw_tables(data.load().data_dir)
>>> list(tables)[:2]
['studies', 'study_facts']
>>> tables["withdrawals"].iloc[1]["count"]
'3'
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pandas as pd

from thalbook.chapters.tables import caption, escape, fold, list_table
from thalbook.chapters.view import View, check_names
from thalbook.core.analyses import cohort, harms
from thalbook.core.errors import InputError

#: The parameters the chapter declares (none).
PARAMETERS: tuple[str, ...] = ()
DESCRIPTOR = "datapackage.json"
DISEASES = {"crohns": "Crohn's disease", "as": "ankylosing spondylitis"}
#: What each row of a file is shown with, where it is not a quote: its own words, not the paper's.
SHOWN_WITH = {"measures": "its definition", "appraisal": "its reason"}


def build(package, params: dict[str, Any]) -> View:
    """The data chapter's view: counts for the prose, the download list and one table per data file.

    Parameters
    ----------
    package : thalbook.core.evidence.data.DataPackage
        What :func:`thalbook.core.evidence.data.load` returns (validated).
    params : dict
        The chapter's parameters (it declares none).

    Returns
    -------
    View
        ``values``: ``n_files``, ``n_rows``, ``n_quotes`` (rows with a quote),
        ``n_notes`` (rows with an extractor's note), ``n_sources``,
        ``n_context`` (studies by role). ``tables``: ``tbl-data-summary`` (the
        rows of each file by study), ``data-downloads`` and
        ``results-downloads`` (MyST lists of links to the published files) and
        ``tbl-data-<file>`` for every file of the package, ``_`` written
        ``-`` (folded: :func:`file_table` in a dropdown).

    Raises
    ------
    TypeError
        If ``params`` is not empty (the chapter declares no parameter).

    Examples
    --------
    >>> from thalbook.core.evidence import data
    >>> view = build(data.load(), {})
    >>> view.value("n_files"), view.value("n_sources")
    (11, 2)
    >>> [name for name in view.tables][:4]
    ['tbl-data-summary', 'data-downloads', 'results-downloads', 'tbl-data-studies']
    """
    check_names("data_provenance", params, PARAMETERS)
    raw = raw_tables(package.data_dir)
    listed = files(package.data_dir).set_index("name")
    roles = package.studies["role"]
    values = {
        "n_files": len(raw),
        "n_rows": sum(len(t) for t in raw.values()),
        "n_quotes": sum(len(t) for t in raw.values() if "quote" in t.columns),
        "n_notes": sum(int(t["note"].ne("").sum()) for t in raw.values() if "note" in t.columns),
        "n_sources": int(roles.eq("source").sum()),
        "n_context": int(roles.eq("context").sum()),
    }
    tables = {"tbl-data-summary": summary_table(raw, package),
              "data-downloads": download_list(package.data_dir), "results-downloads": results_list()}
    for name, table in raw.items():
        path = listed.loc[name, "path"]
        each = SHOWN_WITH.get(name, "its quote")
        tables[table_name(name)] = fold(f"All {len(table)} rows of {escape(path)}, each with {each}",
                                        file_table(name, table, listed.loc[name, "description"], path))
    return View(dict(params), values, tables)


def summary_table(raw: dict[str, pd.DataFrame], package) -> str:
    """MyST of ``tbl-data-summary``: each data file's rows, by source study and for the context studies together,
    and how many carry an extractor's note.

    Examples
    --------
    >>> from thalbook.core.evidence import data
    >>> package = data.load()
    >>> table = summary_table(raw_tables(package.data_dir), package)
    >>> sum(line.startswith("* - ") for line in table.splitlines()) - 1  # a row for each of the 11 files, and all
    12
    """
    labels = study_labels(package)
    sources = package.studies.loc[package.studies["role"].eq("source"), "study_id"].tolist()
    rows, totals = [], [0] * (len(sources) + 3)
    for name, table in raw.items():
        has_study, has_note = "study_id" in table, "note" in table
        studies = table["study_id"] if has_study else pd.Series([], dtype=str)
        counts = [len(table), *(int(studies.eq(s).sum()) for s in sources), int((~studies.isin(sources)).sum()),
                  int(table["note"].ne("").sum()) if has_note else 0]
        shown = [counts[0], *(c if has_study else None for c in counts[1:-1]), counts[-1] if has_note else None]
        totals = [t + c for t, c in zip(totals, counts, strict=True)]
        rows.append([f"`{name}.csv`", *("\u2014" if c is None else str(c) for c in shown)])
    rows.append(["**all files**", *(f"**{t}**" for t in totals)])
    header = ["file", "rows", *(escape(labels[s]) for s in sources), "context studies", "with a note"]
    return list_table(rows, header, caption("tbl-data-summary"), "tbl-data-summary")


def table_name(file: str) -> str:
    """The name of a data file's table: ``study_facts`` -> ``tbl-data-study-facts``."""
    return f"tbl-data-{file.replace('_', '-')}"


# --------------------------------------------------------------------------
# the data files


def descriptor(data_dir: Path | str) -> dict:
    """The data package's ``datapackage.json``."""
    path = Path(data_dir) / DESCRIPTOR
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read the data package descriptor ({exc.__class__.__name__})") from None


def raw_tables(data_dir: Path | str) -> dict[str, pd.DataFrame]:
    """Every resource of the data package as text, exactly as written, in descriptor order.

    Empty cells are empty strings. Call :func:`thalbook.core.evidence.data.load` first: this
    reads, it does not validate.
    """
    data_dir = Path(data_dir)
    tables = {}
    for resource in descriptor(data_dir)["resources"]:
        tables[resource["name"]] = pd.read_csv(data_dir / resource["path"], dtype=str, keep_default_na=False,
                                               encoding="utf-8")
    return tables


def files(data_dir: Path | str) -> pd.DataFrame:
    """One row per file of the package: ``name, path, description, rows``; descriptor and README first.

    Examples
    --------
    >>> from thalbook.core import paths
    >>> files(paths.project().data).iloc[0]["path"]
    'datapackage.json'
    """
    data_dir = Path(data_dir)
    meta = descriptor(data_dir)
    rows = [{"name": "descriptor", "path": DESCRIPTOR,
             "description": "The Frictionless Data Package descriptor: the Table Schema of every file.",
             "rows": len(meta["resources"])}]
    if (data_dir / "README.md").is_file():
        rows.append({"name": "readme", "path": "README.md",
                     "description": "The data dictionary: the rules of the package and the meaning of every column.",
                     "rows": 0})
    for name, table in raw_tables(data_dir).items():
        resource = next(r for r in meta["resources"] if r["name"] == name)
        rows.append({"name": name, "path": resource["path"], "description": resource.get("description", ""),
                     "rows": len(table)})
    return pd.DataFrame(rows)


def _join(*parts: str, sep: str = ", ") -> str:
    return sep.join(p for p in parts if p)


def _ratio(count: str, denominator: str, percent: str) -> str:
    text = f"{count}/{denominator}" if count and denominator else count
    if percent:
        text = f"{text} ({percent}%)" if text else f"{percent}%"
    return text


def _week(row: pd.Series, column: str = "timepoint_week") -> str:
    return f"week {row[column]}" if row.get(column) else ""


def reported(name: str, row: pd.Series) -> str:
    """What a row of data file ``name`` reports, in one line, numbers as written.

    Examples
    --------
    >>> row = pd.Series({"measure": "esr", "timepoint_week": "24", "comparison": "week 24 vs baseline",
    ...                  "mean": "34.2", "sd": "28", "n": "8", "p_value": "0.0156", "unit": "mm/h"})
    >>> reported("continuous_outcomes", row)
    'esr week 24: 34.2 ± 28 mm/h, n = 8, p = 0.0156 (week 24 vs baseline)'
    >>> reported("appraisal", pd.Series({"instrument": "indirectness", "item": "setting",
    ...                                  "judgement": "not serious", "short": "one centre"}))
    'indirectness setting: not serious (one centre)'
    """
    if name == "studies":
        return _join(f"{row['role']} study, {row['condition']}", f"{row['journal']} {row['year']}",
                     f"doi:{row['doi']}" if row["doi"] else "", f"PMID {row['pmid']}" if row["pmid"] else "",
                     row["registration"], sep="; ")
    if name == "study_facts":
        subgroup = f" ({row['subgroup']})" if row["subgroup"] else ""
        return f"{row['fact']}{subgroup}: {_join(row['value'], row['unit'], sep=' ')}"
    if name == "withdrawals":
        total = " [total of other rows]" if row["is_total"] == "true" else ""
        return _join(f"{row['count']} withdrew: {row['reason']} ({row['reason_category']})",
                     f"week {row['week']}" if row["week"] else "", row["timing"]) + total
    if name == "binary_outcomes":
        subgroup = f" ({row['subgroup']})" if row["subgroup"] != "all" else ""
        population = f" [{row['population']}]" if row["population"] else ""
        ratio = _ratio(row["count"], row["denominator"], row["percent"])
        return f"{row['outcome']}{subgroup}, {_week(row)}: {ratio}{population}"
    if name == "continuous_outcomes":
        spread = f" ± {row['sd']}" if row["sd"] else ""
        unit = f" {row['unit']}" if row["unit"] else ""
        extra = [f"n = {row['n']}" if row["n"] else "", f"p = {row['p_value']}" if row["p_value"] else ""]
        return _join(f"{row['measure']} {_week(row)}: {row['mean']}{spread}{unit}", *extra) + f" ({row['comparison']})"
    if name == "adverse_events":
        frequency = row["frequency"]
        withdrawal = {"true": "led to withdrawal", "false": "did not lead to withdrawal"}.get(
            row["led_to_withdrawal"], "")
        return _join(f"{row['event']}: {_join(_ratio(row['count'], row['denominator'], row['percent']), frequency)}",
                     f"severity {row['severity']}" if row["severity"] != "not-stated" else "", withdrawal,
                     row["timing"], "[total of other rows]" if row["is_total"] == "true" else "", sep="; ")
    if name == "context_outcomes":
        effect = (f"; {row['effect_measure']} {row['effect']} ({row['ci_level']}% CI {row['ci_low']}-{row['ci_high']})"
                  if row["effect"] else "")
        p = f"; p = {row['p_value']}" if row["p_value"] else ""
        return (f"{row['outcome_definition']}, {row['timepoint'] or 'time not stated'}, {row['arm']}: "
                f"{_ratio(row['count'], row['denominator'], row['percent']) or 'not stated'}{effect}{p}")
    if name == "cited_results":
        of = f" of {row['denominator']}" if row["denominator"] else ""
        return f"{row['cited_reference']}: {row['quantity']} = {row['value']}{of} {row['unit']}"
    if name == "statements":
        return f"{row['topic']} ({row['kind']}): {row['value']}"
    if name == "measures":
        scale = f"{row['scale_min']} to {row['scale_max'] or 'no upper bound'}"
        return f"{row['label']} ({row['unit']}, {row['value_type']}, scale {scale})"
    if name == "appraisal":
        short = f" ({row['short']})" if row["short"] else ""
        return f"{row['instrument']} {row['item']}: {row['judgement']}{short}"
    raise InputError(f"reported: unknown data file {name!r}")


def file_rows(name: str, table: pd.DataFrame) -> pd.DataFrame:
    """The rows of one data file as the data chapter shows them: id, what it reports, where, quote.

    ``quote`` is MyST: the verbatim quote (escaped) and, in italics, the
    extractor's note when there is one. ``measures.csv`` has no provenance
    columns: its description and source take their place. Nor has
    ``appraisal.csv``: the row a judgement rests on (or "no row") and the
    book's reason take them.

    Examples
    --------
    >>> row = {"id": "he2017-minors-size", "instrument": "minors", "item": "size", "judgement": "0", "short": "",
    ...        "reason": "no sample-size calculation", "support_file": "", "support_id": "", "note": ""}
    >>> file_rows("appraisal", pd.DataFrame([row])).iloc[0][["where", "quote"]].tolist()
    ['no row', 'no sample-size calculation']
    """
    key = "study_id" if name == "studies" else ("measure" if name == "measures" else "id")
    out = []
    for _, row in table.iterrows():
        if name == "measures":
            where, quote = escape(row["definition_source"]), escape(row["description"])
        elif name == "appraisal":
            # empty support: the paper does not report what is judged, or the judgement is the book's reading
            where = escape(_join(row["support_file"], row["support_id"], sep=" ")) or "no row"
            quote = escape(row["reason"]) + (f" *Note: {escape(row['note'])}*" if row["note"] else "")
        else:
            where = escape(row["location"])
            quote = "\u201c" + escape(row["quote"]) + "\u201d"
            if row.get("note"):
                quote += f" *Note: {escape(row['note'])}*"
        out.append({"id": escape(row[key]), "reports": escape(reported(name, row)), "where": where,
                    "quote": quote})
    return pd.DataFrame(out, columns=["id", "reports", "where", "quote"])


def file_table(name: str, table: pd.DataFrame, description: str, path: str) -> str:
    """MyST of one data file's table (:func:`table_name`): every row with what it reports and its quote."""
    rows = file_rows(name, table)
    header = ["id", "reports", "where", "quote (and extractor's note)"]
    if name == "measures":
        header = ["measure", "metadata", "definition from", "definition"]
    if name == "appraisal":
        header = ["id", "judgement", "rests on", "reason (and appraiser's note)"]
    text = caption("tbl-data-<file>", path=escape(path), description=escape(description.rstrip(".")), rows=len(rows))
    return list_table(rows.itertuples(index=False), header, text, table_name(name), widths=[22, 26, 12, 40])


def download_list(data_dir: Path | str, folder: str = "data") -> str:
    """A MyST bullet list linking every file of the data package where the book publishes it.

    The build publishes the package as it is in ``data/`` of the HTML, the
    descriptor beside its CSVs (the ``published`` role of
    :mod:`thalbook.press.sphinxext`).

    Examples
    --------
    >>> from thalbook.core import paths
    >>> download_list(paths.project().data).splitlines()[0]  # doctest: +ELLIPSIS
    '- {published}`datapackage.json <data/datapackage.json>`: The Frictionless Data Package descriptor: ...'
    """
    items = []
    for _, f in files(data_dir).iterrows():
        size = f" ({f['rows']} rows)" if f["name"] not in ("descriptor", "readme") else ""
        items.append(f"- {{published}}`{f['path']} <{folder}/{f['path']}>`: {escape(f['description'])}{size}")
    return "\n".join(items)


def results_list(folder: str = "results") -> str:
    """A MyST bullet list linking every file of the results package (:mod:`thalbook.core.analyses.results_package`).

    Examples
    --------
    >>> results_list().splitlines()[1]  # doctest: +ELLIPSIS
    '- {published}`inferred_counts.csv <results/inferred_counts.csv>`: Whole counts behind ...'
    """
    # Imported here: the chapters that borrow this module's tables (background, safety, the audit) would
    # otherwise import, through the results package, the statistics they do not compute.
    from thalbook.core.analyses import results_package

    descriptor = results_package.DESCRIPTOR
    items = [f"- {{published}}`{descriptor} <{folder}/{descriptor}>`: the Frictionless Data "
             "Package descriptor: the parameters of the build and the Table Schema of every file."]
    for name, (description, _) in results_package.RESOURCES.items():
        items.append(f"- {{published}}`{name}.csv <{folder}/{name}.csv>`: {escape(description)}")
    return "\n".join(items)


# --------------------------------------------------------------------------
# the studies


def study_labels(package, with_disease: bool = False) -> dict[str, str]:
    """Study id -> a short label, "He et al. 2017" (plain text, from ``studies.csv``).

    Examples
    --------
    >>> from thalbook.core.evidence import data
    >>> study_labels(data.load(), with_disease=True)["wei2003"]
    'Wei et al. 2003 (ankylosing spondylitis)'
    """
    labels = {}
    for _, study in package.studies.iterrows():
        surname = re.match(r"[a-z]+", study["study_id"]).group().capitalize()
        label = f"{surname} et al. {int(study['year'])}"
        if with_disease:
            label += f" ({DISEASES.get(study['condition'], study['condition'])})"
        labels[study["study_id"]] = label
    return labels


def study_overview(package) -> pd.DataFrame:
    """The two source studies side by side, from the data package (text cells, MyST).

    Rows: disease, design, recruitment, patients, dose, treatment, primary
    outcome; one column per source study, named by its citation key.
    """
    studies = package.studies[package.studies["role"].eq("source")]
    columns = {}
    for _, study in studies.iterrows():
        f = cohort.facts(package, study["study_id"])
        period = f"{f['study_start']} to {f['study_end']}" if {"study_start", "study_end"} <= f.keys() else "not stated"
        people = f"{f['enrolled']} enrolled" + (f", all {f['male']} men" if f.get("male") == f.get("enrolled") else "")
        if "age_mean" in f:
            people += f", mean age {f['age_mean']} years"
        primary = (f"clinical remission at week {f['primary_endpoint_week']}" if "primary_endpoint_week" in f
                   else "not named as one outcome (BASDAI, BASFI and patient global are called primary)"
                   if study["condition"] == "as" else "not stated")
        weeks = package.binary_outcomes.loc[package.binary_outcomes["study_id"].eq(study["study_id"]),
                                            "timepoint_week"]
        treatment = (f"{f['duration_months']} months" if "duration_months" in f
                     else f"outcomes reported to week {int(weeks.max())}" if len(weeks) else "not stated")
        columns[study["citation_key"]] = {
            "disease": escape(DISEASES[study["condition"]]),
            "design": escape(study["design"]),
            "recruitment": escape(period),
            "patients": escape(people),
            "dose": escape(harms.dose_text(package, study["study_id"])),
            "treatment": escape(treatment),
            "primary outcome": escape(primary),
        }
    return pd.DataFrame(columns)


def context_overview(package) -> pd.DataFrame:
    """The context studies, one row each (MyST cells): citation, disease, design, participants, dose, n."""
    context = package.context_outcomes
    rows = []
    for _, study in package.studies[package.studies["role"].eq("context")].iterrows():
        first = context[context["study_id"].eq(study["study_id"])].iloc[0]
        rows.append({
            "study": f"{{cite:t}}`{study['citation_key']}`",
            "disease": escape(DISEASES[study["condition"]]),
            "design": escape(study["design"]),
            "participants": escape(first["participants"]),
            "dose": escape(first["dose"]),
            "enrolled": str(int(first["n_enrolled"])) if pd.notna(first["n_enrolled"]) else "not stated",
        })
    return pd.DataFrame(rows)
