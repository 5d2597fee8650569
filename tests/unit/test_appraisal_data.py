"""The appraisal's judgements as data: ``appraisal.csv``, its validation, and what the appraisal reads from it.

The file is read here with the csv module, not through the package's code;
broken copies of the package are made with the helpers of
``test_data_rules.py``.
"""

from __future__ import annotations

import csv
import dataclasses

import pytest

from tests.unit import test_data_rules
from tests.unit.test_data_rules import ANY, assert_reported, edit
from thalbook.core import paths
from thalbook.core.analyses import cohort, grade, instruments
from thalbook.core.errors import InputError
from thalbook.core.evidence import data, validate

FILE = "appraisal.csv"
#: A copy of the data package to break (the fixture of test_data_rules.py).
copy = test_data_rules.copy


def judgements() -> list[dict[str, str]]:
    with (paths.project().data / FILE).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


# ---------------------------------------------------------------- validation


def test_a_support_naming_a_missing_row_is_reported(copy):
    line = edit(copy, FILE, "he2017-minors-aim", support_id="he2017-aim-nowhere")
    assert_reported(copy, FILE, line, "support_id", "'he2017-aim-nowhere'", "statements.csv")


def test_a_support_in_studies_csv_is_looked_up_by_study_id(copy):
    assert not [p for p in validate.validate(copy) if p.file == FILE]  # the row names wei2003, a study
    line = edit(copy, FILE, "wei2003-minors-unbiased", support_id="nobody2000")
    assert_reported(copy, FILE, line, "support_id", "'nobody2000'", "study_id of studies.csv")


def test_half_a_support_is_reported(copy):
    line = edit(copy, FILE, "he2017-minors-aim", support_file="")
    assert_reported(copy, FILE, line, "support_file", "empty", "he2017-aim-abs-background")


def test_a_judgement_of_a_context_study_is_reported(copy):
    line = edit(copy, FILE, "he2017-minors-aim", study_id="lazzerini2013", id="lazzerini2013-minors-aim")
    assert_reported(copy, FILE, line, "study_id", "context study")


def test_a_judgement_outside_its_scale_is_reported(copy):
    edit(copy, FILE, "he2017-minors-aim", judgement="3")
    assert_reported(copy, FILE, ANY, "judgement", "'3'")


# ---------------------------------------------------------------- what the appraisal reads


def test_the_minors_totals_are_the_csv_scores_and_the_computed_loss(package):
    by_hand = {}
    for row in judgements():
        if row["instrument"] == "minors":
            by_hand[row["study_id"]] = by_hand.get(row["study_id"], 0) + int(row["judgement"])
    assert by_hand == {"he2017": 6, "wei2003": 7}  # the loss to follow-up is not judged: it is computed
    table = instruments.minors(package)
    loss = table[table["item"].eq("loss")].set_index("study")["score"].to_dict()
    assert loss == {"he2017": 1, "wei2003": 1}
    assert instruments.minors_totals(table) == {s: by_hand[s] + loss[s] for s in by_hand} == {"he2017": 7, "wei2003": 8}


def test_every_source_study_is_judged_on_every_item(package):
    rows = judgements()
    for study in cohort.source_studies(package):
        minors = {r["item"] for r in rows if r["study_id"] == study and r["instrument"] == "minors"}
        harms = {r["item"] for r in rows if r["study_id"] == study and r["instrument"] == "harms"}
        assert minors == set(instruments.MINORS_ITEMS) - {"loss"} and harms == set(instruments.HARMS_ITEMS)


def test_a_missing_judgement_names_the_study_and_the_item(package):
    table = package.appraisal
    broken = dataclasses.replace(package, appraisal=table[table["id"].ne("wei2003-harms-timing")])
    with pytest.raises(InputError, match=r"appraisal\.csv: no harms judgement of wei2003 on 'timing'"):
        instruments.harms_reporting(broken)


# ---------------------------------------------------------------- headline outcomes


def test_the_headline_outcomes_are_the_rows_in_their_order(package):
    # read with the csv module: the rows say which outcomes each study is graded on, and why
    rows = [r for r in judgements() if r["instrument"] == "headline"]
    graded = grade.headline_outcomes(package)
    for study in cohort.source_studies(package):
        keys = list(dict.fromkeys(r["item"] for r in rows if r["study_id"] == study))
        assert list(dict.fromkeys(graded.loc[graded["study"].eq(study), "key"])) == keys
    # clinical remission at the week its supporting fact states: He et al.'s primary week 8 and week 12
    he = graded[graded["study"].eq("he2017") & graded["key"].eq("remission")]
    assert he["outcome"].tolist() == ["clinical remission, week 8", "clinical remission, week 12"]
    assert he["chosen_by"].tolist() == [r["reason"] for r in rows if r["study_id"] == "he2017"
                                        and r["item"] == "remission"]


def test_a_headline_row_dropped_leaves_its_outcome_out(copy):
    header, rows = test_data_rules._rows(copy, FILE)
    test_data_rules._write(copy, FILE, header, [r for r in rows if r["id"] != "he2017-headline-remission-optimal"])
    graded = grade.headline_outcomes(data.load(copy))
    assert "clinical remission, week 12" not in set(graded["outcome"])
    assert "clinical remission, week 8" in set(graded["outcome"])


def test_a_remission_row_must_rest_on_the_fact_stating_its_week(copy):
    edit(copy, FILE, "he2017-headline-remission-primary", support_file="studies.csv", support_id="he2017")
    with pytest.raises(InputError, match="he2017-headline-remission-primary: support_id must name the study fact"):
        grade.headline_outcomes(data.load(copy))
