"""How to cite the book and its sources: ``CITATION.cff`` and ``references.bib``.

``CITATION.cff`` is the one place the book's citation metadata is written;
the "How to cite" chapter renders it, and :func:`book_bibtex` derives the
book's BibTeX entry from it. :func:`validate_cff` checks it against the
format's published JSON schema. The source papers' entries are shown as
they stand in ``references.bib``, the file the bibliography is built from.

Examples
--------
>>> cff = load_cff()
>>> cff["cff-version"]
'1.2.0'
>>> print(bib_entry("wei2003").splitlines()[0])
@article{wei2003,
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from thalbook.core import paths
from thalbook.core.errors import InputError

_ENTRY_START = re.compile(r"@(\w+)\s*\{\s*([^,\s]+)\s*,")


def load_cff(path: Path | str | None = None) -> dict[str, Any]:
    """Read ``CITATION.cff`` (default: the project's) as YAML (dates and versions stay strings as written)."""
    path = Path(path) if path is not None else paths.project().citation
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"{path}: cannot read citation metadata ({exc.__class__.__name__})") from None
    if not isinstance(loaded, dict):
        raise InputError(f"{path}: expected a mapping of citation metadata")
    return loaded


#: The Citation File Format 1.2.0 schema, as published by the format's maintainers
#: (citation-file-format/citation-file-format, tag 1.2.0, ``schema.json``; CC-BY-4.0).
CFF_SCHEMA = Path(__file__).with_name("schemas") / "citation-file-format-1.2.0.json"


def validate_cff(path: Path | str | None = None) -> None:
    """Validate ``CITATION.cff`` (default: the project's) against the Citation File Format 1.2.0 schema.

    The validator is ``jsonschema``; as the schema asks of tools, YAML dates
    are read as strings first (the loader keeps every scalar's text).

    Raises
    ------
    InputError
        Naming the file, the field and the first schema violation.

    Examples
    --------
    >>> validate_cff()  # the book's own file is valid
    """
    import jsonschema

    path = Path(path) if path is not None else paths.project().citation
    try:
        text = path.read_text(encoding="utf-8")
        document = yaml.load(text, Loader=_TextDates)  # noqa: S506 (a SafeLoader subclass)
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"{path}: cannot read citation metadata ({exc.__class__.__name__})") from None
    schema = json.loads(CFF_SCHEMA.read_text(encoding="utf-8"))
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(document), key=lambda e: list(e.absolute_path))
    if errors:
        where = "/".join(str(p) for p in errors[0].absolute_path) or "(top level)"
        message = errors[0].message.splitlines()[0][:200]
        raise InputError(f"{path}: invalid citation metadata at {where}: {message}")


class _TextDates(yaml.SafeLoader):
    """A safe loader that leaves dates as the strings written (the CFF schema's note to tools)."""


_TextDates.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def person(author: dict[str, Any]) -> str:
    """One CFF author as BibTeX wants it: ``Family, Given`` or a braced entity name.

    Examples
    --------
    >>> person({"family-names": "He", "given-names": "Yao"})
    'He, Yao'
    >>> person({"name": "The thalbook authors"})
    '{The thalbook authors}'
    """
    if "family-names" in author:
        family = " ".join(filter(None, [author.get("name-particle"), author["family-names"]]))
        given = author.get("given-names")
        return f"{family}, {given}" if given else family
    if "name" in author:
        return "{" + author["name"] + "}"
    raise InputError(f"CITATION.cff: author without a name: {author!r}")


def author_list(cff: dict[str, Any]) -> str:
    """The authors as one readable line ("A, B and C")."""
    names = []
    for author in cff.get("authors", []):
        if "family-names" in author:
            names.append(" ".join(filter(None, [author.get("given-names"), author["family-names"]])))
        else:
            names.append(author.get("name", ""))
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def cff_fields(cff: dict[str, Any]) -> list[tuple[str, str]]:
    """The main fields of the citation metadata as ``(label, text)`` pairs, in the order a reader wants them.

    Missing optional fields (type, keywords, message, abstract) are empty text;
    the abstract's line breaks are spaces.

    Examples
    --------
    >>> cff_fields({"title": "T", "version": 1.0, "date-released": "2026-11-21", "authors": [{"name": "X"}],
    ...             "license": "MIT", "keywords": ["a", "b"]})[:2]
    [('title', 'T'), ('version', '1.0')]
    """
    return [
        ("title", cff["title"]),
        ("version", str(cff["version"])),
        ("released", str(cff["date-released"])),
        ("authors", author_list(cff)),
        ("licence", cff["license"]),
        ("type", cff.get("type", "")),
        ("keywords", ", ".join(cff.get("keywords", []))),
        ("message", cff.get("message", "")),
        ("abstract", " ".join(str(cff.get("abstract", "")).split())),
    ]


def book_bibtex(cff: dict[str, Any], key: str | None = None) -> str:
    """The book's BibTeX entry, derived from its CFF metadata.

    Parameters
    ----------
    cff : dict
        What :func:`load_cff` returns.
    key : str, optional
        The citation key; default ``thalbook<year released>``.

    Returns
    -------
    str
        A ``@misc`` entry (the BibTeX type for software and books that are
        not published by a press), with title, authors, year, month,
        version, licence and DOI/URL when the metadata has them.

    Examples
    --------
    >>> print(book_bibtex({"title": "T", "authors": [{"name": "X"}], "version": "1.0",
    ...                    "date-released": "2026-11-21"}))
    @misc{thalbook2026,
      author = {{X}},
      title = {T},
      year = {2026},
      month = {11},
      version = {1.0},
      note = {Version 1.0}
    }
    """
    released = str(cff.get("date-released", ""))
    year, _, rest = released.partition("-")
    month = rest.partition("-")[0]
    key = key or f"thalbook{year}"
    fields = [
        ("author", " and ".join(person(a) for a in cff.get("authors", []))),
        ("title", cff.get("title", "")),
        ("year", year),
        ("month", str(int(month)) if month else ""),
        ("version", str(cff.get("version", ""))),
        ("license", str(cff.get("license", ""))),
        ("doi", str(cff.get("doi", ""))),
        ("url", str(cff.get("url", "") or cff.get("repository-code", ""))),
        ("note", f"Version {cff['version']}" if cff.get("version") else ""),
    ]
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields if value)
    return f"@misc{{{key},\n{body}\n}}"


def bib_keys(path: Path | str | None = None) -> list[str]:
    """Every entry key of a BibTeX file (default: the project's ``references.bib``), in file order.

    Examples
    --------
    >>> {"he2017", "wei2003"} <= set(bib_keys())
    True
    """
    text = Path(path if path is not None else paths.project().references).read_text(encoding="utf-8")
    skip = ("comment", "string", "preamble")
    return [m.group(2) for m in _ENTRY_START.finditer(text) if m.group(1).lower() not in skip]


def bib_entry(key: str, path: Path | str | None = None) -> str:
    """The text of one entry of a BibTeX file (default: the project's ``references.bib``), exactly as written there.

    Raises
    ------
    InputError
        If the file has no entry with this key, or its braces do not close.
    """
    path = Path(path) if path is not None else paths.project().references
    text = path.read_text(encoding="utf-8")
    for match in _ENTRY_START.finditer(text):
        if match.group(2) != key:
            continue
        depth = 0
        for index in range(text.index("{", match.start()), len(text)):
            depth += {"{": 1, "}": -1}.get(text[index], 0)
            if depth == 0:
                return text[match.start(): index + 1]
        raise InputError(f"{path}: entry {key}: unbalanced braces")
    raise InputError(f"{path}: no entry {key}")


def reference_rows(cff: dict[str, Any]) -> list[dict[str, str]]:
    """The works ``CITATION.cff`` lists under ``references``, one line each."""
    rows = []
    for ref in cff.get("references", []):
        authors = [a.get("family-names", a.get("name", "")) for a in ref.get("authors", [])]
        lead = authors[0] + (" et al." if len(authors) > 1 else "") if authors else ""
        pages = f"{ref['start']}-{ref['end']}" if "start" in ref and "end" in ref else ""
        where = f"{ref.get('journal', '')} {ref.get('volume', '')}({ref.get('issue', '')}):{pages}"
        ids = [f"doi:{ref['doi']}"] if ref.get("doi") else []
        ids += [i["value"] for i in ref.get("identifiers", []) if i.get("value")]
        rows.append({"work": f"{lead} ({ref.get('year', '')}). {ref.get('title', '')}. {where}",
                     "identifiers": "; ".join(ids)})
    return rows
