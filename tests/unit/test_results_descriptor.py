"""The words of the results package's descriptor (``core/results_descriptor.yaml``) against the tables made."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from thalbook.core import results

TEXT = yaml.safe_load((Path(results.__file__).with_name(results.TEXT)).read_text(encoding="utf-8"))


def test_every_field_made_is_described_and_every_field_described_is_made():
    assert {name: tuple(columns) for name, (_, columns) in results.RESOURCES.items()} == results.COLUMNS
    assert all(text and "{" not in text for _, columns in results.RESOURCES.values() for text in columns.values())


def test_a_field_described_but_not_made_is_named():
    text = copy.deepcopy(TEXT)
    text["resources"]["findings"]["fields"]["severity"] = "How bad it is."
    with pytest.raises(ValueError, match=r"^results_descriptor\.yaml: field findings\.severity is described but not "
                                         r"made$"):
        results.described(results.COLUMNS, text)


def test_a_field_made_but_not_described_is_named():
    columns = results.COLUMNS | {"minors": (*results.COLUMNS["minors"], "basis")}
    with pytest.raises(ValueError, match=r"^results_descriptor\.yaml: field minors\.basis is made but not described$"):
        results.described(columns, TEXT)


def test_a_resource_described_but_not_made_is_named():
    columns = {name: made for name, made in results.COLUMNS.items() if name != "registration"}
    with pytest.raises(ValueError, match=r"^results_descriptor\.yaml: resource registration is described but not "
                                         r"made$"):
        results.described(columns, TEXT)


def test_the_package_description_names_the_version_and_the_settings():
    meta = results.descriptor({}, {"rounding": "half-up"})
    assert f"thalbook {meta['version']} under rounding = half-up." in meta["description"]
    assert meta["sources"] == [{"title": TEXT["sources"][0]["title"], "path": results.SOURCE}]
