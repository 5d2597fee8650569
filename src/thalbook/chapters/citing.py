"""What the "How to cite" chapter shows: the book's citation metadata and the sources' BibTeX.

Everything comes from ``CITATION.cff`` and ``references.bib`` through
:mod:`thalbook.core.citation`.
"""

from __future__ import annotations

from typing import Any

from thalbook import __version__
from thalbook.chapters.tables import escape, list_table
from thalbook.chapters.view import View
from thalbook.core import citation, paths

#: The parameters the chapter declares (none).
PARAMETERS: tuple[str, ...] = ()
#: The source studies' keys in ``references.bib``: the chapter's prose cites the same two.
SOURCE_KEYS = ("he2017", "wei2003")


def build(package, params: dict[str, Any], cff_path=paths.CITATION, bib_path=paths.REFERENCES) -> View:
    """The citing chapter's view: the citation for the prose, the book's BibTeX and two tables.

    Parameters
    ----------
    package : thalbook.core.data.DataPackage
        What :func:`thalbook.core.data.load` returns (unused: the page reads only the citation files).
    params : dict
        The chapter's parameters (it declares none).
    cff_path, bib_path : path, optional
        ``CITATION.cff`` and ``references.bib``; by default the book's own.

    Returns
    -------
    View
        ``values``: ``cff_title``, ``cff_version``, ``cff_released``,
        ``cff_year``, ``cff_authors``, ``cff_license``, ``package_version``
        and ``version_statement`` (one sentence: whether the two versions
        agree). ``tables``: ``bibtex-book`` (the book's entry, derived from
        ``CITATION.cff``), ``tbl-citing-cff``, ``tbl-citing-references`` and
        ``bibtex-sources`` (the source studies' entries in ``references.bib``).

    Raises
    ------
    TypeError
        If ``params`` does not hold exactly :data:`PARAMETERS`.
    InputError
        If ``CITATION.cff`` does not validate, or ``references.bib`` lacks an
        entry of :data:`SOURCE_KEYS`.

    Examples
    --------
    >>> from thalbook.core import data
    >>> view = build(data.load(), {})
    >>> view.value("cff_version") == view.value("package_version")
    True
    >>> view.tables["bibtex-book"].splitlines()[1].startswith("@misc{thalbook")
    True
    """
    missing, extra = set(PARAMETERS) - set(params), set(params) - set(PARAMETERS)
    if missing or extra:
        raise TypeError(f"citing.build: parameters must be {', '.join(PARAMETERS) or 'none'}; "
                        f"missing {sorted(missing)}, unexpected {sorted(extra)}")
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
    fields = citation.cff_fields(cff)
    references = citation.reference_rows(cff)
    tables = {
        "bibtex-book": bibtex_block(citation.book_bibtex(cff)),
        "tbl-citing-cff": list_table([[f"**{name}**", escape(value)] for name, value in fields], ["field", "value"],
                                     "The book's citation metadata, from CITATION.cff.", "tbl-citing-cff",
                                     widths=[18, 82]),
        "tbl-citing-references": list_table([[escape(r["work"]), escape(r["identifiers"])] for r in references],
                                            ["work", "identifiers"], "The source studies, as CITATION.cff lists them.",
                                            "tbl-citing-references", widths=[64, 36]),
        "bibtex-sources": "\n\n".join(bibtex_block(citation.bib_entry(key, bib_path)) for key in SOURCE_KEYS),
    }
    return View(dict(params), values, tables)


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
