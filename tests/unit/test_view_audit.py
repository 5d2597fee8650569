"""The audit view, built without a kernel, against the chapter and independent sources.

The expected counts come from the command line's CSV (``thalbook audit
--format csv``, read here with the csv module), from ``studies.csv`` and, for
the quotes of the places a finding rests on, from the data files read with
the csv module; what each check means is read from the chapter's markdown,
where it is written. The findings come first, one block each, named by the
finding's identifier (its HTML id), grouped by kind when the audit gives
kinds; the checks behind each are folded beneath it (HTML only), and every
check is shown by study, folded in HTML and laid out for print in the PDF.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import chapter_prose, shown_names, thalbook
from thalbook.chapters import audit, methods
from thalbook.chapters.tables import escape

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "chapters" / "audit.ipynb"


@pytest.fixture(scope="module")
def view(default_view):
    return default_view("audit")


@pytest.fixture(scope="module")
def cli_rows() -> list[dict[str, str]]:
    proc = thalbook("audit", "--format", "csv")
    assert proc.returncode == 0, proc.stderr
    return list(csv.DictReader(io.StringIO(proc.stdout)))


def body_rows(myst: str) -> int:
    return sum(1 for line in myst.splitlines() if line.startswith("* - ")) - 1


def first_cells(myst: str) -> list[str]:
    """The first cell of every body row of a list-table."""
    return re.findall(r"^\* - (.*)$", myst, flags=re.M)[1:]


def only_blocks(myst: str, output: str) -> list[str]:
    """The bodies of the ``{only} <output>`` directives of some MyST (colon fences of any length)."""
    return [body for _, body in re.findall(rf"^(:{{3,}}){{only}} {output}\n(.*?)\n\1$", myst, flags=re.M | re.S)]


def blocks(view) -> dict[str, str]:
    """Each finding's block in the findings display, by the name (label, HTML id) of its container."""
    found = re.findall(r"^(:{3,})\{container\} thalbook-finding\n:name: (\S+)\n(.*?)\n\1$",
                       view.tables[audit.FINDINGS], flags=re.M | re.S)
    names = [name for _, name, _ in found]
    assert len(names) == len(set(names)), "a finding's block is named twice"
    return {name: body for _, name, body in found}


def published(cli_rows) -> list[str]:
    """The findings of the command line's audit, each once, in the order of their ``order`` (if given)."""
    rows = [r for r in cli_rows if r["finding"]]
    if "order" in rows[0]:
        rows = sorted(rows, key=lambda r: int(r["order"]))
    return list(dict.fromkeys(r["finding"] for r in rows))


def data_quotes() -> dict[tuple[str, str], set[str]]:
    """Every quote of the data package, by the study and location of its row."""
    quotes: dict[tuple[str, str], set[str]] = {}
    for path in (ROOT / "data").glob("*.csv"):
        with path.open(encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                if row.get("quote"):
                    quotes.setdefault((row["study_id"], row["location"]), set()).add(row["quote"])
    return quotes


# ---------------------------------------------------------------- against the chapter


def test_the_findings_come_first(view):
    # the chapter opens with its findings: their index and blocks come before any other table of the view
    shown = shown_names(NOTEBOOK)
    assert shown[:2] == ["tbl-audit-findings", audit.FINDINGS]
    # the index, which repeats what the blocks say, is folded: the blocks are what the page is made of
    assert view.tables["tbl-audit-findings"].startswith(":::{dropdown} All ")
    assert chapter_prose(NOTEBOOK).split("\n## ")[1].startswith("Findings\n")


def test_the_chapter_explains_every_kind_of_check(view):
    explained = re.findall(r"^`([a-z-]+)`\n: ", chapter_prose(NOTEBOOK), flags=re.M)
    assert explained == list(methods.CHECKS)


# ---------------------------------------------------------------- against independent sources


def test_counts_are_those_of_the_command_line_audit(view, cli_rows):
    status = Counter(r["status"] for r in cli_rows)
    assert view.value("n_checks") == len(cli_rows)
    assert view.value("n_inconsistent") == status["inconsistent"]
    assert view.value("n_not_checkable") == status["not-checkable"]
    assert view.value("n_consistent") == status["consistent"]
    assert view.value("n_check_types") == len({r["check"] for r in cli_rows})
    assert view.value("n_audited_studies") == len({r["study"] for r in cli_rows})
    with (ROOT / "data" / "studies.csv").open(encoding="utf-8", newline="") as f:
        sources = [r["study_id"] for r in csv.DictReader(f) if r["role"] == "source"]
    for study in sources:
        assert view.value(f"{study}_checks") == sum(r["study"] == study for r in cli_rows)
        assert view.value(f"{study}_findings") == len({r["finding"] for r in cli_rows if r["study"] == study} - {""})
    assert view.value("n_findings") == len({r["finding"] for r in cli_rows} - {""})
    assert view.value("n_findings") == (view.value("he2017_findings") + view.value("wei2003_findings")
                                        + view.value("n_context_findings"))


def test_every_check_has_a_row_and_every_inconsistency_a_finding(view, cli_rows):
    per_study = {name.removeprefix("audit-rows-"): body_rows(myst) for name, myst in view.tables.items()
                 if name.startswith("audit-rows-") and name != audit.CONTEXT_TABLES}
    assert per_study == Counter(r["study"] for r in cli_rows)
    with (ROOT / "data" / "studies.csv").open(encoding="utf-8", newline="") as f:
        context = {r["study_id"] for r in csv.DictReader(f) if r["role"] == "context"}
    together = re.findall(r":name: audit-rows-(\S+)", view.tables[audit.CONTEXT_TABLES])
    assert set(together) == context & set(per_study)
    # the index: one row per finding, by its identifier, in the audit's order
    assert first_cells(view.tables["tbl-audit-findings"]) == published(cli_rows)
    assert len(published(cli_rows)) == view.value("n_findings")
    # every inconsistent row belongs to a finding
    assert all(r["finding"] for r in cli_rows if r["status"] == "inconsistent")


# ---------------------------------------------------------------- the findings, one block each


def test_each_finding_has_one_block_named_by_its_identifier_and_linking_to_itself(view, cli_rows):
    found = blocks(view)
    assert sorted(found) == sorted(published(cli_rows))
    for name, body in found.items():
        # the visible label: the identifier, a link to the block itself (audit.html#<identifier>)
        assert body.startswith(f"[{name}](#{name}) "), name
    # the index links each finding's row to its block
    for name in found:
        assert f"](#{name})" in view.tables["tbl-audit-findings"], name


def test_each_block_gives_the_verdict_the_places_with_their_quotes_and_what_would_reconcile(view, cli_rows):
    quotes = data_quotes()
    by_finding: dict[str, list[dict]] = {}
    for row in cli_rows:
        if row["finding"]:
            by_finding.setdefault(row["finding"], []).append(row)
    quoted_blocks = 0
    for name, body in blocks(view).items():
        rows = by_finding[name]
        failing = next(r for r in rows if r["status"] == "inconsistent")
        verdict = re.search(r"^\*\*Verdict[:.](.*?)\*\* (.*)$", body, flags=re.M)
        assert verdict, name
        problem = escape(failing["detail"])
        assert verdict.group(2).lower().startswith(problem.lower()), name
        if "kind" in failing:
            assert verdict.group(1).strip().rstrip(".") == failing["kind"], name
        if failing.get("convention"):
            assert f"It holds under {escape(failing['convention'])}." in verdict.group(2), name
        # what would reconcile it: every reconciliation the rows offer
        for reconcile in {r["reconcile"] for r in rows if r["reconcile"]}:
            assert escape(reconcile.removeprefix("would reconcile: ")) in body, (name, reconcile)
        # the places: every place of the rows, each quote a quote of the data package at that place
        places = body.split("**Where it stands.**", 1)[1].split("**What would reconcile it.**")[0]
        for row in rows:
            for place in row["location"].split("; "):
                assert escape(place.split(" of ")[0]) in places, (name, place)
        for line in places.strip().splitlines():
            match = re.match(r"- \*(.+?)\*: (.*)$", line)
            if not match:
                continue
            quoted_blocks += 1
            where = match.group(1).replace("\\", "").split(", ")[-1]
            study = rows[0]["study"] if ", " not in match.group(1) else None
            said = re.findall(r"\u201c(.*?)\u201d", match.group(2))
            assert said, (name, line)
            known = {escape(q) for (s, loc), qs in quotes.items() if loc == where and study in (None, s) for q in qs}
            assert set(said) <= known, (name, line)
    assert quoted_blocks >= len(blocks(view))  # every finding quotes the paper at one place at least


def test_the_checks_behind_each_finding_are_folded_beneath_it_in_html_only(view, cli_rows):
    for name, body in blocks(view).items():
        (html,) = only_blocks(body, "html")
        assert re.match(r":{3,}\{dropdown\} The \d+ checks? behind this finding\n", html), name
        rows = [r for r in cli_rows if r["finding"] == name]
        assert body_rows(html) == len(rows), name
        # captioned and named like every table of the book; in HTML only, so its label is defined once
        assert f":name: checks-{name}\n" in html and html.count(":name:") == 1
        statuses = [re.sub(r"\W", "", v.split(":")[0]) for v in re.findall(r"^  - (\S+): ", html, flags=re.M)
                    if re.sub(r"\W", "", v.split(":")[0]) in audit.STATUS_ORDER]
        assert statuses == sorted(statuses, key=audit.STATUS_ORDER.index), name  # inconsistencies first
        assert not only_blocks(body, "latex")


def test_the_findings_are_grouped_by_kind_and_every_count_says_which_kinds(view, cli_rows):
    shown = view.tables[audit.FINDINGS]
    kinds = {r["finding"]: r.get("kind", "") for r in cli_rows if r["finding"]}
    counts = Counter(kinds.values())
    headings = re.findall(r"^```\{rubric\} (.+): (\d+) findings?$", shown, flags=re.M)
    if "kind" not in cli_rows[0]:
        assert not headings and view.value("findings_by_kind") == f"{len(kinds)} findings"
        return
    assert [(k.lower(), int(n)) for k, n in headings] == [(k, counts[k]) for k in audit.KINDS if counts[k]]
    # each block stands under the heading of its kind
    for kind, part in zip([k for k, _ in headings], re.split(r"^```\{rubric\} .+$", shown, flags=re.M)[1:],
                          strict=True):
        named = re.findall(r"\{container\} thalbook-finding\n:name: (\S+)$", part, flags=re.M)
        assert named and all(kinds[n] == kind.lower() for n in named), kind
    total = f"{len(kinds)} findings of {len(counts)} kinds: "
    assert view.value("findings_by_kind") == total + ", ".join(
        f"{counts[k]} {k}" for k in audit.KINDS if counts[k])
    # the prose counts findings by saying which kinds it counts
    prose = chapter_prose(NOTEBOOK)
    assert "{glue:text}`findings_by_kind`" in prose
    assert "Counting findings of every kind, He et al. 2017\nhas {glue:text}`he2017_findings`" in prose


# ---------------------------------------------------------------- every check, by study


def test_each_study_shows_its_checks_folded_in_html_and_laid_out_for_print(view, cli_rows):
    for study in {r["study"] for r in cli_rows}:
        myst = view.tables[f"audit-rows-{study}"]
        (html,) = only_blocks(myst, "html")
        (latex,) = only_blocks(myst, "latex")
        assert html.startswith(":::{dropdown} All ") and f":name: audit-rows-{study}" in html
        # the print layout: no table (a row that cannot break leaves half-empty pages), one list item per check
        assert "{list-table}" not in latex and ":name:" not in latex
        items = re.findall(r"^(?:: |  )- ", latex, flags=re.M)
        assert len(items) == sum(r["study"] == study for r in cli_rows), study
        # the checks of each finding stand together, under the finding's identifier
        for finding in {r["finding"] for r in cli_rows if r["study"] == study and r["finding"]}:
            assert latex.count(f"**{escape(finding)}**: ") == 1, finding


def test_the_other_rounding_changes_as_many_verdicts_as_the_view_says(package, view):
    assert view.value("other_rounding") == "half-even or truncation"
    def ids(v):
        # the index table's first column, one finding id per row; the header row is "finding"
        return set(re.findall(r"^\* - ([a-z0-9-]+)$", v.tables["tbl-audit-findings"], flags=re.M)) - {"finding"}

    changed = set()
    for rounding in ("half-even", "truncation"):
        other = audit.build(package, {"rounding": rounding})
        assert abs(other.value("n_findings") - view.value("n_findings")) <= view.value("n_rounding_sensitive")
        changed |= ids(view) ^ ids(other)
    # a finding counts once however many of its checks a convention moves: the ids, not the quantities
    assert len(ids(view)) == view.value("n_findings")
    assert view.value("n_rounding_sensitive") == len(changed)
    # 34.2 as a mean of 8 whole numbers: 274/8 = 34.25 is 34.2 by half-even and by truncation only
    assert view.value("n_rounding_sensitive") >= 3
