"""thalbook.core.auditing.findings: stable identifiers, one finding per problem, and the kind of each finding.

Expectations are worked by hand: on small frames built here (the decision
table of the kinds), on the synthetic package of ``test_audit`` with its
planted problems (and one more planted here, a p-value only another test
method gives), and on the real package through the command line.
"""

from __future__ import annotations

import io
import json
import re

import pandas as pd
import pytest

from tests.unit.test_audit import frame, synthetic
from thalbook.core.analyses import results_package
from thalbook.core.auditing import checks, findings
from thalbook.core.auditing.findings import CONVENTION, IMPOSSIBLE, OVERREACH, SECONDARY, UNSTATED
from thalbook.core.auditing.verdicts import AUDIT_COLUMNS, COLUMNS
from thalbook.core.evidence import data
from thalbook.core.vocabulary import ROUNDINGS
from thalbook.press import cli

#: What an identifier may look like: lowercase ASCII letters, digits and single hyphens, a letter first.
SLUG = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
#: A line of ``thalbook audit --findings`` after the first: number, identifier, [kind; conventions], the rest.
LINE = re.compile(r"(\d+)  (\S+)  \[(" + "|".join(findings.KINDS) + r")(?:; holds under ([^\]]+))?\]  .+")


@pytest.fixture(scope="module")
def planted() -> dict[str, pd.DataFrame]:
    return checks.run_audits(synthetic())


def by_id(table: pd.DataFrame) -> dict[str, tuple[str, str, int]]:
    made = findings.summary(table)
    return {f: (k, c, o) for f, k, c, o in zip(made["finding"], made["kind"], made["convention"], made["order"],
                                                strict=True)}


# ---------------------------------------------------------------- the decision table, on frames made by hand


def rows(*specs) -> pd.DataFrame:
    """Audit rows (study ``s``) from (topic, status, structure) triples; the columns filled with placeholders."""
    made = []
    for topic, status, structure in specs:
        made.append({**dict.fromkeys(COLUMNS, ""), "study": "s", "quantity": topic, "location": "results",
                     "check": "x", "status": status, "detail": f"{topic} {status}", "topic": topic,
                     **structure})
    return pd.DataFrame(made)


def kinds(audits: dict[str, pd.DataFrame], rounding: str = "half-up") -> dict[str, tuple[str, str]]:
    return {f: (k, c) for f, (k, c, _) in by_id(findings.assign(audits, rounding)).items()}


def same(frame_: pd.DataFrame) -> dict[str, pd.DataFrame]:
    return dict.fromkeys(ROUNDINGS, frame_)


def test_a_problem_under_every_convention_is_impossible_as_printed():
    audits = same(rows(("a", "inconsistent", {}), ("a", "consistent", {}), ("b", "consistent", {})))
    assert kinds(audits) == {"s-a": (IMPOSSIBLE, "")}


def test_a_problem_another_rounding_removes_depends_on_that_convention():
    failing = rows(("a", "inconsistent", {}))
    audits = {"half-up": failing, "half-even": failing, "truncation": failing.assign(status="consistent")}
    assert kinds(audits) == {"s-a": (CONVENTION, "truncation")}
    # the same finding, with the same kind, under the other failing convention; none under truncation
    assert kinds(audits, "half-even") == {"s-a": (CONVENTION, "truncation")}
    assert kinds(audits, "truncation") == {}


def test_a_p_value_another_test_method_gives_depends_on_that_method():
    lattice = ("p", "inconsistent", {"tests": {"exact": False}})
    method = ("p", "consistent", {"tests": {"exact": False, "normal": True, "normal-cc": False}})
    assert kinds(same(rows(lattice, method))) == {"s-p": (CONVENTION, "normal")}
    # ... unless no one method explains every p of the visit: then no method does
    one = ("p", "inconsistent", {"tests": {"exact": False, "normal": False, "normal-cc": False}})
    assert kinds(same(rows(lattice, method, one))) == {"s-p": (IMPOSSIBLE, "")}
    # a method that only works under one rounding says so
    other = rows(lattice, ("p", "consistent", {"tests": {"exact": False, "normal": False}}))
    audits = {**same(other), "half-up": rows(lattice, method)}
    assert kinds(audits) == {"s-p": (CONVENTION, "normal (half-up)")}


def test_what_the_text_leaves_unstated_makes_a_finding_unreported_or_unstated():
    unstated = ("a", "inconsistent", {"unstated": "denominator"})
    assert kinds(same(rows(unstated))) == {"s-a": (UNSTATED, "")}
    # one failing row that nothing unstated reconciles is enough to make it impossible
    assert kinds(same(rows(unstated, ("a", "inconsistent", {})))) == {"s-a": (IMPOSSIBLE, "")}


def test_a_conclusion_beyond_its_results_and_a_secondary_source_come_first():
    conclusion = ("c", "inconsistent", {"statement_kind": "conclusion", "unstated": "definition"})
    assert kinds(same(rows(conclusion))) == {"s-c": (OVERREACH, "")}
    cited = rows(("q", "inconsistent", {"secondary": True}))
    audits = {**same(cited), "truncation": cited.assign(status="consistent")}
    # the convention is still named for a secondary source
    assert kinds(audits) == {"s-q": (SECONDARY, "truncation")}


def test_an_implied_row_joins_the_finding_that_implies_it_else_stands_alone():
    implied = ("p-values (all comparisons)", "inconsistent", {"implied_by": ("p-values (w2)", "p-values (w8)")})
    joined = findings.assign(same(rows(("p-values (w8)", "inconsistent", {}), implied)), "half-up")
    assert joined["finding"].tolist() == ["s-p-values-w8"] * 2
    alone = findings.assign(same(rows(("p-values (w8)", "consistent", {}), implied)), "half-up")
    assert alone["finding"].tolist() == ["", "s-p-values-all-comparisons"]


def test_the_order_numbers_the_findings_of_every_convention():
    half_up = rows(("a", "inconsistent", {}), ("b", "consistent", {}), ("c", "inconsistent", {}))
    audits = {"half-up": half_up, "half-even": half_up, "truncation": half_up.assign(status="inconsistent")}
    # b is a finding under truncation only: it keeps number 2, and the half-up numbers skip it
    assert {f: o for f, (_, _, o) in by_id(findings.assign(audits, "half-up")).items()} == {"s-a": 1, "s-c": 3}
    assert {f: o for f, (_, _, o) in by_id(findings.assign(audits, "truncation")).items()} == {
        "s-a": 1, "s-b": 2, "s-c": 3}


def test_identifiers_are_made_from_what_a_finding_is_about():
    assert findings.identifier("wei2003", "asas20 week 24 [enrolled]") == "wei2003-asas20-w24-enrolled"
    assert findings.identifier("wei2003", "p-values (week 8 vs baseline)") == "wei2003-p-values-w8-vs-baseline"
    assert findings.identifier("wei2003", "statement: withdrawal-reasons") == "wei2003-statement-withdrawal-reasons"
    # two topics one slug apart both get a hash of their own text, whichever comes first
    keys = [("s", "a b"), ("s", "a/b")]
    made, reversed_ = findings.identifiers(keys), findings.identifiers(keys[::-1])
    assert made == reversed_ and len(set(made.values())) == 2
    assert all(SLUG.fullmatch(v) and v.startswith("s-a-b-") for v in made.values())


def test_counts_by_kind_name_every_kind_and_add_up():
    table = pd.DataFrame({"kind": [IMPOSSIBLE, SECONDARY, IMPOSSIBLE]})
    assert findings.counts_by_kind(table) == {IMPOSSIBLE: 2, CONVENTION: 0, UNSTATED: 0, OVERREACH: 0, SECONDARY: 1}
    assert findings.counts_text(table) == "3 findings: 2 impossible as printed, 1 found in a secondary source"
    assert set(findings.KIND_DESCRIPTIONS) == set(findings.KINDS)
    with pytest.raises(ValueError, match="not kinds of finding: sloppy"):
        findings.counts_by_kind(pd.DataFrame({"kind": ["sloppy"]}))


# ---------------------------------------------------------------- the synthetic package's planted problems


def test_every_planted_kind_is_told_apart(planted):
    found = by_id(planted["half-up"])
    expected = {
        "alpha-asas20-w24-enrolled": (IMPOSSIBLE, ""),  # 8/10 called 'enrolled', 13 enrolled: no rounding helps
        "alpha-p-values-w8-vs-baseline": (IMPOSSIBLE, ""),  # 0.007 and 0.014 need different methods, any rounding
        # 34.2 over n = 8: 273/8 = 34.125, 274/8 = 34.25; half-even and truncation both give 34.2
        "alpha-esr-w24-vs-baseline-values": (CONVENTION, "half-even; truncation"),
        "beta-endoscopic-response-w24-endoscopy": (UNSTATED, ""),  # 68.4% is 13/19, not k/32 (21/32 = 65.6%)
        "alpha-analysis-chi-square": (UNSTATED, ""),  # announced in the methods, reported nowhere
        "alpha-statement-severe-adverse-events": (UNSTATED, ""),  # 'none' severe, then a 'severe rash'
        "alpha-statement-axial-efficacy": (OVERREACH, ""),  # 'very effective' where none improved > 40%
        # a context study: 80% of 26 is 21/26 only truncated, and cited as 70% (21/30)
        "gamma-improvement-thalidomide-completers": (SECONDARY, "truncation"),
    }
    assert {f: found[f][:2] for f in expected} == expected
    # every kind is planted at least once
    assert min(findings.counts_by_kind(findings.summary(planted["half-up"])).values()) >= 1


def test_a_p_value_only_the_normal_approximation_gives_depends_on_the_test_method():
    """p = 0.007 with 10 pairs stated. Exact: with 10 pairs p jumps from 6/1024 to 10/1024 (0.0059 to 0.0098), and
    fewer non-zero differences give 2/256 = 0.0078: 0.008 rounded, 0.007 truncated. Normal approximation, n = 10,
    W = 1: z = (1 - 27.5) / sqrt(96.25) = -2.70, p = 0.0069, which rounds (half-up or half-even) to 0.007."""
    week16 = frame("""
        id,study_id,measure,timepoint_week,comparison,mean,sd,n,p_value,test,location
        a-crp-16,alpha,crp,16,week 16 vs baseline,,,10,0.007,wilcoxon-signed-rank,results
    """)
    package = synthetic(continuous_outcomes=lambda t: pd.concat([t, week16], ignore_index=True))
    made = checks.run_audits(package)
    for rounding in ("half-up", "half-even"):
        assert by_id(made[rounding])["alpha-p-values-w16-vs-baseline"][:2] == (CONVENTION, "truncation; normal")
    assert "alpha-p-values-w16-vs-baseline" not in by_id(made["truncation"])
    week = made["half-up"][made["half-up"]["finding"].eq("alpha-p-values-w16-vs-baseline")]
    assert sorted(week["check"]) == ["test-method", "wilcoxon-lattice"]


def test_identifiers_kinds_and_numbers_are_the_same_under_every_rounding(planted):
    tables = {r: by_id(t) for r, t in planted.items()}
    for one in ROUNDINGS:
        for other in ROUNDINGS:
            for finding in tables[one].keys() & tables[other].keys():
                assert tables[one][finding] == tables[other][finding], (finding, one, other)
    # which findings come and go, worked out by hand in test_audit and above
    assert tables["half-up"].keys() - tables["half-even"].keys() == {"alpha-esr-w24-vs-baseline-values"}
    assert tables["half-even"].keys() <= tables["half-up"].keys()
    assert tables["truncation"].keys() ^ tables["half-up"].keys() == {
        "alpha-esr-w24-vs-baseline-values",  # 274/8 = 34.25 truncates to 34.2
        "gamma-improvement-thalidomide-completers",  # 21/26 = 80.8% truncates to 80%
        "beta-clinical-remission-w4-itt",  # 7/47 = 14.89% truncates to 14.8%, not 14.9%
        "beta-complete-endoscopic-remission-w24-endoscopy",  # 14/32 = 43.75% truncates to 43.7%, not 43.8%
        "alpha-p-values-w24-vs-baseline",  # 1/64 = 0.015625 truncates to 0.015, not 0.016
    }
    # every row of a finding under two conventions carries the same identifier under both; the row that says no
    # one method explains the whole paper joins the first visit that fails, which the convention decides
    key = ["study", "check", "quantity", "location"]
    for one, other in (("half-up", "half-even"), ("half-up", "truncation")):
        both = planted[one][key + ["finding"]].merge(planted[other][key + ["finding"]], on=key)
        both = both[both["finding_x"].ne("") & both["finding_y"].ne("")]
        both = both[~both["quantity"].eq("test method: all comparisons")]
        assert both["finding_x"].equals(both["finding_y"])


def test_identifiers_are_unique_slugs(planted):
    for table in planted.values():
        made = findings.summary(table)
        assert made["finding"].is_unique and made["order"].is_unique
        assert all(SLUG.fullmatch(f) for f in made["finding"])
        assert made["finding"].str.startswith(tuple(s + "-" for s in made["study"])).all()


def test_one_problem_is_one_finding(planted):
    table = planted["half-up"]
    visit = table[table["quantity"].str.contains("week 8 vs baseline") & table["check"].isin(
        ["wilcoxon-lattice", "test-method", "one-method"])]
    # the lattice check of BASDAI's p, the test-method checks of both p-values of the visit and the one-method
    # check of the visit, and the paper-wide one-method check it implies
    assert len(visit) == 5
    overall = table[table["quantity"].eq("test method: all comparisons")]
    assert set(visit["finding"]) | set(overall["finding"]) == {"alpha-p-values-w8-vs-baseline"}
    # a mean printed differently in two places is one of that comparison's value problems
    mean = table[table["quantity"].eq("basdai week 24 (week 24 vs baseline): mean")]
    assert mean["finding"].tolist() == ["alpha-basdai-w24-vs-baseline-values"]
    # and two adverse events are two topics: a wrong percentage for one does not make the other a finding
    events = table[table["quantity"].str.startswith("adverse event: discontinuation")]
    assert len(events) and events["finding"].eq("").all()
    assert set(table.loc[table["quantity"].str.startswith("adverse event: any"), "finding"]) == {
        "beta-ae-any-adverse-event"}


def test_counts_by_kind_add_up_to_the_findings(planted):
    for table in planted.values():
        made = findings.summary(table)
        counts = findings.counts_by_kind(made)
        assert list(counts) == list(findings.KINDS) and sum(counts.values()) == len(made)


# ---------------------------------------------------------------- the real package, through the command line


def run(capsys, *args: str) -> str:
    assert cli.main(["audit", *args]) == 0
    return capsys.readouterr().out


def test_the_command_line_prints_identifier_kind_and_conventions(capsys):
    text = run(capsys, "--findings")
    head, *lines = text.splitlines()
    # 22 findings, as FINDINGS_HALF_UP of test_audit lists them by hand
    assert head == ("22 findings: 13 impossible as printed, 1 depends on a convention, 4 unreported or unstated, "
                    "3 says more than its results, 1 found in a secondary source")
    parsed = [LINE.fullmatch(line) for line in lines]
    assert all(parsed), [line for line, m in zip(lines, parsed, strict=True) if not m]
    shown = {m[2]: (m[3], m[4] or "") for m in parsed}
    assert len(shown) == 22 and all(SLUG.fullmatch(f) for f in shown)
    assert shown["wei2003-esr-w24-vs-baseline-values"] == (CONVENTION, "half-even or truncation")
    assert shown["huang2002-improvement-gt20-4-of-7-thalidomide-completers"] == (SECONDARY, "truncation")
    assert shown["wei2003-p-values-w8-vs-baseline"] == (IMPOSSIBLE, "")
    numbers = [int(m[1]) for m in parsed]
    assert numbers == sorted(numbers)
    # the same identifiers in the CSV and the JSON of the audit, and under another rounding
    csv = pd.read_csv(io.StringIO(run(capsys, "--format", "csv")), keep_default_na=False, dtype=str)
    assert set(csv["finding"]) - {""} == set(shown)
    assert csv.loc[csv["finding"].eq(""), ["kind", "convention", "order"]].eq("").all().all()
    records = json.loads(run(capsys, "--format", "json"))
    assert {r["finding"] for r in records} - {""} == set(shown)
    text = run(capsys, "--findings", "--rounding", "truncation")
    truncated = {m[2]: m.group(1, 3, 4) for m in map(LINE.fullmatch, text.splitlines()[1:])}
    half_up = {m[2]: m.group(1, 3, 4) for m in parsed}
    # number, kind and conventions of a finding both conventions have are the same
    assert {f: truncated[f] for f in truncated.keys() & half_up.keys()} == {
        f: half_up[f] for f in truncated.keys() & half_up.keys()}
    assert set(truncated) - set(shown) == {
        "he2017-clinical-remission-w4-itt", "he2017-clinical-remission-w24-itt",
        "he2017-complete-endoscopic-remission-w24-endoscopy", "vasiliauskas1999-clinical-remission-thalidomide",
        "zhu2010-basdai-and-pain-improvement-gt50-thalidomide", "zhu2010-withdrawal-adverse-event-thalidomide"}
    assert set(shown) - set(truncated) == {
        "wei2003-esr-w24-vs-baseline-values", "huang2002-improvement-gt20-4-of-7-thalidomide-completers"}


def test_the_real_week_8_p_values_are_one_finding():
    table = checks.run_audit(data.load())
    week8 = table[table["quantity"].isin(["basdai week 8 (week 8 vs baseline)", "esr week 8 (week 8 vs baseline)",
                                          "test method: week 8 vs baseline", "test method: all comparisons"])
                  & table["check"].isin(["wilcoxon-lattice", "test-method", "one-method"])]
    assert set(week8["finding"]) == {"wei2003-p-values-w8-vs-baseline"} and len(week8) == 6
    assert not findings.summary(table)["quantity"].str.startswith("test method").any()


def test_the_results_package_describes_every_new_column():
    assert tuple(results_package.RESOURCES["audit"][1]) == AUDIT_COLUMNS
    assert tuple(results_package.RESOURCES["findings"][1]) == findings.FINDING_COLUMNS
