"""Repairs to what the theme stack writes into every HTML page (upstream defects), and the ``published`` role.

Each was found by the browser tests (tests/browser): a console error on a
reader's first visit, or a serious or critical axe-core violation.
"""

from __future__ import annotations

import functools
import html
import json
import sys
from pathlib import Path
from urllib.parse import urljoin

from docutils import nodes
from sphinx.util.nodes import split_explicit_title

TEMPLATES = Path(__file__).with_name("sphinx_templates")
#: The book's style sheet, added to the theme's.
STATIC = Path(__file__).with_name("sphinx_static")
#: As :data:`thalbook.press.publish.PDF_IN_HTML` (not imported: Sphinx loads this module on its own).
PDF_IN_HTML = "book.pdf"

# pydata-sphinx-theme's head script sets data-mode to "" on a first visit (empty localStorage);
# its theme script then logs "Got invalid theme mode". Start from the theme's own default.
_MODE_DEFAULT = 'if (!document.documentElement.dataset.mode) { document.documentElement.dataset.mode = "auto"; }'


#: What a Jupyter Book build of the project itself says, instead of publishing a book without its numbers.
NOT_STAGED = ("this book is built by `make book` (or `.venv/bin/thalbook build`), which executes the chapters "
              "with their parameters first; `jupyter-book build .` alone would publish it without its numbers")


def _refuse_unstaged(app, config) -> None:
    # The chapters are executed by thalbook, never by Jupyter Book ('execute_notebooks: off'): built
    # from the project itself, every glued number and figure would be missing. Only the stage that
    # `thalbook build` assembles sets thalbook_stage.
    # One line and exit status 2 (a command the project does not take), before Sphinx writes anything:
    # raised as an error, Jupyter Book would print its own traceback around it.
    if not config.thalbook_stage:
        print(f"thalbook: {NOT_STAGED}", file=sys.stderr, flush=True)
        raise SystemExit(2)


def _add_templates(app, config) -> None:
    # Ours first: they override the theme's components of the same name.
    config.templates_path = [str(TEMPLATES), *config.templates_path]
    # Without an icon, every browser asks for /favicon.ico and logs the 404 as a console error.
    if not config.html_favicon:
        config.html_favicon = str(TEMPLATES / "favicon.svg")
    config.html_static_path = [*config.html_static_path, str(STATIC)]


@functools.cache
def citation_meta_tags(path: Path | None = None) -> str:
    """Highwire Press ``citation_*`` meta tags for every page, from ``CITATION.cff`` (reference managers read them).

    ``path`` defaults to the project's ``CITATION.cff``; Sphinx passes the
    staged book's, in its source directory, which needs no search for the project.

    Examples
    --------
    >>> print(citation_meta_tags().splitlines()[0])  # doctest: +ELLIPSIS
    <meta name="citation_title" content="Thalidomide in Crohn&#x27;s disease and ...">
    """
    from thalbook.core.evidence import citation

    cff = citation.load_cff(path)
    tags = [("citation_title", cff["title"])]
    tags += [("citation_author", citation.person(a).strip("{}")) for a in cff["authors"]]
    tags += [("citation_publication_date", str(cff["date-released"]).replace("-", "/")),
             ("citation_version", str(cff["version"])), ("citation_language", "en"),
             ("citation_keywords", "; ".join(cff.get("keywords", [])))]
    return "".join(f'<meta name="{name}" content="{html.escape(str(value))}">\n' for name, value in tags)


def pdf_url(baseurl: str, relative: str) -> str:
    """The landing page's ``citation_pdf_url``: the PDF under the book's base URL, or ``relative`` without one.

    Google Scholar's inclusion guidelines ask for the absolute URL of the PDF,
    in the same directory as the page that describes it: the HTML book
    carries its PDF beside its landing page (:data:`PDF_IN_HTML`). Until the
    book is served somewhere (``html.baseurl`` in ``_config.yml``), the URL
    is relative to the landing page, which a reader's browser resolves.

    Examples
    --------
    >>> pdf_url("https://example.org/thalbook", "book.pdf")
    'https://example.org/thalbook/book.pdf'
    >>> pdf_url("", "book.pdf")
    'book.pdf'
    """
    return urljoin(baseurl.rstrip("/") + "/", PDF_IN_HTML) if baseurl else relative


def _tag_pdf(app, config) -> None:
    # The landing page's "Formats and data" links the PDF only when the HTML book carries it
    # (an `only` block on the tag, evaluated when each page is written).
    if config.thalbook_pdf:
        app.tags.add("thalbook_pdf")


def _page_context(app, pagename, templatename, context, doctree) -> None:
    # Every page of the book cites the book as a whole.
    context["metatags"] = context.get("metatags", "") + citation_meta_tags(Path(app.srcdir) / "CITATION.cff")
    # The landing page is the book's abstract page: it names the PDF that is its full text.
    if app.config.thalbook_pdf and pagename == app.config.root_doc and context.get("pathto"):
        url = pdf_url(app.config.html_baseurl or "", context["pathto"](PDF_IN_HTML, 1))
        context["metatags"] += f'<meta name="citation_pdf_url" content="{html.escape(url)}">\n'
    # A chapter that is a notebook offers itself as executed: Sphinx publishes the staged (executed)
    # notebook as the page's source, under _sources/.
    source = context.get("sourcename") or ""
    if source.endswith(".ipynb") and "body" in context and context.get("pathto"):
        href = html.escape(context["pathto"]("_sources/" + source, 1))
        link = (f'<p class="thalbook-download"><a href="{href}" download>Download this chapter as an executed '
                "notebook (.ipynb)</a>, with the outputs of this build")
        if app.config.thalbook_pdf:
            pdf = html.escape(context["pathto"](PDF_IN_HTML, 1))
            link += f', or <a href="{pdf}" download>the whole book as PDF</a>'
        link += ".</p>"
        body = context["body"]
        end = body.find("</h1>")
        context["body"] = body[:end + 5] + link + body[end + 5:] if end >= 0 else link + body
    # Sphinx < 8.2 lists a script added with add_js_file(None, body=...) after the builder
    # started twice (sphinx-doc/sphinx#13402); sphinx-thebe's `const THEBE_JS_URL` then throws.
    seen, kept = set(), []
    for script in context.get("script_files", []):
        key = (str(getattr(script, "filename", script) or ""),
               tuple(sorted((k, str(v)) for k, v in getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            kept.append(script)
    context["script_files"] = kept
    # docutils writes the bibliography as role="list" holding role="doc-biblioentry" entries
    # (deprecated in ARIA 1.3), which axe reports as a list without list items (critical).
    if "body" in context:
        context["body"] = context["body"].replace('role="doc-biblioentry"', 'role="listitem"')


def _launch_buttons_as_text(app, pagename, templatename, context, doctree) -> None:
    # sphinx-book-theme draws each launch service (Binder) as its logo beside its name, the logo an
    # <img alt="Binder logo">: an image that says nothing the name does not. The name alone is the link.
    for group in context.get("header_buttons", []):
        if group.get("label") == "launch-buttons":
            for button in group.get("buttons", []):
                if not str(button.get("icon", "")).startswith("fa"):
                    button.pop("icon", None)


def published_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    """``{published}`data/datapackage.json``` links a file published beside the book, as it is.

    Sphinx's ``{download}`` role copies each file into a folder of its own
    under ``_downloads/``, so a ``datapackage.json`` would not sit beside its
    CSVs and could not be loaded by URL; the build publishes the packages in
    ``data/`` and ``results/`` of the HTML instead
    (:meth:`thalbook.press.publish.Publication.prepare_html`), and this role
    links there, relative to the page. The target is written from the book's
    root; ``title <target>`` sets the link text.
    """
    _, title, target = split_explicit_title(nodes.unescape(text))
    depth = inliner.document.settings.env.docname.count("/")
    link = nodes.reference(rawtext, "", nodes.literal(title, title), refuri="../" * depth + target,
                           classes=["published"])
    return [link], []


def _index_this_build_only(app, exception) -> None:
    """Drop from ``searchindex.js`` the terms that lead to no page: those of earlier builds.

    Sphinx 7.4's incremental build (``IndexBuilder.prune`` then ``get_terms``)
    keeps every word an earlier build indexed, mapped to an empty list of
    pages, so the published index would depend on what was built into the
    same directory before (terms of an earlier parameter set). A term of this
    build always maps to at least one page, so dropping the empty ones gives
    the index a fresh build would write.
    """
    index = Path(app.outdir) / "searchindex.js"
    if exception is not None or app.builder.format != "html" or not index.is_file():
        return
    text = index.read_text(encoding="utf-8")
    head, tail = "Search.setIndex(", ")"
    if not (text.startswith(head) and text.rstrip().endswith(tail)):
        return  # another format than Sphinx 7's: leave it as it is
    data = json.loads(text.rstrip()[len(head):-len(tail)])
    for field in ("terms", "titleterms"):
        data[field] = {term: pages for term, pages in data.get(field, {}).items() if pages != []}
    index.write_text(head + json.dumps(data, sort_keys=True) + tail, encoding="utf-8")  # as Sphinx writes it


def setup(app):
    app.add_role("published", published_role)
    app.connect("build-finished", _index_this_build_only)
    app.add_config_value("thalbook_stage", False, "env", types=[bool])
    app.add_config_value("thalbook_pdf", False, "html", types=[bool])
    app.connect("config-inited", _refuse_unstaged)
    app.connect("config-inited", _add_templates)
    app.connect("config-inited", _tag_pdf)
    app.connect("html-page-context", _page_context)
    # After sphinx-book-theme's own header buttons (priority 501).
    app.connect("html-page-context", _launch_buttons_as_text, priority=502)
    app.add_js_file(None, body=_MODE_DEFAULT)
    app.add_css_file("thalbook.css")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
