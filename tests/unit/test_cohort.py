"""thalbook.core.analyses.cohort against what the papers say of their patients.

Expected values are read off the source texts: He et al. enrolled 47
patients, 5 of whom stopped for adverse events at unstated times; Wei et al.
enrolled 13, of whom 2 left after 2 weeks (drug eruption), 1 "1 week later"
(dizziness and drowsiness), read as week 3, and 2 after 8 weeks (lack of
efficacy), and 8 completed; the visits were at weeks 2, 4, 8, 12, 16, 20 and
24. The timeline stories are constructed by hand.
"""

from __future__ import annotations

import csv
import shutil

import pytest

from thalbook.core import paths
from thalbook.core.analyses import cohort
from thalbook.core.errors import InputError
from thalbook.core.evidence import data


def test_the_source_studies_and_their_sizes(package):
    found = (cohort.source_study(package, "clinical_remission"), cohort.source_study(package, "asas20"))
    assert found == ("he2017", "wei2003")
    assert cohort.source_studies(package, "crohns") == ["he2017"]
    assert (cohort.enrolled(package, "he2017"), cohort.enrolled(package, "wei2003")) == (47, 13)
    assert cohort.fact(package, "wei2003", "completed") == 8
    assert cohort.facts(package, "wei2003")["completed"] == "8"


def test_everyone_enrolled_is_in_the_study_at_baseline(package):
    assert cohort.patients_in_study(package, "wei2003", 0) == (13, 13)
    assert cohort.patients_in_study(package, "he2017", 0) == (47, 47)


def test_the_timeline_as_written(package):
    # week 8: out are the 2 of week 2 and the 1 of week 3; the 2 of week 8 may have had the visit
    assert cohort.patients_in_study(package, "wei2003", 8) == (13 - 2 - 1 - 2, 13 - 2 - 1)
    # week 3: the one who left at week 3 may have had a visit then; the 2 of week 2 had left
    assert cohort.patients_in_study(package, "wei2003", 3) == (13 - 2 - 1, 13 - 2)
    # the final visit of the schedule: the 8 completers, never "8 to 9"
    assert cohort.patients_in_study(package, "wei2003", 24) == (8, 8)
    # He et al.: the 5 who stopped for adverse events, at unstated times and with no stated schedule
    assert cohort.patients_in_study(package, "he2017", 8) == (47 - 5, 47)
    assert cohort.patients_in_study(package, "he2017", 24) == (47 - 5, 47)
    account = cohort.study_accounts(package)["wei2003"]
    assert account.withdrawals == [(2, 2.0), (1, 3.0), (2, 8.0)]
    assert account.readings == [
        "'1 week later' (results) is read as 1 week(s) after the withdrawal(s) at week 2, so week 3"
    ]
    assert account.readings[0] in account.describe(8) and "unstated" not in account.describe(8)


ERUPTION, DIZZINESS, NO_EFFECT = (f"wei2003-{name}-results" for name in
                                  ("drug-eruption", "dizziness-drowsiness", "lack-of-efficacy"))


def _story(tmp_path, **stories: dict[str, str]):
    """The data package with the timing of Wei et al.'s withdrawals in the results rewritten by hand.

    ``stories`` maps a row id to its new ``week``, ``relative_to``,
    ``offset_weeks`` and ``timing`` (each empty unless given); the quote is
    rewritten to hold them, as the validator asks.
    """
    target = tmp_path / "data"
    shutil.copytree(paths.project().data, target)
    with (target / "withdrawals.csv").open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        header, rows = reader.fieldnames, list(reader)
    for row in rows:
        if row["id"] in stories:
            row.update(dict.fromkeys(("week", "relative_to", "offset_weeks", "timing"), ""), **stories[row["id"]])
            row["quote"] = " ".join(row[k] for k in ("count", "week", "offset_weeks", "timing"))
    with (target / "withdrawals.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return data.load(target)


def test_a_chain_of_relative_timings_is_resolved(tmp_path):
    # 2 leave at week 4, 1 two weeks after them (6), 2 six weeks after that (12)
    package = _story(tmp_path, **{ERUPTION: {"week": "4"},
                              DIZZINESS: {"relative_to": ERUPTION, "offset_weeks": "2", "timing": "later"},
                              NO_EFFECT: {"relative_to": DIZZINESS, "offset_weeks": "6", "timing": "on"}})
    account = cohort.study_accounts(package)["wei2003"]
    assert account.withdrawals == [(2, 4.0), (1, 6.0), (2, 12.0)]
    assert [cohort.patients_in_study(package, "wei2003", w) for w in (4, 8, 12, 16, 24)] == [
        (11, 13), (10, 10), (8, 10), (8, 8), (8, 8)]
    assert len(account.readings) == 2 and "so week 12" in account.readings[1]


def test_a_timing_relative_to_an_undated_withdrawal_stays_unknown(tmp_path):
    package = _story(tmp_path, **{ERUPTION: {}, DIZZINESS: {"relative_to": ERUPTION, "offset_weeks": "1",
                                                        "timing": "later"}})
    assert cohort.study_accounts(package)["wei2003"].withdrawals == [(2, None), (1, None), (2, 8.0)]
    # unknown times: the 3 may still be there at week 8, but nobody who withdrew is at the final visit
    assert cohort.patients_in_study(package, "wei2003", 8) == (8, 13)
    assert cohort.patients_in_study(package, "wei2003", 24) == (8, 8)


def test_a_circular_timing_names_the_row(tmp_path):
    package = _story(tmp_path, **{ERUPTION: {"relative_to": DIZZINESS, "offset_weeks": "1"},
                              DIZZINESS: {"relative_to": ERUPTION, "offset_weeks": "1"}})
    with pytest.raises(InputError, match="withdrawals.csv: wei2003-.*-results: relative_to"):
        cohort.study_accounts(package)


def test_unknown_studies_raise(package):
    with pytest.raises(InputError):
        cohort.enrolled(package, "nobody1900")
    with pytest.raises(InputError, match="study_facts.csv"):
        cohort.fact(package, "nobody1900", "enrolled")
    with pytest.raises(InputError, match="studies.csv"):
        cohort.source_study(package, "gout_flare")
    with pytest.raises(InputError, match="he2017.*not a source study reporting asas20 .those that do: wei2003"):
        cohort.source_study(package, "asas20", study="he2017")
