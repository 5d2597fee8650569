"""thalbook.core.cohort against what the papers say of their patients.

Expected values are read off the source texts: He et al. enrolled 47
patients, 5 of whom stopped for adverse events at unstated times; Wei et al.
enrolled 13, of whom 2 left after 2 weeks (drug eruption), 1 "1 week later"
(dizziness and drowsiness) and 2 after 8 weeks (lack of efficacy), and 8
completed.
"""

from __future__ import annotations

import pytest

from thalbook.core import cohort, data
from thalbook.core.errors import InputError


@pytest.fixture(scope="module")
def pkg():
    return data.load()


def test_the_source_studies_and_their_sizes(pkg):
    assert (cohort.source_study(pkg, "crohns"), cohort.source_study(pkg, "as")) == ("he2017", "wei2003")
    assert (cohort.enrolled(pkg, "he2017"), cohort.enrolled(pkg, "wei2003")) == (47, 13)
    assert cohort.fact(pkg, "wei2003", "completed") == 8
    assert cohort.facts(pkg, "wei2003")["completed"] == "8"


def test_everyone_enrolled_is_in_the_study_at_baseline(pkg):
    assert cohort.patients_in_study(pkg, "wei2003", 0) == (13, 13)
    assert cohort.patients_in_study(pkg, "he2017", 0) == (47, 47)


def test_withdrawals_before_a_week_are_out_and_those_of_unstated_week_may_be(pkg):
    # week 8: the 2 of week 2 are out; the 1 of unstated week and the 2 of week 8 may or may not be
    assert cohort.patients_in_study(pkg, "wei2003", 8) == (13 - 2 - 3, 13 - 2)
    # He et al.: the 5 who stopped for adverse events, at unstated times
    assert cohort.patients_in_study(pkg, "he2017", 8) == (47 - 5, 47)
    account = cohort.study_accounts(pkg)["wei2003"]
    assert sorted(count for count, _ in account.withdrawals) == [1, 2, 2]
    assert "1 withdrawal(s) of unstated week" in account.describe(8)


def test_unknown_studies_raise(pkg):
    with pytest.raises(InputError):
        cohort.enrolled(pkg, "nobody1900")
    with pytest.raises(InputError, match="study_facts.csv"):
        cohort.fact(pkg, "nobody1900", "enrolled")
    with pytest.raises(InputError, match="studies.csv"):
        cohort.source_study(pkg, "gout")
