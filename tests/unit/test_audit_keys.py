"""The keys of an audit row, and the one function that names a quantity from them.

Code outside the audit picks rows by their keys (``about``, ``subject``,
``week``, ``comparison``, ...), never by the words of ``quantity`` or
``detail``. Expected names below are written by hand from the naming the
audit has always used (``clinical_remission week 8 [itt]``); the checks that
every family fills its keys read the words independently of
:func:`thalbook.core.auditing.verdicts.quantity_text`, with patterns of their own.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest

from tests.unit.test_audit import synthetic
from thalbook.core.analyses import results_package
from thalbook.core.auditing import checks
from thalbook.core.auditing.verdicts import ABOUTS, KEYS, Quantity, quantity_text
from thalbook.core.evidence import data
from thalbook.core.inference import pvalue_methods

# ---------------------------------------------------------------- the name, from hand-made keys

NAMED = [
    (Quantity("outcome", "clinical_remission", week="8", analysis_set="itt"), "clinical_remission week 8 [itt]"),
    (Quantity("outcome", "improvement_gt50", subgroup="juvenile", week="24"), "improvement_gt50 (juvenile) week 24"),
    (Quantity("outcome", "improvement_gt50", week="24", part="subgroups"), "improvement_gt50 week 24: subgroups"),
    (Quantity("outcome", "improvement", arm="thalidomide", analysis_set="completers"),
     "improvement (thalidomide) [completers]"),
    (Quantity("outcome", "asas20", week="24", analysis_set="enrolled", part="denominator"),
     "asas20 week 24 [enrolled]: denominator"),
    (Quantity("measure", "basdai", week="24", comparison="week 24 vs baseline"),
     "basdai week 24 (week 24 vs baseline)"),
    (Quantity("measure", "basdai", week="24", comparison="week 24 vs baseline", part="p_value"),
     "basdai week 24 (week 24 vs baseline): p value"),
    (Quantity("measure", "swollen_joints", week="0"), "swollen_joints week 0 (no comparison)"),
    (Quantity("adverse-event", "adverse event necessitating therapy discontinuation", part="count"),
     "adverse event: adverse event necessitating therapy discontinuation: count"),
    (Quantity("fact", "subtype_count", subgroup="juvenile"), "subtype_count (juvenile)"),
    (Quantity("fact", "age_mean"), "age_mean"),
    (Quantity("withdrawals", "adverse-event"), "withdrawals: adverse-event"),
    (Quantity("withdrawals", "all reasons"), "withdrawals: all reasons"),
    (Quantity("statement", "design"), "statement: design"),
    (Quantity("analysis", "chi-square"), "analysis: chi-square"),
    (Quantity("test-method", comparison="week 8 vs baseline"), "test method: week 8 vs baseline"),
    (Quantity("test-method", comparison="all comparisons"), "test method: all comparisons"),
]


@pytest.mark.parametrize(("keys", "name"), NAMED, ids=[name for _, name in NAMED])
def test_a_quantity_is_named_from_its_keys(keys, name):
    assert quantity_text(keys) == name
    # a row of the audit, with its keys as columns, is named alike; missing keys are empty
    row = pd.Series({**{k: getattr(keys, k) or float("nan") for k in keys.__dataclass_fields__}, "rounding": "x"})
    assert quantity_text(row) == name


def test_a_quantity_about_an_unknown_kind_of_thing_is_refused():
    with pytest.raises(ValueError, match="about must be one of .*, got 'outcomes'"):
        Quantity("outcomes", "asas20")


# ---------------------------------------------------------------- every family of checks fills its keys

#: How a quantity about each kind of thing starts, as the audit has always written it.
LEADS = {"withdrawals": "withdrawals: ", "adverse-event": "adverse event: ", "test-method": "test method: ",
         "statement": "statement: ", "analysis": "analysis: "}
#: What each check is about.
ABOUT_BY_CHECK = {
    "grim": {"measure"}, "grimmer": {"measure"}, "scale-bounds": {"measure"}, "wilcoxon-lattice": {"measure"},
    "reconstruction": {"measure"}, "test-method": {"measure"}, "one-method": {"test-method"},
    "percent-to-count": {"outcome", "adverse-event"}, "analysis-set": {"outcome", "adverse-event"},
    "subgroup-size": {"outcome"}, "cited-vs-source": {"outcome"}, "parts-sum": {"outcome", "withdrawals"},
    "withdrawals-total": {"withdrawals"}, "withdrawals-vs-events": {"withdrawals"},
    "summary-in-range": {"fact"}, "summary-label": {"fact"}, "statement": {"statement"},
    "announced-vs-reported": {"analysis"},
    "cross-place": {"fact", "withdrawals", "outcome", "measure", "adverse-event"},
}


@pytest.fixture(scope="module", params=["synthetic", "real"])
def table(request) -> pd.DataFrame:
    return checks.run_audit(synthetic() if request.param == "synthetic" else data.load(), rounding="half-even")


def problems(row: pd.Series) -> list[str]:
    """What is wrong with a row's keys, read against its name with patterns written here."""
    name, found = row["quantity"], []
    if row["about"] not in ABOUT_BY_CHECK[row["check"]]:
        found.append(f"about {row['about']!r} for a {row['check']} check")
    lead = LEADS.get(row["about"], "")
    if not name.startswith(lead) or any(name.startswith(other) for other in LEADS.values() if other != lead):
        found.append(f"does not start as a quantity about {row['about']} does")
    if row["subject"] and not name.startswith(lead + row["subject"]):
        found.append(f"does not name its subject {row['subject']!r} first")
    if row["about"] != "test-method" and not row["subject"]:
        found.append("has no subject")
    if row["week"] and not re.search(rf"(^|\s)week {re.escape(row['week'])}(\s|:|$)", name):
        found.append(f"does not name week {row['week']}")
    # a week named outside the comparison ("week 8 vs baseline") is a visit the keys must give
    outside = name.replace(row["comparison"], "") if row["comparison"] else name
    if not row["week"] and re.search(r"(^|\s)week \d", outside):
        found.append("names a week it has no key for")
    if row["comparison"] and row["comparison"] not in name:
        found.append(f"does not name the comparison {row['comparison']!r}")
    for key, shown in (("subgroup", "({})"), ("arm", "({})"), ("analysis_set", "[{}]")):
        if row[key] and shown.format(row[key]) not in name:
            found.append(f"does not name its {key} {row[key]!r}")
    if row["part"] and not name.endswith(": " + row["part"].replace("_", " ")):
        found.append(f"does not end with its part {row['part']!r}")
    if row["rounding"] != "half-even":
        found.append(f"judged under {row['rounding']!r}, not the rounding asked for")
    return found


def test_every_row_has_keys_its_name_agrees_with(table):
    assert set(table["about"]) <= set(ABOUTS)
    assert set(table["check"]) <= set(ABOUT_BY_CHECK)
    wrong = {row["quantity"]: problems(row) for _, row in table.iterrows() if problems(row)}
    assert not wrong, wrong
    # and the name is the one function's, from the keys alone
    assert [quantity_text(row) for _, row in table.iterrows()] == table["quantity"].tolist()


def test_every_check_of_the_synthetic_package_fills_its_keys():
    """Rows of each family of checks picked from the synthetic package by name, their keys read off by hand."""
    result = checks.run_audit(synthetic())
    expected = {
        ("beta", "percent-to-count", "clinical_remission week 8 [itt]"):
            {"about": "outcome", "subject": "clinical_remission", "week": "8", "analysis_set": "itt"},
        ("alpha", "subgroup-size", "improvement_gt20 (juvenile) week 24"):
            {"about": "outcome", "subject": "improvement_gt20", "subgroup": "juvenile", "week": "24"},
        ("alpha", "parts-sum", "improvement_gt50 week 24: subgroups"):
            {"about": "outcome", "subject": "improvement_gt50", "week": "24", "part": "subgroups"},
        ("gamma", "cited-vs-source", "improvement (thalidomide) [completers]"):
            {"about": "outcome", "subject": "improvement", "arm": "thalidomide", "analysis_set": "completers"},
        ("beta", "percent-to-count", "adverse event: any adverse event"):
            {"about": "adverse-event", "subject": "any adverse event"},
        ("alpha", "grim", "esr week 0 (week 8 vs baseline)"):
            {"about": "measure", "subject": "esr", "week": "0", "comparison": "week 8 vs baseline"},
        ("alpha", "cross-place", "basdai week 24 (week 24 vs baseline): mean"):
            {"about": "measure", "subject": "basdai", "week": "24", "comparison": "week 24 vs baseline",
             "part": "mean"},
        ("alpha", "reconstruction", "basg week 24 (week 24 vs baseline)"):
            {"about": "measure", "subject": "basg", "week": "24", "comparison": "week 24 vs baseline"},
        ("alpha", "one-method", "test method: week 8 vs baseline"):
            {"about": "test-method", "comparison": "week 8 vs baseline"},
        ("alpha", "one-method", "test method: all comparisons"):
            {"about": "test-method", "comparison": "all comparisons"},
        ("beta", "withdrawals-total", "withdrawals: all reasons"): {"about": "withdrawals", "subject": "all reasons"},
        ("alpha", "withdrawals-vs-events", "withdrawals: adverse-event"):
            {"about": "withdrawals", "subject": "adverse-event"},
        ("alpha", "summary-label", "disease_duration"): {"about": "fact", "subject": "disease_duration"},
        ("alpha", "cross-place", "male"): {"about": "fact", "subject": "male"},
        ("alpha", "statement", "statement: withdrawal-reasons"):
            {"about": "statement", "subject": "withdrawal-reasons"},
        ("alpha", "announced-vs-reported", "analysis: chi-square"): {"about": "analysis", "subject": "chi-square"},
    }
    for (study, check, name), keys in expected.items():
        rows = result[result["study"].eq(study) & result["check"].eq(check) & result["quantity"].eq(name)]
        assert len(rows), (study, check, name)
        for _, row in rows.iterrows():
            assert row[list(KEYS)].to_dict() == {**dict.fromkeys(KEYS, ""), "rounding": "half-up", **keys}, name


def test_the_test_methods_a_row_found_are_data(table):
    """A test-method row lists the methods that reproduce its p, each named in its detail; a one-method row
    the methods that give every p of its comparison, and it is consistent exactly when one is a signed-rank test."""
    methods = table[table["check"].eq("test-method")]
    assert len(methods)
    for _, row in methods.iterrows():
        assert set(row["methods"]) <= set(pvalue_methods.METHODS)
        assert all(pvalue_methods.METHOD_LABELS[m] in row["detail"] for m in row["methods"])
        # a signed-rank method judged and passing is one that reproduces the p
        assert {m for m, holds in row["tests"].items() if holds} == set(row["methods"]) - {"paired-t"}
    for _, row in table[table["check"].eq("one-method")].iterrows():
        signed_rank = set(row["methods"]) - {"paired-t"}
        assert (row["status"] == "consistent") == bool(signed_rank), row["quantity"]
    other = table[~table["check"].isin(["test-method", "one-method"])]
    assert other["methods"].isna().all()


def test_the_results_package_publishes_every_key_with_a_description_and_no_structure(package):
    made = results_package.tables(package, {"confidence_level": 0.95, "ci_method": "wilson", "analysis_set": "itt",
                                    "rounding": "half-up"})
    columns = results_package.RESOURCES["audit"][1]
    assert list(made["audit"].columns) == list(columns)
    assert all(key in columns and columns[key] for key in KEYS)
    assert "tests" not in columns and "methods" not in columns
    # a published row is picked by its keys alone: the week-8 p-value of BASDAI in Wei et al.'s results
    picked = made["audit"].query("study == 'wei2003' and check == 'wilcoxon-lattice' and subject == 'basdai' "
                                 "and week == '8' and location == 'results'")
    assert picked["reported"].tolist() == ["p = 0.007"]
