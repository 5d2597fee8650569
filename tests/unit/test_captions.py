"""The table captions of ``chapters/captions.yaml``: every one a view asks for is there, and every one is used."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from thalbook.chapters import tables

CHAPTERS = Path(tables.__file__).parent


def asked(source: str) -> set[str]:
    """The caption names a module's source passes to ``caption(...)`` (each literal of the first argument)."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        called = getattr(node, "func", None)
        if isinstance(node, ast.Call) and node.args and getattr(called, "id", getattr(called, "attr", "")) == "caption":
            names |= {c.value for c in ast.walk(node.args[0])
                      if isinstance(c, ast.Constant) and isinstance(c.value, str)}
    return names


def problems(sources: dict[str, str], captions: dict[str, str]) -> list[str]:
    """One line per caption a view asks for that the file lacks, and per caption of the file no view asks for."""
    used = {name: module for module, source in sources.items() for name in asked(source)}
    return ([f"{module} asks for caption {name}, which {tables.CAPTIONS} lacks"
             for name, module in sorted(used.items()) if name not in captions]
            + [f"{tables.CAPTIONS}: caption {name} is used by no view" for name in captions if name not in used])


def test_every_caption_asked_for_is_in_the_file_and_every_caption_in_the_file_is_asked_for():
    sources = {p.name: p.read_text(encoding="utf-8") for p in sorted(CHAPTERS.glob("*.py")) if p.name != "tables.py"}
    assert problems(sources, tables.captions()) == []


def test_a_missing_and_an_unused_caption_are_each_named():
    sources = {"safety.py": 'x = tables.caption("tbl-a") if y else tables.caption("tbl-b", n=1)\n'}
    assert problems(sources, {"tbl-a": "A.", "tbl-z": "Z."}) == [
        f"safety.py asks for caption tbl-b, which {tables.CAPTIONS} lacks",
        f"{tables.CAPTIONS}: caption tbl-z is used by no view",
    ]


def test_the_captions_are_strings_on_one_line_without_citations():
    for name, text in tables.captions().items():
        assert isinstance(text, str) and "\n" not in text and "{cite" not in text, name


def test_a_caption_is_filled_in_and_a_wrong_name_or_field_is_refused_in_one_line():
    assert tables.caption("tbl-methods-lattice", p_max=0.05, n=10) == (
        "Every exact two-sided Wilcoxon signed-rank p-value up to 0.05 with 10 pairs and no ties.")
    with pytest.raises(ValueError, match=r"^captions\.yaml: no caption tbl-nothing$"):
        tables.caption("tbl-nothing")
    with pytest.raises(ValueError, match=r"^captions\.yaml: tbl-methods-lattice has the fields n, p_max, given n$"):
        tables.caption("tbl-methods-lattice", n=10)
