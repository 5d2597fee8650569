"""What the "How to cite" chapter shows: the book's citation metadata, how to cite one finding, the sources' BibTeX.

Everything comes from ``CITATION.cff`` and ``references.bib`` through
:mod:`thalbook.core.evidence.citation`, and the finding cited as an example from the
consistency audit (:mod:`thalbook.core.auditing.findings`): its identifier is the
HTML id of its block in the audit chapter (:mod:`thalbook.chapters.audit`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from thalbook import __version__
from thalbook.chapters.tables import caption, escape, list_table
from thalbook.chapters.view import View, check_names
from thalbook.core import paths
from thalbook.core.analyses import cohort
from thalbook.core.auditing import checks, findings
from thalbook.core.errors import InputError
from thalbook.core.evidence import citation

#: The parameters the chapter declares (none).
PARAMETERS: tuple[str, ...] = ()
#: The audit chapter (in the project's ``chapters/``), whose findings are cited by the identifier that is
#: their address on its page.
AUDIT_CHAPTER = "audit.ipynb"


def source_keys(package) -> list[str]:
    """The source studies' keys in ``references.bib``, in the package's order: the chapter's prose cites them.

    Examples
    --------
    >>> from thalbook.core.evidence import data
    >>> source_keys(data.load())
    ['he2017', 'wei2003']
    """
    studies = package.studies.set_index("study_id")
    return [str(studies.loc[s, "citation_key"]) for s in cohort.source_studies(package)]


def build(package, params: dict[str, Any], cff_path=None, bib_path=None) -> View:
    """The citing chapter's view: the citation for the prose, the book's BibTeX and two tables.

    Parameters
    ----------
    package : thalbook.core.evidence.data.DataPackage
        What :func:`thalbook.core.evidence.data.load` returns (unused: the page reads only the citation files).
    params : dict
        The chapter's parameters (it declares none).
    cff_path, bib_path : path, optional
        ``CITATION.cff`` and ``references.bib``; by default the project's own.

    Returns
    -------
    View
        ``values``: ``cff_title``, ``cff_version``, ``cff_released``,
        ``cff_year``, ``cff_authors``, ``cff_license``, ``package_version``
        and ``version_statement`` (one sentence: whether the two versions
        agree); for citing one finding, the audit's first as the example:
        ``finding_id`` (its identifier), ``finding_address`` (the audit page
        and the identifier as its fragment, after the book's ``url`` when
        ``CITATION.cff`` gives one, else relative to the book's home),
        ``finding_citation`` (the whole citation) and ``n_findings`` (the
        audit's findings, of every kind). ``tables``: ``bibtex-book`` (the
        book's entry, derived from ``CITATION.cff``), ``tbl-citing-cff``,
        ``cite-finding`` (the citation of the example finding, as a block to
        copy, and a link to it), ``tbl-citing-references`` and
        ``bibtex-sources`` (the source studies' entries in ``references.bib``).

    Raises
    ------
    TypeError
        If ``params`` does not hold exactly :data:`PARAMETERS`.
    InputError
        If ``CITATION.cff`` does not validate, or ``references.bib`` lacks an
        entry of :func:`source_keys`.

    Examples
    --------
    >>> from thalbook.core.evidence import data
    >>> view = build(data.load(), {})
    >>> view.value("cff_version") == view.value("package_version")
    True
    >>> view.tables["bibtex-book"].splitlines()[1].startswith("@misc{thalbook")
    True
    """
    check_names("citing", params, PARAMETERS)
    cff = citation.load_cff(cff_path)
    citation.validate_cff(cff_path)
    version = str(cff["version"])
    values = {
        "cff_title": cff["title"],
        "cff_version": version,
        "cff_released": str(cff["date-released"]),
        "cff_year": str(cff["date-released"])[:4],
        "cff_authors": citation.author_list(cff),
        "cff_license": cff["license"],
        "package_version": __version__,
        "version_statement": version_statement(version, __version__),
    }
    values.update(finding_values(package, cff))
    fields = citation.cff_fields(cff)
    references = citation.reference_rows(cff)
    tables = {
        "bibtex-book": bibtex_block(citation.book_bibtex(cff)),
        "tbl-citing-cff": list_table([[f"**{name}**", escape(value)] for name, value in fields], ["field", "value"],
                                     caption("tbl-citing-cff"), "tbl-citing-cff",
                                     widths=[18, 82]),
        "cite-finding": cite_finding(values["finding_id"], values["finding_citation"]),
        "tbl-citing-references": list_table([[escape(r["work"]), escape(r["identifiers"])] for r in references],
                                            ["work", "identifiers"], caption("tbl-citing-references"),
                                            "tbl-citing-references", widths=[64, 36]),
        "bibtex-sources": "\n\n".join(bibtex_block(citation.bib_entry(key, bib_path)) for key in source_keys(package)),
    }
    return View(dict(params), values, tables)


def page_address(notebook=None) -> str:
    """Where a chapter's page stands in the HTML book, relative to its home: ``chapters/audit.html``.

    Examples
    --------
    >>> page_address()
    'chapters/audit.html'
    """
    project = paths.project()
    notebook = project.chapters / AUDIT_CHAPTER if notebook is None else notebook
    return Path(notebook).relative_to(project.root).with_suffix(".html").as_posix()


def finding_values(package, cff: dict[str, Any]) -> dict[str, Any]:
    """The glued values for citing one finding: the audit's first finding, its address and its citation.

    The audit runs under its default rounding: a finding's identifier is
    the same under every parameter set.
    """
    listed = findings.summary(checks.run_audit(package))
    if listed.empty:
        raise InputError("citing.build: the audit has no finding to cite as an example")
    finding = str(listed["finding"].iloc[0])
    fragment = f"{page_address()}#{finding}"
    address = f"{str(cff['url']).rstrip('/')}/{fragment}" if cff.get("url") else fragment
    book = f"{citation.author_list(cff)} ({str(cff['date-released'])[:4]}). {cff['title']}, version {cff['version']}"
    return {"finding_id": finding, "finding_address": address, "n_findings": len(listed),
            "finding_citation": f"{book}, finding {finding}, {address}"}


def cite_finding(finding: str, text: str) -> str:
    """MyST: the citation of one finding as a block to copy, then a link to the finding's block in the audit.

    Examples
    --------
    >>> print(cite_finding("s-m", "Book, finding s-m, chapters/audit.html#s-m"))
    ```text
    Book, finding s-m, chapters/audit.html#s-m
    ```
    <BLANKLINE>
    The finding: {ref}`s-m <s-m>`.
    """
    return f"```text\n{text}\n```\n\nThe finding: {{ref}}`{finding} <{finding}>`."


def version_statement(cff_version: str, package_version: str) -> str:
    """One sentence: is the version in ``CITATION.cff`` that of the package that built the book?

    Examples
    --------
    >>> version_statement("1.0", "1.0")
    'The version in CITATION.cff is the version of the thalbook package that built this book (1.0).'
    >>> version_statement("1.0", "1.1").split(": ")[-1]
    'CITATION.cff is out of date.'
    """
    built_by = "the version of the thalbook package that built this book"
    if cff_version == package_version:
        return f"The version in CITATION.cff is {built_by} ({package_version})."
    return (f"The version in CITATION.cff ({cff_version}) is not {built_by} ({package_version}): "
            "CITATION.cff is out of date.")


def bibtex_block(entry: str) -> str:
    """A BibTeX entry as a MyST code block.

    Examples
    --------
    >>> print(bibtex_block("@misc{x}"))
    ```bibtex
    @misc{x}
    ```
    """
    return f"```bibtex\n{entry}\n```"
