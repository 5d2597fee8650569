"""Fixtures of the unit tests: the real data package, loaded once per test module."""

import pytest

from thalbook.core.evidence import data


@pytest.fixture(scope="module")
def package():
    """The book's data package (what every chapter view is built from)."""
    return data.load()
