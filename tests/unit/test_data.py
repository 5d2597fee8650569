"""The real data package: it validates and loads, numbers keeping their printed decimals.

Whether its quotes stand in their sources is tested in ``test_quotes.py``.
"""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from thalbook.core import paths
from thalbook.core.errors import DataError
from thalbook.core.evidence import data, validate


def test_real_package_validates():
    assert [str(p) for p in data.validate(paths.project().data)] == []


def test_every_contract_file_and_column_loads(package):
    for name, columns in validate.CONTRACT_COLUMNS.items():
        frame = getattr(package, name)
        assert isinstance(frame, pd.DataFrame) and len(frame) > 0, name
        assert set(columns) <= set(frame.columns), (name, set(columns) - set(frame.columns))
    assert package.data_dir == paths.project().data


def test_numbers_keep_their_printed_decimals(package):
    rows = package.continuous_outcomes.set_index("id")
    w24 = rows.loc["wei2003-basdai-w24-results"]
    assert (w24["mean"], w24["mean_decimals"]) == (3.1, 1)
    assert (w24["p_value"], w24["p_value_decimals"]) == (0.0156, 4)
    esr = rows.loc["wei2003-esr-w24-results"]
    assert (esr["sd"], esr["sd_decimals"]) == (28.0, 0)
    abstract = rows.loc["wei2003-basdai-w24-abs-results"]
    assert pd.isna(abstract["sd"]) and pd.isna(abstract["sd_decimals"])


def test_numeric_columns_are_float_and_booleans_nullable(package):
    assert package.binary_outcomes["count"].dtype == float
    assert package.binary_outcomes["denominator_decimals"].dtype == float
    assert str(package.adverse_events["led_to_withdrawal"].dtype) == "boolean"
    facts = package.study_facts.set_index("id")
    assert facts.at["wei2003-disease-duration-mean-results", "value_number"] == 13.8
    assert pd.isna(facts.at["he2017-study-start-abs-methods", "value_number"])


def test_the_two_source_studies_and_their_citation_keys(package):
    studies = package.studies.set_index("study_id")
    assert sorted(studies.index[studies["role"] == "source"]) == ["he2017", "wei2003"]
    assert studies.at["he2017", "registration"] == "NCT02501291"
    facts = package.study_facts
    enrolled = facts[facts["fact"] == "enrolled"].groupby("study_id")["value_number"].unique()
    assert list(enrolled["he2017"]) == [47] and list(enrolled["wei2003"]) == [13]


def test_citation_keys_are_in_references_bib(package):
    pybtex = pytest.importorskip("pybtex.database")
    entries = pybtex.parse_file(str(paths.project().references)).entries
    missing = set(package.studies["citation_key"]) - set(entries)
    assert not missing, f"references.bib lacks {sorted(missing)}"
    for key in package.studies["citation_key"]:
        row = package.studies.set_index("citation_key").loc[key]
        fields = entries[key].fields
        if isinstance(row["doi"], str):
            assert fields.get("doi") == row["doi"], key
        if isinstance(row["pmid"], str):
            assert fields.get("pmid") == row["pmid"], key


def test_denominators_are_only_those_the_papers_state(package):
    rows = package.binary_outcomes.set_index("id")
    # Stated: "out of all the 47 patients included (intention-to-treat analysis)".
    assert (rows.loc[rows.index.str.startswith("he2017-remission"), "denominator"] == 47).all()
    # Not stated for the endoscopic percentages: the audit infers them.
    endoscopic = rows[rows.index.str.contains("endoscopic|mucosal")]
    assert len(endoscopic) == 3 and endoscopic["denominator"].isna().all()


def test_disagreements_between_places_are_recorded(package):
    outcomes = set(package.binary_outcomes.query("study_id == 'wei2003'")["outcome"])
    assert {"improvement_gt50", "improvement_gt40"} <= outcomes
    facts = set(package.study_facts.query("study_id == 'wei2003'")["fact"])
    assert {"disease_duration_mean", "disease_duration_median"} <= facts
    baselines = package.continuous_outcomes.query("measure == 'basdai' and timepoint_week == 0 and sd == sd")
    assert set(baselines["mean"]) == {5.39, 4.97}
    esr = package.measures.set_index("measure").loc["esr"]
    assert esr["value_type"] == "integer" and "erythrocyte" in esr["description"]


def test_readme_documents_every_column():
    readme = (paths.project().data / "README.md").read_text(encoding="utf-8")
    descriptor = json.loads((paths.project().data / validate.DESCRIPTOR).read_text(encoding="utf-8"))
    for resource in descriptor["resources"]:
        section = readme.split(f"### `{resource['path']}`", 1)
        assert len(section) == 2, f"README has no section for {resource['path']}"
        body = section[1].split("### ", 1)[0]
        for field in resource["schema"]["fields"]:
            assert f"| `{field['name']}` |" in body, f"{resource['path']}: {field['name']} undocumented"


def test_load_refuses_invalid_data(tmp_path):
    import shutil

    copy = tmp_path / "data"
    shutil.copytree(paths.project().data, copy)
    (copy / "measures.csv").write_text("measure\n", encoding="utf-8")
    with pytest.raises(DataError) as caught:
        data.load(copy)
    assert any(p.file == "measures.csv" for p in caught.value.problems)


def test_load_validates_once_per_content(monkeypatch, tmp_path):
    import shutil

    copy = tmp_path / "data"
    shutil.copytree(paths.project().data, copy)
    calls = []
    real = data.validate
    monkeypatch.setattr(data, "validate", lambda d=None: calls.append(d) or real(d))
    data.load(copy)
    data.load(copy)
    assert len(calls) <= 1  # 0 when an identical content was validated earlier in this process
    with (copy / "studies.csv").open("a", encoding="utf-8") as fh:
        fh.write("bogus\n")
    with pytest.raises(DataError):
        data.load(copy)
    assert len(calls) >= 1


def test_a_verdict_left_by_the_build_spares_the_kernel_a_validation(tmp_path, monkeypatch):
    """Only a verdict file named by this very content counts; any other content is validated."""
    copy = shutil.copytree(paths.project().data, tmp_path / "data")
    calls = []
    monkeypatch.setattr(data, "validate", lambda d=None: calls.append(d) or [])
    verdicts = tmp_path / "verdicts"
    verdicts.mkdir()
    monkeypatch.setenv(paths.VALIDATED_ENV, str(verdicts))
    (verdicts / f"data-{data.content_digest(copy)}").touch()
    data.load(copy)
    assert calls == []
    with (copy / "studies.csv").open("a", encoding="utf-8") as fh:
        fh.write("\n")
    data.load(copy)
    assert len(calls) == 1
