"""The results package (``thalbook.core.analyses.results_package``, written by ``thalbook.press.results``).

Expected values are computed here by hand (the Wilson interval's formula, the
rounding of a count to a printed percentage), or counted from the vocabulary;
the written package is validated by frictionless, which checks every file's
schema, size and SHA-256.
"""

from __future__ import annotations

import itertools
import json
import math
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import frictionless
import pandas as pd
import pytest

from thalbook.core.analyses import grade, multiverse, results_package
from thalbook.core.vocabulary import ANALYSIS_SETS, CI_METHODS, ROUNDINGS
from thalbook.press import results as written

DEFAULTS = {"confidence_level": 0.95, "ci_method": "wilson", "analysis_set": "itt", "rounding": "half-up"}


@pytest.fixture(scope="module")
def made(package) -> dict[str, pd.DataFrame]:
    return results_package.tables(package, DEFAULTS)


@pytest.fixture(scope="module")
def package_dir(tmp_path_factory, package) -> Path:
    directory = tmp_path_factory.mktemp("results") / "results"
    written.write(directory, DEFAULTS)
    return directory


def test_every_resource_has_its_columns_each_with_a_type_and_a_description(package_dir):
    meta = json.loads((package_dir / "datapackage.json").read_text(encoding="utf-8"))
    assert [r["name"] for r in meta["resources"]] == list(results_package.RESOURCES)
    for resource in meta["resources"]:
        fields = resource["schema"]["fields"]
        assert [f["name"] for f in fields] == list(results_package.RESOURCES[resource["name"]][1])
        assert all(f["description"] and f["type"] in ("string", "integer", "number", "boolean") for f in fields)
        header = (package_dir / resource["path"]).read_text(encoding="utf-8").splitlines()[0]
        assert header == ",".join(f["name"] for f in fields)
    assert meta["parameters"] == dict(sorted(DEFAULTS.items()))


def test_the_written_package_validates_and_a_changed_byte_does_not(package_dir, tmp_path):
    report = frictionless.validate(str(package_dir / "datapackage.json"))
    assert report.valid, report.flatten(["type", "note"])[:5]
    tampered = Path(tmp_path / "tampered")
    tampered.mkdir()
    for f in package_dir.iterdir():
        (tampered / f.name).write_bytes(f.read_bytes())
    text = (tampered / "findings.csv").read_text(encoding="utf-8")
    (tampered / "findings.csv").write_text(text.replace("wei2003-", "wei2004-", 1), encoding="utf-8")
    assert not frictionless.validate(str(tampered / "datapackage.json")).valid


def test_writing_twice_gives_the_same_bytes(package_dir, tmp_path):
    again = tmp_path / "again"
    written.write(again, DEFAULTS)
    assert {f.name: f.read_bytes() for f in again.iterdir()} == {f.name: f.read_bytes() for f in package_dir.iterdir()}


def test_week_12_remission_interval_is_wilsons_by_hand(made):
    row = made["intervals"].query("outcome == 'clinical_remission' and week == 12").iloc[0]
    k, n, z = 22, 47, 1.959963984540054
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    assert (row["k"], row["n"]) == (k, n)
    assert row["low"] == pytest.approx(centre - half, abs=1e-12)
    assert row["high"] == pytest.approx(centre + half, abs=1e-12)
    assert set(made["intervals"]["ci_method"]) == {"wilson"} and set(made["intervals"]["confidence_level"]) == {0.95}


def test_every_inferred_count_rounds_half_up_to_the_printed_percentage(made):
    for row in made["inferred_counts"].itertuples():
        shown = (Decimal(100 * row.k) / Decimal(row.n)).quantize(Decimal(row.percent), rounding=ROUND_HALF_UP)
        assert shown == Decimal(row.percent), row
        assert f"{row.k}/{row.n}" in row.candidates.split("; ")


def test_the_multiverse_has_every_combination_once_per_outcome(made):
    table = made["multiverse"]
    outcomes = table["outcome"].unique()
    combos = set(itertools.product(CI_METHODS, ANALYSIS_SETS, multiverse.LEVELS, ROUNDINGS))
    assert len(combos) >= 4 * 3 * 4 * 3
    for outcome in outcomes:
        rows = table[table["outcome"].eq(outcome)]
        seen = list(zip(rows["ci_method"], rows["analysis_set"], rows["confidence_level"], rows["rounding"],
                        strict=True))
        assert len(seen) == len(set(seen)) and set(seen) == combos, outcome
    # a specification without an estimate says why
    missing = table[table["k"].isna()]
    assert (missing["note"] != "").all() and table.loc[table["k"].notna(), "note"].eq("").all()


def test_the_findings_are_the_audits_and_the_certainty_table_grades_every_headline_outcome(made, package):
    audit_findings = set(made["audit"]["finding"].dropna()) - {""}
    assert set(made["findings"]["finding"]) == audit_findings
    assert len(made["certainty"]) == len(grade.headline_outcomes(package))
    assert set(made["certainty"]["certainty"]) <= set(grade.GRADE_LEVELS)
    assert made["minors"].groupby("study").size().to_dict() == {"he2017": 8, "wei2003": 8}


def test_a_narrower_level_narrows_every_interval(package, made):
    narrow = results_package.tables(package, {**DEFAULTS, "confidence_level": 0.8})["intervals"]
    wide = made["intervals"]
    assert ((narrow["high"] - narrow["low"]) < (wide["high"] - wide["low"])).all()


def test_a_missing_parameter_is_refused(package):
    with pytest.raises(TypeError, match="rounding"):
        results_package.tables(package, {k: v for k, v in DEFAULTS.items() if k != "rounding"})
