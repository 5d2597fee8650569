"""The "How to cite" view, built without a kernel, against the chapter, CITATION.cff and references.bib.

``CITATION.cff`` is read here with PyYAML and the BibTeX with pybtex; the
chapter's prose and display cells are read from the notebook; the finding
cited as an example is the first of the command line's audit (``thalbook
audit --format csv``, read with the csv module).
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
import yaml
from pybtex.database import parse_string

from tests.conftest import chapter_prose, thalbook
from thalbook import __version__
from thalbook.chapters import citing
from thalbook.core.errors import InputError

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "chapters" / "citing.ipynb"


@pytest.fixture(scope="module")
def view(default_view):
    return default_view("citing")


def cff() -> dict:
    return yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))


def code_blocks(myst: str) -> list[str]:
    return re.findall(r"```bibtex\n(.*?)\n```", myst, flags=re.S)


# ---------------------------------------------------------------- against the chapter


# ---------------------------------------------------------------- against the citation files


def test_the_citation_is_the_citation_file(view):
    meta = cff()
    assert view.value("cff_title") == meta["title"]
    assert view.value("cff_version") == str(meta["version"]) == view.value("package_version") == __version__
    assert view.value("cff_released") == str(meta["date-released"])
    assert view.value("cff_year") == str(meta["date-released"]).split("-")[0]
    assert view.value("cff_license") == meta["license"]
    assert view.value("version_statement") == (
        f"The version in CITATION.cff is the version of the thalbook package that built this book ({__version__}).")
    assert f"  - {meta['license']}" in view.tables["tbl-citing-cff"]


def test_a_citation_file_of_another_version_says_so(package, tmp_path):
    meta = cff()
    meta["version"] = "99.0.0"
    other = tmp_path / "CITATION.cff"
    other.write_text(yaml.safe_dump(meta, sort_keys=False), encoding="utf-8")
    statement = citing.build(package, {}, cff_path=other).value("version_statement")
    assert statement.startswith("The version in CITATION.cff (99.0.0) is not the version")
    assert statement.endswith(f"({__version__}): CITATION.cff is out of date.")


def test_the_book_bibtex_and_the_source_entries(view):
    (book,) = code_blocks(view.tables["bibtex-book"])
    entry = next(iter(parse_string(book, "bibtex").entries.values()))
    assert entry.type == "misc" and entry.fields["version"] == __version__
    with (ROOT / "data" / "studies.csv").open(encoding="utf-8", newline="") as f:
        sources = [r["citation_key"] for r in csv.DictReader(f) if r["role"] == "source"]
    blocks = code_blocks(view.tables["bibtex-sources"])
    assert [list(parse_string(b, "bibtex").entries) for b in blocks] == [[key] for key in sources]
    cited = chapter_prose(NOTEBOOK).split("## Cite the source studies", 1)[1].split("\n## ", 1)[0]
    assert re.findall(r"\{cite:t\}`([^`]+)`", cited) == sources
    bib = (ROOT / "references.bib").read_text(encoding="utf-8")
    assert all(block in bib for block in blocks)


def test_every_reference_of_the_citation_file_is_listed(view):
    references = view.tables["tbl-citing-references"]
    assert sum(1 for line in references.splitlines() if line.startswith("* - ")) - 1 == len(cff()["references"])


def test_one_finding_is_cited_by_the_identifier_the_audit_gives_it(view):
    proc = thalbook("audit", "--format", "csv")
    assert proc.returncode == 0, proc.stderr
    rows = [r for r in csv.DictReader(io.StringIO(proc.stdout)) if r["finding"]]
    if "order" in rows[0]:
        rows.sort(key=lambda r: int(r["order"]))
    first = rows[0]["finding"]
    meta = cff()
    assert view.value("finding_id") == first
    assert view.value("n_findings") == len({r["finding"] for r in rows})
    # the address: the audit page, the identifier its fragment (after the book's url when the metadata has one)
    fragment = f"chapters/audit.html#{first}"
    assert view.value("finding_address") == (f"{meta['url'].rstrip('/')}/{fragment}" if meta.get("url") else fragment)
    citation = view.value("finding_citation")
    assert citation.startswith(f"{meta['authors'][0]['name']} ({str(meta['date-released'])[:4]}). {meta['title']}, ")
    assert citation.endswith(f", version {meta['version']}, finding {first}, {view.value('finding_address')}")
    # shown as a block to copy, and a link to the finding's block in the audit chapter (its label)
    assert f"```text\n{citation}\n```" in view.tables["cite-finding"]
    assert f"{{ref}}`{first} <{first}>`" in view.tables["cite-finding"]


def test_no_identifier_or_address_is_typed_in_the_chapter(view):
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    source = "\n".join("".join(c["source"]) for c in cells)
    assert view.value("finding_id") not in source and "audit.html#" not in source
    prose = chapter_prose(NOTEBOOK)
    for name in ("n_findings", "finding_id", "finding_address"):
        assert f"{{glue:text}}`{name}`" in prose, name


def test_a_broken_citation_file_is_refused(package, tmp_path):
    broken = tmp_path / "CITATION.cff"
    meta = cff()
    meta.pop("title")
    broken.write_text(yaml.safe_dump(meta, sort_keys=False), encoding="utf-8")
    with pytest.raises(InputError, match="invalid citation metadata"):
        citing.build(package, {}, cff_path=broken)
