"""Fixtures of the unit tests: each chapter's view under the default parameters, built once per test session.

No test changes a view it reads: one that needs a view under other
parameters, or of another package, builds it.
"""

import functools
import importlib

import pytest

from tests.conftest import chapter_defaults


@pytest.fixture(scope="session")
def default_view(package):
    """``default_view(chapter)``: the chapter's view under the default parameters, built once per session."""

    @functools.cache
    def view(chapter: str):
        return importlib.import_module(f"thalbook.chapters.{chapter}").build(package, chapter_defaults(chapter))

    return view
