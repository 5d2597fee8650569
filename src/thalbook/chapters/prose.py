"""A chapter's prose as the book prints it, for a reader in JupyterLab: glued values, citations and numbers filled in.

In JupyterLab 4, jupyterlab-myst (2.7) renders a chapter's markdown cells as
MyST, but it knows neither MyST-NB's glue (``{glue:text}`` shows its key;
jupyter-book/jupyterlab-myst#165) nor the book's bibliography and numbering
(``{cite:p}`` and ``{numref}`` show their keys, flagged as unresolved). No
inline syntax serves both: MyST-NB's ``{eval}`` role (1.4), which
jupyterlab-myst also reads, asks a live kernel, and Jupyter Book renders the
chapters papermill executed with execution off (executablebooks/MyST-NB#596);
jupyterlab-myst's ``{{ }}`` expressions are the book's substitutions. So each
markdown cell that needs it is followed by a one-call code cell, which the
book removes (``remove-cell``) and whose output is that cell's prose as the
book prints it (:meth:`thalbook.chapters.view.View.prose`); the cell itself is
folded in JupyterLab (``jupyter.source_hidden``, which the book ignores, and
which JupyterLab undoes for a markdown cell it runs).

:func:`fill` is the filling itself, text in and text out; :func:`filled`
finds the cell by its id among the chapters ``_toc.yml`` lists and gathers
what the prose refers to: the chapter's own and the other chapters' tables
and figures, numbered as Sphinx numbers them (``Table 3.1`` in a numbered
chapter; in the back matter, whose numbers run on through pages a kernel
cannot see, the place instead: "the table below"), the titles of chapters,
and ``references.bib`` cited as the book cites it.

Examples
--------
>>> sources = Sources(citations={"he2017": ("He et al.", "2017")}, numbers={"tbl-x": "Table 3.1"})
>>> fill("He et al. {cite:p}`he2017` treated {glue:text}`n` adults ({numref}`tbl-x`), "
...      "{glue:text}`pct:.1f`% of them.", {"n": 47, "pct": 23.404}, sources)
['He et al. \\\\[He et al., 2017\\\\] treated 47 adults (Table 3.1), 23.4% of them.']
>>> needs_filling("A sentence with a {glue:text}`value`."), needs_filling("Prose with a {doc}`link <safety>`.")
(True, False)
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from thalbook.chapters.tables import escape
from thalbook.core import computed, paths

#: An inline role: ``{name}`content```.
ROLE = re.compile(r"\{(glue:text|cite:p|cite:t|numref|doc|ref)\}`([^`]+)`")
#: Roles jupyterlab-myst cannot resolve: a cell holding one is filled in.
UNRESOLVED_ROLES = ("glue:text", "cite:p", "cite:t", "numref")
#: Directives jupyterlab-myst cannot render from the cell alone: a cell holding one is filled in.
UNRESOLVED_DIRECTIVES = ("glue:figure", "literalinclude", "bibliography")
#: Directives Sphinx numbers, by what it calls them.
TABLES = ("list-table", "table", "csv-table")
FIGURES = ("figure", "glue:figure")
#: A target line, ``(label)=``.
TARGET = re.compile(r"^\(([^()\s]+)\)=[ \t]*$")
#: The opening line of a directive: a fence of backticks, tildes or colons, its name, its argument.
OPENING = re.compile(r"^(?P<fence>`{3,}|~{3,}|:{3,})\{(?P<name>[\w:.-]+)\}[ \t]*(?P<argument>.*?)[ \t]*$")
#: An option line at the head of a directive's content.
OPTION = re.compile(r"^:(?P<key>[\w-]+):(?:[ \t]+(?P<value>.*?))?[ \t]*$")
#: A heading line.
HEADING = re.compile(r"^#{1,6}[ \t]")
#: Each view.show("name") in a code cell.
SHOWN = re.compile(r"""\.show\(\s*["']([^"']+)["']\s*\)""")
_ORDINALS = ("", "second ", "third ", "fourth ", "fifth ", "sixth ", "seventh ", "eighth ", "ninth ", "tenth ")


@dataclass(frozen=True)
class Figure:
    """A glued figure that the prose shows in place (``{glue:figure}``): the view's value ``name``."""

    name: str


@dataclass(frozen=True)
class Sources:
    """What a markdown cell refers to beyond its chapter's glued values.

    Parameters
    ----------
    citations : mapping
        BibTeX key -> (authors as cited, year): ``("He et al.", "2017")``.
    numbers : mapping
        Table or figure name -> how the book names it from this cell: ``"Table 3.1"``, ``"the table below"``.
    documents : mapping
        A chapter's path without suffix (absolute) -> (its title, its file relative to the cell's chapter).
    targets : mapping
        Target name (``(name)=``) -> the path without suffix of the chapter it is in.
    bibliography : sequence
        Every cited work, formatted (Markdown), in the order of the book's reference list.
    folder : Path, optional
        The chapter's folder, against which ``{doc}`` and ``{literalinclude}`` paths are read.
    """

    citations: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    numbers: Mapping[str, str] = field(default_factory=dict)
    documents: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    targets: Mapping[str, str] = field(default_factory=dict)
    bibliography: Sequence[str] = ()
    folder: Path | None = None


def needs_filling(markdown: str) -> bool:
    """Whether jupyterlab-myst leaves something of ``markdown`` unresolved: a glued value, a citation, a number.

    Examples
    --------
    >>> needs_filling("```{bibliography}\\n```"), needs_filling("## A heading")
    (True, False)
    """
    if any(role in UNRESOLVED_ROLES for role, _ in ROLE.findall(markdown)):
        return True
    return any((m := OPENING.match(line)) and m["name"] in UNRESOLVED_DIRECTIVES for line in markdown.splitlines())


def fill(markdown: str, values: Mapping[str, Any], sources: Sources | None = None) -> list[str | Figure]:
    """``markdown`` as the book prints it: Markdown for jupyterlab-myst, and the glued figures in their places.

    Every ``{glue:text}`` becomes its value, formatted as MyST-NB formats it
    (``{glue:text}`key:.1f``` with ``format``) and escaped so that it reads as
    text; ``{cite:p}`` and ``{cite:t}`` become "[He et al., 2017]" and "He et
    al. [2017]", as the book's author-year style prints them; ``{numref}`` the
    name in ``sources.numbers``; ``{doc}`` and ``{ref}`` a link to the chapter's
    notebook. Targets (``(name)=``) go; a numbered table keeps its caption,
    preceded by its number, and loses its name (which jupyterlab-myst would
    number on its own); ``{literalinclude}`` becomes the file's text and
    ``{bibliography}`` the list of cited works. A ``{glue:figure}`` becomes a
    :class:`Figure`, followed by its caption.

    Raises
    ------
    KeyError
        A glued name missing from ``values``, or a citation key missing from ``sources``.

    Examples
    --------
    >>> fill("(tgt)=\\n## Results\\n\\n{glue:text}`k` of {glue:text}`n`: {glue:text}`words`", {"k": 7, "n": 47,
    ...      "words": "*all* patients"})
    ['## Results\\n\\n7 of 47: \\\\*all\\\\* patients']
    >>> fill("```{glue:figure} fig_a\\n:name: fig-a\\n\\nRemission at week {glue:text}`w`.\\n```", {"w": 8},
    ...      Sources(numbers={"fig-a": "Fig. 3.1"}))
    [Figure(name='fig_a'), '**Fig. 3.1** Remission at week 8.']
    """
    sources = sources or Sources()
    parts: list[str | Figure] = []
    for block in _blocks(markdown):
        if isinstance(block, str):
            parts.append(_inline(block, values, sources))
        else:
            parts += _directive(block, values, sources)
    merged: list[str | Figure] = []
    for part in parts:
        if isinstance(part, Figure):
            merged.append(part)
        elif part.strip() and merged and isinstance(merged[-1], str):
            merged[-1] = merged[-1] + "\n\n" + part.strip("\n")  # blocks apart, as in the cell
        elif part.strip():
            merged.append(part.strip("\n"))
    return merged


def glued_text(values: Mapping[str, Any], content: str) -> str:
    """One ``{glue:text}`` as MyST-NB prints it: the value, through its format spec if the role gives one.

    Examples
    --------
    >>> glued_text({"pct": 23.404, "n": 47, "method": "Wilson"}, "pct:.1f"), glued_text({"n": 47}, "n")
    ('23.4', '47')
    >>> glued_text({"n": 47}, "m")
    Traceback (most recent call last):
    ...
    KeyError: "no glued value 'm' (the prose refers to it; the view glues: n)"
    """
    key, _, spec = content.rpartition(":") if ":" in content else (content, "", "")  # as MyST-NB splits it
    if key not in values:
        known = ", ".join(sorted(values)) or "nothing"
        raise KeyError(f"no glued value {key!r} (the prose refers to it; the view glues: {known})")
    value = values[key]
    if not spec or spec[-1] == "s":
        return format(str(value), spec)
    if spec[-1] in "bcdoxX":
        return format(int(value), spec)
    return format(float(value), spec)


# --------------------------------------------------------------------------- blocks and roles


@dataclass
class _Directive:
    fence: str
    name: str
    argument: str
    options: list[tuple[str, str]]
    body: str


def _blocks(markdown: str) -> Iterator[str | _Directive]:
    """The text between directives, and each top-level directive (its nested ones stay in its body)."""
    lines = markdown.split("\n")
    text: list[str] = []
    i = 0
    while i < len(lines):
        opening = OPENING.match(lines[i])
        if not opening:
            text.append(lines[i])
            i += 1
            continue
        if text:
            yield "\n".join(text)
            text = []
        fence = opening["fence"]
        end = i + 1
        while end < len(lines) and not (lines[end].strip() and set(lines[end].strip()) == {fence[0]}
                                        and len(lines[end].strip()) >= len(fence)):
            end += 1
        content = lines[i + 1:end]
        options = []
        while content and (option := OPTION.match(content[0])):
            options.append((option["key"], option["value"] or ""))
            content = content[1:]
        yield _Directive(fence, opening["name"], opening["argument"], options, "\n".join(content).strip("\n"))
        i = end + 1
    if text:
        yield "\n".join(text)


def _inline(text: str, values: Mapping[str, Any], sources: Sources) -> str:
    """Text outside directives: targets dropped, roles written out."""
    kept = [line for line in text.split("\n") if not TARGET.match(line)]
    return ROLE.sub(lambda m: _role(m[1], m[2], values, sources), "\n".join(kept))


def _titled(content: str) -> tuple[str, str]:
    """``Some text <target>`` -> (text, target); ``target`` -> ("", target)."""
    match = re.fullmatch(r"(.*?)\s*<([^<>]+)>", content.strip(), re.S)
    return (match[1], match[2].strip()) if match else ("", content.strip())


def _role(role: str, content: str, values: Mapping[str, Any], sources: Sources) -> str:
    if role == "glue:text":
        return escape(glued_text(values, content))
    if role in ("cite:p", "cite:t"):
        cited = []
        for key in (k.strip() for k in content.split(",")):
            if key not in sources.citations:
                raise KeyError(f"no entry {key!r} in references.bib")
            cited.append(sources.citations[key])
        if role == "cite:p":
            return escape("[" + ", ".join(f"{authors}, {year}" for authors, year in cited) + "]")
        return escape(", ".join(f"{authors} [{year}]" for authors, year in cited))
    text, target = _titled(content)
    if role == "numref":
        name = sources.numbers.get(target)
        if name is None:
            return escape(text.replace("%s", target) if text else target)
        number = name.split(" ", 1)[1] if name.startswith(("Table ", "Fig. ")) else name
        return escape(text.replace("%s", number).replace("{number}", number) if text else name)
    if role == "doc":
        where = os.path.normpath(sources.folder / target) if sources.folder else target
        title, file = sources.documents.get(where, ("", ""))
        return _link(text or title or target, file)
    # ref: a target; its chapter, if known, is the link
    where = sources.targets.get(target)
    title, file = sources.documents.get(where, ("", "")) if where else ("", "")
    return _link(text or title or target, file)


def _link(text: str, file: str) -> str:
    return f"[{escape(text)}]({file.replace(' ', '%20')})" if file else escape(text)


def _directive(block: _Directive, values: Mapping[str, Any], sources: Sources) -> list[str | Figure]:
    options = dict(block.options)
    name = options.get("name", "")
    number = sources.numbers.get(name, "")
    numbered = number.startswith(("Table ", "Fig. "))
    if block.name == "glue:figure":
        caption = _inline(block.body, values, sources).strip()
        lead = f"**{number}** " if numbered else ""
        return [Figure(block.argument), f"{lead}{caption}"] if caption or lead else [Figure(block.argument)]
    if block.name == "literalinclude":
        path = (sources.folder or paths.project().chapters) / block.argument
        text = path.read_text(encoding="utf-8").rstrip("\n")
        fence = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", text)), default=0))
        return [f"{fence}{options.get('language', '')}\n{text}\n{fence}"]
    if block.name == "bibliography":
        return ["\n".join(f"{i}. {entry}" for i, entry in enumerate(sources.bibliography, 1))]
    argument = _inline(block.argument, values, sources)
    if block.name in TABLES + FIGURES and name:
        options.pop("name")
        if numbered:
            argument = f"{number} {argument}".strip()
    body = "\n".join(p for p in fill(block.body, values, sources) if isinstance(p, str))
    lines = [f"{block.fence}{{{block.name}}} {argument}".rstrip()]
    lines += [f":{key}: {value}".rstrip() for key, value in options.items()]
    return ["\n".join([*lines, *([""] if lines[1:] and body else []), body, block.fence])]


# --------------------------------------------------------------------------- the book around a cell


@dataclass(frozen=True)
class Chapter:
    """One page of the book as the prose sees it: where it is, its title, its number and its cells."""

    path: Path
    title: str
    number: int | None
    cells: tuple[dict, ...]

    @property
    def stem(self) -> str:
        """The chapter's path without suffix, as ``{doc}`` names it."""
        return os.path.normpath(self.path.with_suffix(""))


def filled(cell_id: str, values: Mapping[str, Any], root: Path | str | None = None) -> list[str | Figure]:
    """The markdown cell ``cell_id`` of a chapter, filled in (:func:`fill`) with ``values`` and the book around it.

    The cell is looked up among the notebooks ``_toc.yml`` lists (in the
    project ``root``, default :func:`thalbook.core.paths.project`), as saved.

    Raises
    ------
    KeyError
        If no chapter has a markdown cell with this id, or more than one has.
    """
    root = Path(root) if root is not None else paths.project().root
    chapters = book(root)
    found = [(c, i) for c in chapters for i, cell in enumerate(c.cells)
             if cell.get("id") == cell_id and cell["cell_type"] == "markdown"]
    if len(found) != 1:
        raise KeyError(f"{len(found) or 'no'} markdown cells with id {cell_id!r} "
                       f"in the chapters of {root / '_toc.yml'}")
    chapter, index = found[0]
    sources = Sources(
        citations=citations(root / "references.bib"),
        numbers=numbers(chapters, chapter, index),
        documents={c.stem: (c.title, os.path.relpath(c.path, chapter.path.parent)) for c in chapters},
        targets={target: c.stem for c in chapters for target in _targets(c)},
        bibliography=bibliography(root / "references.bib", cited(chapters)),
        folder=chapter.path.parent,
    )
    return fill(_source(chapter.cells[index]), values, sources)


def book(root: Path) -> tuple[Chapter, ...]:
    """The root page and every chapter of ``_toc.yml``, in book order, with their numbers (``None``: unnumbered)."""
    toc_path = root / "_toc.yml"
    return _book(toc_path, *_stamps([toc_path]))


def _stamps(files: Sequence[Path]) -> tuple[int, ...]:
    return tuple(p.stat().st_mtime_ns if p.exists() else 0 for p in files)


@functools.lru_cache(maxsize=4)
def _book(toc_path: Path, *_stamp: int) -> tuple[Chapter, ...]:
    root = toc_path.parent
    toc = yaml.safe_load(toc_path.read_text(encoding="utf-8"))
    pages: list[tuple[str, int | None]] = [(toc["root"], None)]
    number = 0
    for part in toc.get("parts") or [toc]:
        for entry in part.get("chapters", []):
            if part.get("numbered"):
                number += 1
            pages.append((entry["file"], number if part.get("numbered") else None))
    chapters = []
    for file, chapter_number in pages:
        stem = root / file
        path = next((stem.with_suffix(s) for s in (".ipynb", ".md") if stem.with_suffix(s).exists()), None)
        if path is not None:
            cells = _cells(path, *_stamps([path]))
            chapters.append(Chapter(path, _title(cells), chapter_number, cells))
    return tuple(chapters)


@functools.lru_cache(maxsize=32)
def _cells(path: Path, *_stamp: int) -> tuple[dict, ...]:
    """A notebook's cells, or a Markdown page as one markdown cell."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".ipynb":
        return tuple(json.loads(text)["cells"])
    return ({"cell_type": "markdown", "source": text, "metadata": {}},)


def _targets(chapter: Chapter) -> list[str]:
    """The targets (``(name)=``) a chapter's prose sets."""
    return [m[1] for cell in chapter.cells if cell["cell_type"] == "markdown"
            for line in _source(cell).split("\n") if (m := TARGET.match(line))]


def _source(cell: Mapping[str, Any]) -> str:
    source = cell.get("source", "")
    return source if isinstance(source, str) else "".join(source)


def _title(cells: Sequence[Mapping[str, Any]]) -> str:
    for cell in cells:
        if cell["cell_type"] == "markdown":
            for line in _source(cell).split("\n"):
                if line.startswith("# "):
                    return line[2:].strip()
    return ""


def numbered_items(chapter: Chapter) -> list[tuple[str, str, int]]:
    """(name, "table" or "figure", cell index) of each table and figure of a chapter that Sphinx numbers, in order.

    A table or figure a view shows by name is numbered when its name starts
    with ``tbl-`` or ``fig-``, as every chapter names the ones it captions; a
    figure cell's ``mystnb.figure`` and a ``{list-table}``, ``{figure}`` or
    ``{glue:figure}`` with a ``:name:`` in the prose are numbered too.
    """
    items: list[tuple[str, str, int]] = []
    seen: set[str] = set()

    def add(name: str, kind: str, index: int) -> None:
        if name and name not in seen:
            seen.add(name)
            items.append((name, kind, index))

    for index, cell in enumerate(chapter.cells):
        source = _source(cell)
        if cell["cell_type"] == "markdown":
            for block in _all_directives(source):
                kind = "table" if block.name in TABLES else "figure" if block.name in FIGURES else None
                if kind:
                    add(dict(block.options).get("name", ""), kind, index)
        elif cell["cell_type"] == "code":
            add(cell.get("metadata", {}).get("mystnb", {}).get("figure", {}).get("name", ""), "figure", index)
            for name in SHOWN.findall(source):
                if name.startswith(("tbl-", "fig-")):
                    add(name, "table" if name.startswith("tbl-") else "figure", index)
    return items


def _all_directives(markdown: str) -> Iterator[_Directive]:
    for block in _blocks(markdown):
        if isinstance(block, _Directive):
            yield block
            yield from _all_directives(block.body)


def numbers(chapters: Sequence[Chapter], chapter: Chapter, index: int) -> dict[str, str]:
    """How the prose of cell ``index`` of ``chapter`` names each table and figure of the book.

    In a numbered chapter, as Sphinx numbers it: ``Table 3.1``, ``Fig. 3.2``.
    The back matter's numbers run on from page to page through tables that
    a kernel cannot count (the audit's, the build record's), so there the
    place is named instead: "the table below", "the second figure above", or
    "a table" on another page.
    """
    named: dict[str, str] = {}
    for other in chapters:
        items = numbered_items(other)
        for kind in ("table", "figure"):
            of_kind = [(name, at) for name, k, at in items if k == kind]
            word = "Table" if kind == "table" else "Fig."
            below = [name for name, at in of_kind if at >= index]
            above = [name for name, at in reversed(of_kind) if at < index]
            for position, (name, _) in enumerate(of_kind, 1):
                if other.number is not None:
                    named[name] = f"{word} {other.number}.{position}"
                elif other is not chapter:
                    named[name] = f"a {kind}"
                elif name in below:
                    named[name] = f"the {_ordinal(below.index(name))}{kind} below"
                else:
                    named[name] = f"the {_ordinal(above.index(name))}{kind} above"
    return named


def _ordinal(k: int) -> str:
    return _ORDINALS[k] if k < len(_ORDINALS) else f"{k + 1}th "


# --------------------------------------------------------------------------- references


def citations(bib: Path) -> dict[str, tuple[str, str]]:
    """BibTeX key -> (authors, year) as the book's author-year citations print them.

    One author by name, two joined by "and", more as the first "et al.";
    a BibTeX "and others" is an author named "others", as in the book.

    Examples
    --------
    >>> found = citations(paths.project().references)
    >>> found["he2017"], found["moreira1993"]
    (('He et al.', '2017'), ('Moreira and others', '1993'))
    """
    return dict(_citations(bib, *_stamps([bib])))


@functools.lru_cache(maxsize=4)
def _citations(bib: Path, *_stamp: int) -> tuple[tuple[str, tuple[str, str]], ...]:
    from pybtex.database import parse_file
    from pybtex.richtext import Text

    found = []
    for key, entry in parse_file(str(bib)).entries.items():
        people = entry.persons.get("author") or entry.persons.get("editor") or []
        names = [str(Text.from_latex(" ".join(p.prelast_names + p.last_names))) for p in people]
        authors = (names[0] if len(names) == 1 else " and ".join(names) if len(names) == 2
                   else f"{names[0]} et al." if names else key)
        found.append((key, (authors, str(Text.from_latex(entry.fields.get("year", ""))))))
    return tuple(found)


def cited(chapters: Sequence[Chapter]) -> tuple[str, ...]:
    """Every BibTeX key the book cites, in order of first citation."""
    keys: dict[str, None] = {}
    for chapter in chapters:
        for cell in chapter.cells:
            if cell["cell_type"] == "markdown":
                for _role_name, content in re.findall(r"\{(cite(?::\w+)?)\}`([^`]+)`", _source(cell)):
                    keys |= dict.fromkeys(k.strip() for k in content.split(","))
    return tuple(keys)


def bibliography(bib: Path, keys: Sequence[str]) -> tuple[str, ...]:
    """The works ``keys`` names, formatted in Markdown by pybtex's ``plain`` style (the book's), in its order.

    Formatted once for the file's bytes and the keys (:func:`thalbook.core.computed.once`): every chapter's
    prose asks for it, and a build's kernels share it.
    """
    text = bib.read_bytes()
    keys = tuple(keys)
    inputs = hashlib.sha256(text + b"\0" + "\0".join(keys).encode()).hexdigest()
    return computed.once("bibliography", inputs, lambda: _bibliography(text, keys))


def _bibliography(text: bytes, keys: tuple[str, ...]) -> tuple[str, ...]:
    from pybtex.database import parse_string
    from pybtex.plugin import find_plugin

    style = find_plugin("pybtex.style.formatting", "plain")()
    entries = style.format_bibliography(parse_string(text.decode("utf-8"), "bibtex"), citations=keys)
    return tuple(" ".join(entry.text.render_as("markdown").split("\n")) for entry in entries)
