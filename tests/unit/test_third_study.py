"""A third source study is data: a package with one more study goes through the core with no code change.

The fixture copies the book's data package and adds ``doe2020``, a source
study of Crohn's disease whose rows are He et al.'s under new ids (same
numbers, same quotes, same source text, so the package stays valid). Every
core analysis must then report the new study beside the others, with He
et al.'s numbers under its own id, and ask which study is meant where one
outcome now has two source studies.
"""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import pandas as pd
import pytest

from thalbook.core.analyses import cohort, context, efficacy, grade, instruments, multiverse, results_package
from thalbook.core.auditing import checks, findings
from thalbook.core.errors import InputError
from thalbook.core.evidence import data

THIRD, TWIN = "doe2020", "he2017"
PARAMS = {"confidence_level": 0.95, "ci_method": "wilson", "analysis_set": "itt", "rounding": "half-up"}
# columns naming a row of the package by an id that starts with the study id; the citation key stays He et
# al.'s, an entry of references.bib, as for a second record of the same paper
_ID_COLUMNS = ("id", "study_id", "relative_to", "support_id")


def _with_third_study(directory: Path) -> None:
    """Append to every file with a ``study_id`` a copy of the twin's rows under the third study's ids."""
    for path in sorted(directory.glob("*.csv")):
        rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
        header = rows[0]
        if "study_id" not in header:
            continue
        renamed = [i for i, name in enumerate(header) if name in _ID_COLUMNS]
        study = header.index("study_id")
        added = [[cell.replace(TWIN, THIRD) if i in renamed else cell for i, cell in enumerate(row)]
                 for row in rows[1:] if row[study] == TWIN]
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(rows + added)
        path.write_text(out.getvalue(), encoding="utf-8")


@pytest.fixture(scope="module")
def pkg(tmp_path_factory):
    directory = tmp_path_factory.mktemp("third") / "data"
    shutil.copytree(data.data_directory(None), directory)
    _with_third_study(directory)
    assert data.validate(directory) == []
    return data.load(directory)


@pytest.fixture(scope="module")
def made(pkg):
    return results_package.tables(pkg, PARAMS)


def test_the_cohort_knows_three_source_studies(pkg):
    assert cohort.source_studies(pkg) == [TWIN, "wei2003", THIRD]
    assert cohort.source_studies(pkg, "crohns") == [TWIN, THIRD]
    assert cohort.enrolled(pkg, THIRD) == 47
    assert cohort.study_accounts(pkg)[THIRD].in_study(8) == cohort.study_accounts(pkg)[TWIN].in_study(8)


def test_an_outcome_with_two_source_studies_asks_which(pkg):
    with pytest.raises(InputError, match=f"found 2 \\({TWIN}, {THIRD}\\); name one with study="):
        efficacy.remission_table(pkg)
    with pytest.raises(InputError, match=f"found 2 \\({TWIN}, {THIRD}\\)"):
        context.context_table(pkg, "crohns")


def test_the_efficacy_tables_of_the_third_study_are_its_twins(pkg):
    for table in (efficacy.remission_table, efficacy.endoscopy_table, efficacy.remission_by_set):
        pd.testing.assert_frame_equal(table(pkg, study=THIRD), table(pkg, study=TWIN))
    third = context.context_table(pkg, "crohns", study=THIRD)
    assert third["study_id"].iloc[0] == THIRD and third["label"].iloc[0] == "Doe et al. 2020"
    # 11 of 47 in remission at week 8: He et al.'s 23.4% (hand: 11/47 = 23.40%)
    assert third[third["role"].eq("source")][["k", "n"]].to_numpy().tolist()[0] == [11, 47]


def test_the_audit_checks_the_third_study_as_it_checks_its_twin(pkg):
    table = checks.run_audit(pkg)
    mine, twins = table[table["study"].eq(THIRD)], table[table["study"].eq(TWIN)]
    assert len(mine) == len(twins) > 0
    assert sorted(mine["status"]) == sorted(twins["status"])
    listed = findings.summary(table)
    third_ids = set(listed.loc[listed["study"].eq(THIRD), "finding"])
    twin_ids = set(listed.loc[listed["study"].eq(TWIN), "finding"])
    assert third_ids == {i.replace(TWIN, THIRD, 1) for i in twin_ids}


def test_the_appraisal_judges_the_third_study_from_its_own_rows(pkg):
    # its judgements are He et al.'s rows under its own ids, so it scores what the book's rows give He et al.
    totals = instruments.minors_totals(instruments.minors(pkg))
    assert set(totals) == {TWIN, "wei2003", THIRD} and totals[THIRD] == totals[TWIN]
    assert instruments.basis(pkg)[THIRD] == instruments.basis(pkg)[TWIN]
    graded = grade.summary_of_findings(pkg)
    mine = graded[graded["study"].eq(THIRD)].drop(columns="study").reset_index(drop=True)
    twins = graded[graded["study"].eq(TWIN)].drop(columns="study").reset_index(drop=True)
    assert len(mine) == 5
    pd.testing.assert_frame_equal(mine, twins)


def test_the_multiverse_varies_the_third_studys_headline_outcomes(pkg):
    assert multiverse.outcomes(pkg)[THIRD] == ("Doe et al.: clinical remission, week 8",
                                               "Doe et al.: clinical remission, week 12")
    table = multiverse.multiverse(pkg)
    third = table[table["outcome"].str.startswith("Doe et al.")].reset_index(drop=True)
    twin = table[table["outcome"].str.startswith("He et al.")].reset_index(drop=True)
    assert len(third) == len(twin) == 2 * 144
    # the same numbers, and where a rounding leaves no count, the same reason naming the study's own row
    third["note"] = third["note"].str.replace(THIRD, TWIN)
    pd.testing.assert_frame_equal(third.drop(columns="outcome"), twin.drop(columns="outcome"))


def test_the_results_package_reports_the_third_study(made):
    for name in ("intervals", "inferred_counts", "audit", "findings"):
        studies = set(made[name]["study"])
        assert THIRD in studies and TWIN in studies, name
    intervals = made["intervals"]
    mine = intervals[intervals["study"].eq(THIRD)].drop(columns="study").reset_index(drop=True)
    twins = intervals[intervals["study"].eq(TWIN)].drop(columns="study").reset_index(drop=True)
    pd.testing.assert_frame_equal(mine, twins)
    descriptor = results_package.descriptor(made, PARAMS)
    assert [r["name"] for r in descriptor["resources"]] == list(made)
