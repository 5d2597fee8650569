"""The words of the results package's descriptor (``core/results_descriptor.yaml``) against the tables made."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from thalbook.core.analyses import results_package

TEXT = yaml.safe_load((Path(results_package.__file__).with_name(results_package.TEXT)).read_text(encoding="utf-8"))


def test_every_field_made_is_described_and_every_field_described_is_made():
    assert {name: tuple(columns) for name, (_, columns) in results_package.RESOURCES.items()} == results_package.COLUMNS
    described = [text for _, columns in results_package.RESOURCES.values() for text in columns.values()]
    assert all(text and "{" not in text for text in described)


def test_a_field_described_but_not_made_is_named():
    text = copy.deepcopy(TEXT)
    text["resources"]["findings"]["fields"]["severity"] = "How bad it is."
    with pytest.raises(ValueError, match=r"^results_descriptor\.yaml: field findings\.severity is described but not "
                                         r"made$"):
        results_package.described(results_package.COLUMNS, text)


def test_a_field_made_but_not_described_is_named():
    columns = results_package.COLUMNS | {"minors": (*results_package.COLUMNS["minors"], "basis")}
    with pytest.raises(ValueError, match=r"^results_descriptor\.yaml: field minors\.basis is made but not described$"):
        results_package.described(columns, TEXT)


def test_a_resource_described_but_not_made_is_named():
    columns = {name: made for name, made in results_package.COLUMNS.items() if name != "registration"}
    with pytest.raises(ValueError, match=r"^results_descriptor\.yaml: resource registration is described but not "
                                         r"made$"):
        results_package.described(columns, TEXT)


def test_the_package_description_names_the_version_and_the_settings():
    meta = results_package.descriptor({}, {"rounding": "half-up"})
    assert f"thalbook {meta['version']} under rounding = half-up." in meta["description"]
    assert meta["sources"] == [{"title": TEXT["sources"][0]["title"], "path": results_package.SOURCE}]
