"""Citation metadata: CITATION.cff is valid and carries the package's version; the
book's BibTeX is derived from it; references.bib gives DOI or PMID where it can.

The schema check validates with jsonschema against the Citation File Format
1.2.0 schema as its maintainers publish it (checked here against the schema's
own published examples of what it must refuse).
"""

from __future__ import annotations

import json

import pytest
import yaml
from pybtex.database import parse_string

from tests.conftest import ROOT
from thalbook import __version__
from thalbook.core import paths
from thalbook.core.errors import InputError
from thalbook.core.evidence import citation
from thalbook.press import stage

CFF = ROOT / "CITATION.cff"
#: Cited works that have neither a DOI nor a PMID in the project's sources
#: (research/context-studies.md gives only journal, volume and pages).
#: Works cited without a DOI or PMID: two conference abstracts, which have none, and the ASAS20 definition,
#: whose identifiers the project has not checked against the journal (its citation is from the research notes).
NO_IDENTIFIER = {"ehrenpreis1999", "vasiliauskas1999", "anderson2001"}


def test_citation_cff_validates_through_the_api():
    citation.validate_cff(CFF)


@pytest.mark.parametrize(
    "edit",
    [
        lambda cff: cff.pop("title"),
        lambda cff: cff.update({"date-released": "21 November 2026"}),
        lambda cff: cff.update({"authors": []}),
        lambda cff: cff.update({"license": "MIT-ish"}),
        lambda cff: cff.update({"doi": "https://doi.org/10.1000/x"}),
        lambda cff: cff.update({"colour": "blue"}),
    ],
    ids=["no-title", "bad-date", "no-authors", "unknown-licence", "doi-as-url", "unknown-field"],
)
def test_an_invalid_citation_file_is_refused(tmp_path, edit):
    cff = yaml.safe_load(CFF.read_text(encoding="utf-8"))
    edit(cff)
    broken = tmp_path / "CITATION.cff"
    broken.write_text(yaml.safe_dump(cff, sort_keys=False), encoding="utf-8")
    with pytest.raises(InputError, match="invalid citation metadata") as err:
        citation.validate_cff(broken)
    assert str(broken) in str(err.value) and "\n" not in str(err.value)


def test_the_schema_is_the_published_citation_file_format_1_2_0():
    import json

    schema = json.loads(citation.CFF_SCHEMA.read_text(encoding="utf-8"))
    assert schema["$id"] == "https://citation-file-format.github.io/1.2.0/schema.json"
    assert schema["properties"]["cff-version"]["examples"] == ["1.2.0"]
    assert set(schema["required"]) == {"authors", "cff-version", "message", "title"}


def test_an_unquoted_date_is_read_as_the_text_written(tmp_path):
    released = str(citation.load_cff(CFF)["date-released"])
    text = CFF.read_text(encoding="utf-8").replace(f'date-released: "{released}"', f"date-released: {released}")
    assert f"date-released: {released}\n" in text
    (tmp_path / "CITATION.cff").write_text(text, encoding="utf-8")
    citation.validate_cff(tmp_path / "CITATION.cff")


def test_citation_version_is_the_package_version():
    assert str(citation.load_cff(CFF)["version"]) == __version__


def test_the_staged_book_config_carries_the_package_version():
    staged = yaml.safe_load(stage.staged_config(paths.project().root / "_config.yml"))
    assert staged["sphinx"]["config"]["release"] == __version__
    assert staged["sphinx"]["config"]["version"] == __version__
    assert staged["parse"]["myst_substitutions"]["version"] == __version__
    # the rest of the configuration survives the round trip, 'off' as a string
    assert staged["execute"]["execute_notebooks"] == "off"
    assert staged["title"] == yaml.safe_load((paths.project().root / "_config.yml").read_text())["title"]


def test_book_bibtex_is_the_citation_metadata():
    cff = citation.load_cff(CFF)
    entry = parse_string(citation.book_bibtex(cff), "bibtex").entries["thalbook" + str(cff["date-released"])[:4]]
    assert entry.type == "misc"
    assert entry.fields["title"] == cff["title"]
    assert entry.fields["version"] == str(cff["version"]) == __version__
    assert entry.fields["year"] == str(cff["date-released"])[:4]
    assert str(entry.persons["author"][0]) == "{" + cff["authors"][0]["name"] + "}"


def test_person_names_for_bibtex():
    assert citation.person({"family-names": "Ben-Horin", "given-names": "Shomron"}) == "Ben-Horin, Shomron"
    assert citation.person({"family-names": "Wei"}) == "Wei"
    with pytest.raises(InputError):
        citation.person({"affiliation": "nowhere"})


def test_bib_entry_is_the_text_of_references_bib():
    text = paths.project().references.read_text(encoding="utf-8")
    for key in ("he2017", "wei2003"):
        entry = citation.bib_entry(key)
        assert entry in text and entry.startswith(f"@article{{{key},") and entry.endswith("}")
        assert list(parse_string(entry, "bibtex").entries) == [key]
    with pytest.raises(InputError, match="no entry"):
        citation.bib_entry("nobody1900")


def test_every_work_in_references_bib_has_a_doi_or_pmid_unless_none_is_known():
    entries = parse_string(paths.project().references.read_text(encoding="utf-8"), "bibtex").entries
    assert set(citation.bib_keys()) == set(entries)
    for key, entry in entries.items():
        has_identifier = "doi" in entry.fields or "pmid" in entry.fields
        assert has_identifier != (key in NO_IDENTIFIER), key
        # pybtex prints a PubMed id only from `pubmed`: it must repeat `pmid`
        assert entry.fields.get("pubmed") == entry.fields.get("pmid"), key


def test_the_source_papers_in_citation_cff_match_references_bib():
    cff = citation.load_cff(CFF)
    bib = parse_string(paths.project().references.read_text(encoding="utf-8"), "bibtex").entries
    by_title = {ref["title"]: ref for ref in cff["references"]}
    for key in ("he2017", "wei2003"):
        fields = bib[key].fields
        ref = by_title[fields["title"].replace("{", "").replace("}", "")]
        assert str(ref["year"]) == fields["year"]
        assert ref.get("doi") == fields.get("doi")
        pmids = [i["value"] for i in ref.get("identifiers", [])]
        assert f"PMID:{fields['pmid']}" in pmids
        assert len(ref["authors"]) == len(bib[key].persons["author"])


def test_the_fields_shown_are_those_of_citation_cff():
    cff = yaml.safe_load(CFF.read_text(encoding="utf-8"))
    fields = dict(citation.cff_fields(citation.load_cff(CFF)))
    assert list(fields) == ["title", "version", "released", "authors", "licence", "type", "keywords", "message",
                            "abstract"]
    assert fields["title"] == cff["title"] and fields["licence"] == cff["license"]
    assert fields["version"] == str(cff["version"]) and fields["released"] == str(cff["date-released"])
    assert fields["keywords"] == ", ".join(cff.get("keywords", []))
    assert "\n" not in fields["abstract"]


def test_zenodo_metadata_says_what_citation_cff_says():
    import json

    zenodo = json.loads((ROOT / ".zenodo.json").read_text(encoding="utf-8"))
    cff = yaml.safe_load(CFF.read_text(encoding="utf-8"))
    assert zenodo["title"] == cff["title"] and zenodo["description"] == cff["abstract"]
    assert zenodo["version"] == str(cff["version"]) == __version__
    assert zenodo["publication_date"] == str(cff["date-released"])
    assert zenodo["license"] == cff["license"] and zenodo["upload_type"] == "software"
    assert [c["name"] for c in zenodo["creators"]] == [citation.person(a).strip("{}") for a in cff["authors"]]
    assert zenodo["keywords"] == cff["keywords"]
    # the two source papers, by the identifiers CITATION.cff gives them
    cited = set()
    for ref in cff["references"]:
        if "doi" in ref:
            cited.add(("doi", ref["doi"]))
        else:
            cited |= {("pmid", i["value"].removeprefix("PMID:")) for i in ref["identifiers"]}
    # besides the link to the code (tests/unit/test_repository.py), the works it re-analyses
    works = [r for r in zenodo["related_identifiers"] if r["relation"] != "isSupplementTo"]
    assert {(r["scheme"], r["identifier"]) for r in works} == cited
    assert all(r["relation"] == "references" for r in works)


def test_the_licence_file_is_mit_and_says_what_it_does_not_cover():
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License") and citation.load_cff(CFF)["license"] == "MIT"
    assert "copyright of the papers' authors and publishers" in " ".join(text.split())
    descriptor = json.loads((paths.project().data / "datapackage.json").read_text(encoding="utf-8"))
    assert "quotes stay under the papers' copyright" in descriptor["licenses"][0]["title"]
