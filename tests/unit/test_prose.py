"""The chapters' prose filled in for JupyterLab (``thalbook.chapters.prose``), without a kernel.

The expected citations and numbers are the book's own, as the HTML book
prints them ("[He et al., 2017]", "Ehrenpreis et al. [1999]", "Table 3.1");
the numbering is checked against the chapters' notebooks as saved.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from thalbook.chapters import prose
from thalbook.chapters.prose import Chapter, Figure, Sources, fill, glued_text, needs_filling

ROOT = Path(__file__).resolve().parents[2]
SOURCES = Sources(
    citations={"he2017": ("He et al.", "2017"), "ehrenpreis1999": ("Ehrenpreis et al.", "1999"),
               "kim2011": ("Kim and Scialli", "2011")},
    numbers={"tbl-a": "Table 3.1", "fig-a": "Fig. 3.2", "tbl-b": "the table below"},
    documents={"/book/chapters/safety": ("Safety", "safety.ipynb"),
               "/book/chapters/methods": ("Methods", "methods.ipynb")},
    targets={"methods-audit": "/book/chapters/methods"},
    bibliography=("Jordan Anaya\\. The GRIMMER test\\.", "Yao He et al\\. Thalidomide\\."),
    folder=Path("/book/chapters"),
)


# --------------------------------------------------------------------------- glued values


def test_a_glued_value_is_formatted_as_myst_nb_formats_it():
    values = {"n": 47, "pct": 23.404255, "low": 13.6, "method": "Wilson", "k": 11.0}
    assert glued_text(values, "n") == "47"
    assert glued_text(values, "pct:.1f") == "23.4"
    assert glued_text(values, "low:.0f") == "14"
    assert glued_text(values, "method") == "Wilson"
    assert glued_text(values, "k:d") == "11"
    assert glued_text(values, "method:>8s") == "  Wilson"


def test_every_glue_role_becomes_its_value_and_no_key_is_left():
    text = "with {glue:text}`dose_min` to {glue:text}`dose_max` mg; {glue:text}`placebo_pct:.1f`% of children"
    [out] = fill(text, {"dose_min": 50, "dose_max": 100, "placebo_pct": 18.75}, SOURCES)
    assert out == "with 50 to 100 mg; 18.8% of children"
    assert "dose_min" not in out and "{glue" not in out


def test_a_glued_text_reads_as_text_not_as_markup():
    [out] = fill("Note: {glue:text}`s`", {"s": "*all* of [them] | `x` $5"}, SOURCES)
    assert out == "Note: \\*all\\* of \\[them\\] \\| \\`x\\` \\$5"


def test_a_missing_glued_value_is_named():
    with pytest.raises(KeyError, match="no glued value 'absent'"):
        fill("{glue:text}`absent`", {"n": 1}, SOURCES)


# --------------------------------------------------------------------------- citations, numbers, links


def test_citations_read_as_the_books_author_year_citations():
    [out] = fill("He et al. {cite:p}`he2017` and {cite:t}`ehrenpreis1999`; {cite:p}`he2017,kim2011`.", {}, SOURCES)
    assert out == ("He et al. \\[He et al., 2017\\] and Ehrenpreis et al. \\[1999\\]; "
                   "\\[He et al., 2017, Kim and Scialli, 2011\\].")


def test_a_citation_of_a_work_not_in_the_bibliography_is_refused():
    with pytest.raises(KeyError, match="no entry 'nobody2020'"):
        fill("{cite:p}`nobody2020`", {}, SOURCES)


def test_numbers_and_places_of_tables_and_figures():
    [out] = fill("{numref}`tbl-a` and {numref}`fig-a` ({numref}`tbl-b`), {numref}`Figure %s <fig-a>`.", {}, SOURCES)
    assert out == "Table 3.1 and Fig. 3.2 (the table below), Figure 3.2."


def test_a_number_the_book_does_not_know_falls_back_to_its_name():
    assert fill("See {numref}`tbl-unknown`.", {}, SOURCES) == ["See tbl-unknown."]


def test_doc_and_ref_become_links_to_the_chapter_notebooks():
    [out] = fill("the {doc}`safety chapter <safety>`, {doc}`methods` and the {ref}`audit <methods-audit>`.", {},
                 SOURCES)
    assert out == "the [safety chapter](safety.ipynb), [Methods](methods.ipynb) and the [audit](methods.ipynb)."


def test_targets_go_and_headings_stay():
    assert fill("(sec-x)=\n## Results\n\nText.", {}, SOURCES) == ["## Results\n\nText."]


# --------------------------------------------------------------------------- directives


def test_a_numbered_list_table_keeps_its_caption_with_its_number_and_loses_its_name():
    table = ("````{list-table} The checks, {glue:text}`n` kinds.\n:header-rows: 1\n:name: tbl-a\n:widths: 50 50\n\n"
             "* - check\n  - checks\n* - `grim`\n  - {glue:text}`checks_grim`\n````")
    [out] = fill(table, {"n": 19, "checks_grim": 7}, SOURCES)
    assert out.splitlines()[:3] == ["````{list-table} Table 3.1 The checks, 19 kinds.", ":header-rows: 1",
                                    ":widths: 50 50"]
    assert ":name:" not in out and "  - 7" in out and out.endswith("````")


def test_a_glued_figure_is_shown_in_place_with_its_numbered_caption():
    text = ("Before {glue:text}`n`.\n\n```{glue:figure} fig_x\n:name: fig-a\n:alt: Bars.\n\n"
            "The four methods at the {glue:text}`level` level.\n```\n\nAfter.")
    assert fill(text, {"n": 3, "level": "95%"}, SOURCES) == [
        "Before 3.", Figure("fig_x"), "**Fig. 3.2** The four methods at the 95% level.\n\nAfter."]


def test_other_directives_stay_with_their_content_filled():
    text = "::::{dropdown} What {glue:text}`n` kinds mean\n\n`grim`\n: see {numref}`tbl-a`.\n\n::::"
    assert fill(text, {"n": 19}, SOURCES) == ["::::{dropdown} What 19 kinds mean\n`grim`\n: see Table 3.1.\n::::"]


def test_an_included_file_is_shown_as_code(tmp_path):
    (tmp_path / "CITATION.cff").write_text("cff-version: 1.2.0\ntitle: ```odd```\n", encoding="utf-8")
    out = fill("```{literalinclude} CITATION.cff\n:language: yaml\n```", {}, Sources(folder=tmp_path))
    assert out == ["````yaml\ncff-version: 1.2.0\ntitle: ```odd```\n````"]


def test_the_bibliography_lists_the_cited_works():
    assert fill("Every work:\n\n```{bibliography}\n```", {}, SOURCES) == [
        "Every work:\n\n1. Jordan Anaya\\. The GRIMMER test\\.\n2. Yao He et al\\. Thalidomide\\."]


def test_what_needs_filling_in_jupyterlab():
    assert needs_filling("{glue:text}`n` patients") and needs_filling("as {cite:t}`he2017` say")
    assert needs_filling("{numref}`tbl-a`") and needs_filling("```{glue:figure} fig_a\n```")
    assert not needs_filling("## Results\n\nPlain prose, a `code span` and a {doc}`link <safety>`.")
    assert not needs_filling(":::{danger}\nDo not.\n:::")


# --------------------------------------------------------------------------- numbering, from the notebooks


def _chapter(number, cells) -> Chapter:
    return Chapter(Path(f"/book/chapters/c{number}.ipynb"), f"C{number}", number, tuple(cells))


def _md(source: str) -> dict:
    return {"cell_type": "markdown", "source": source, "metadata": {}}


def _code(source: str, figure: str = "") -> dict:
    metadata = {"mystnb": {"figure": {"name": figure, "caption": "A caption."}}} if figure else {}
    return {"cell_type": "code", "source": source, "metadata": metadata}


def test_a_numbered_chapter_numbers_its_tables_and_figures_apart_in_order():
    one = _chapter(1, [_md("# One"), _code('view.show("tbl-one")')])
    two = _chapter(2, [_md("# Two"), _code('view.show("tbl-x")'), _code('view.show("fig-x")', "fig-x"),
                       _md("```{glue:figure} fig_y\n:name: fig-y\n```"), _code('view.show("other-display")'),
                       _md("````{list-table} Caption\n:name: tbl-y\n\n* - a\n````")])
    assert prose.numbered_items(two) == [("tbl-x", "table", 1), ("fig-x", "figure", 2), ("fig-y", "figure", 3),
                                         ("tbl-y", "table", 5)]
    named = prose.numbers([one, two], two, 0)
    assert named == {"tbl-one": "Table 1.1", "tbl-x": "Table 2.1", "tbl-y": "Table 2.2", "fig-x": "Fig. 2.1",
                     "fig-y": "Fig. 2.2"}


def test_the_back_matter_names_the_place_of_its_tables():
    back = _chapter(None, [_md("# Audit"), _code('view.show("tbl-a1")'), _md("prose"), _code('view.show("tbl-a2")'),
                           _code('view.show("tbl-a3")')])
    other = _chapter(None, [_code('view.show("tbl-z")')])
    assert prose.numbers([back, other], back, 2) == {"tbl-a1": "the table above", "tbl-a2": "the table below",
                                                     "tbl-a3": "the second table below", "tbl-z": "a table"}
    assert prose.numbers([back, other], other, 0)["tbl-a1"] == "a table"


def test_the_books_own_chapters_are_numbered_as_the_html_book_numbers_them():
    chapters = prose.book(ROOT)
    by_name = {c.path.stem: c for c in chapters}
    assert [c.number for c in chapters if c.number] == [1, 2, 3, 4, 5, 6]
    assert by_name["crohns_results"].number == 3 and by_name["audit"].number is None
    assert by_name["crohns_results"].title.startswith("Crohn's disease")
    named = prose.numbers(chapters, by_name["crohns_results"], 0)
    # as the HTML book captions them (Table 3.1 ... Fig. 3.3)
    assert [named[n] for n in ("tbl-crohns-counts", "tbl-crohns-remission", "fig-crohns-remission",
                               "tbl-crohns-context", "fig-crohns-context")] == [
        "Table 3.1", "Table 3.2", "Fig. 3.1", "Table 3.4", "Fig. 3.3"]
    assert named["fig-methods-intervals"] == "Fig. 2.1" and named["tbl-methods-checks"] == "Table 2.4"


def test_the_references_are_cited_as_the_book_cites_them():
    found = prose.citations(ROOT / "references.bib")
    assert found["he2017"] == ("He et al.", "2017")
    assert found["kim2011"] == ("Kim and Scialli", "2011")
    assert found["moreira1993"] == ("Moreira and others", "1993")  # "Moreira, A. L. and others"
    assert found["anaya2016"] == ("Anaya", "2016")
    assert found["damato1994"] == ("D'Amato et al.", "1994")
    assert found["deangelis2004"] == ("De Angelis et al.", "2004")


def test_the_bibliography_holds_every_cited_work_once():
    chapters = prose.book(ROOT)
    keys = prose.cited(chapters)
    entries = prose.bibliography(ROOT / "references.bib", keys)
    assert len(entries) == len(set(keys)) and {"he2017", "wei2003"} <= set(keys)
    assert entries[0].startswith("Jordan Anaya")  # sorted by author, as the book's list
    assert all("\n" not in entry for entry in entries)


def test_a_cell_id_that_no_chapter_has_is_named():
    with pytest.raises(KeyError, match="no markdown cells with id 'no-such-cell'"):
        prose.filled("no-such-cell", {}, ROOT)
