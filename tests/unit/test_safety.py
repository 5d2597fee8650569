"""thalbook.core.analyses.harms against independent references.

Expected values come from the source texts (the counts a reader can read off
the papers), from scipy's own interval code or closed forms, and from counting
by hand; none from thalbook.core.analyses.harms itself.
"""

from __future__ import annotations

import io

import matplotlib
import pytest
import scipy.stats

from thalbook.chapters import diagrams
from thalbook.core.analyses import cohort, harms
from thalbook.core.errors import InputError

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def events(package):
    return harms.adverse_events(package, "wilson", 0.95)


def test_among_enrolled_bounds_a_count_made_among_a_subset():
    # 7 of 8 completers; 5 of the 13 enrolled not counted: 7 to 12 of 13
    assert harms.among_enrolled(7, 8, 13) == (7, 12)
    assert harms.among_enrolled(0, 13, 13) == (0, 0)
    for bad in [(9, 8, 13), (1, 14, 13), (-1, 8, 13)]:
        with pytest.raises(ValueError):
            harms.among_enrolled(*bad)


def test_every_adverse_event_statement_is_in_the_table(package, events):
    assert len(events) == len(package.adverse_events)
    assert list(events["event"]) == list(package.adverse_events["event"])


def test_stated_denominators_are_used_and_the_interval_is_wilsons(events):
    # He et al. abstract: "Adverse events occurred in 27/47 (57.4%) patients"
    row = harms.event_row(events, "he2017", "any adverse event")
    assert (row["k"], row["n"], row["basis"]) == (27, 47, harms.STATED_BASIS)
    ci = scipy.stats.binomtest(27, 47).proportion_ci(0.95, method="wilson")
    assert row["low"] == pytest.approx(ci.low, abs=1e-9) and row["high"] == pytest.approx(ci.high, abs=1e-9)


def test_a_count_without_a_denominator_is_taken_over_all_enrolled_and_says_so(package):
    events = harms.adverse_events(package, "clopper-pearson", 0.95)
    # "Neither neuropathy nor other severe adverse events were noted": 0 of the 13 treated
    row = harms.event_row(events, "wei2003", "neuropathy")
    assert (row["k"], row["n"], row["basis"]) == (0, 13, harms.ASSUMED_BASIS)
    # Clopper-Pearson upper limit for 0/n in closed form: 1 - (alpha/2)^(1/n)
    assert row["low"] == 0 and row["high"] == pytest.approx(1 - 0.025 ** (1 / 13), abs=1e-9)


def test_counts_among_completers_are_bounded_among_all_enrolled(events):
    # "Dry mouth (7/8), constipation (7/8), and dizziness (6/8)"; 13 enrolled
    expected = {"dry mouth": (7, 12), "constipation": (7, 12), "dizziness": (6, 11), "daytime drowsiness": (3, 8)}
    for event, (low, high) in expected.items():
        row = harms.event_row(events, "wei2003", event, "results")
        assert (row["enrolled_low"], row["enrolled_high"]) == (low, high), event


def test_frequency_words_have_no_count_and_no_interval(events):
    row = harms.event_row(events, "wei2003", "dry mouth", "abstract: results")
    assert row["reported"] == "common"
    assert row["k"] != row["k"] and row["low"] != row["low"]  # NaN


def test_adverse_event_table_shows_numbers_as_printed(events):
    table = harms.adverse_event_table(events[events["study"].eq("he2017")], 0.95)
    assert table.loc[0, "as reported"] == "27/47 (57.4%)"
    assert table.loc[0, "proportion (95% interval)"].startswith("57.4% (")
    assert table.loc[1, "also stated"] == "led to withdrawal: yes"


def test_severe_events_are_the_counted_events_called_severe(events):
    # results: "severe drug eruptions" (2), "severe dizziness and drowsiness" (1), "severe drowsiness" under
    # the twice-daily regimen (2); "no severe adverse events" and "neither ... nor other severe" count none
    severe = harms.severe_events(events, "wei2003")
    assert sorted(severe["k"].astype(int)) == [1, 2, 2]
    assert harms.severe_events(events, "he2017").empty


def test_dose_text_reads_the_stated_regimen(package):
    assert harms.dose_text(package, "he2017") == "50–100 mg/day"  # "received 50-100 mg of thalidomide daily"
    wei = harms.dose_text(package, "wei2003")
    assert wei.startswith("100 mg/day for 1 week, then 200 mg/day (100 mg, twice daily) for 23 weeks")
    assert "200 mg once at bedtime" in wei


def test_the_as_study_withdrawals_step_by_step(package):
    steps = harms.as_accounting(package, "wei2003")
    # results: 2 drug eruptions after 2 weeks, 1 "1 week later", 2 lost after 8 weeks; 8 completed
    assert list(steps["left"]) == [2, 1, 2]
    assert list(steps["remaining"]) == [11, 10, 8]
    assert list(steps["category"]) == ["adverse event", "adverse event", "lack of efficacy"]
    assert steps["when"].tolist() == ["week 2", "'1 week later' (read as week 3)", "week 8"]
    assert set(steps["location"]) == {"results"}
    assert steps["remaining"].iloc[-1] == int(cohort.facts(package, "wei2003")["completed"])


def test_every_place_accounts_for_the_same_withdrawals(package):
    places = harms.accounting_by_place(package, "wei2003")
    assert list(places["place"]) == ["abstract: results", "results", "table 2"]
    assert list(places["adverse event"]) == [3, 3, 3]
    assert list(places["lack of efficacy"]) == [2, 2, 2]
    assert list(places["remaining"]) == [8, 8, 8]


def test_withdrawals_for_adverse_events_beside_the_dose(package):
    table = harms.ae_withdrawals(package, "wilson", 0.95).set_index("study")
    assert (table.loc["he2017", "k"], table.loc["he2017", "enrolled"]) == (5, 47)  # "5/47 (10.6%)"
    assert (table.loc["wei2003", "k"], table.loc["wei2003", "enrolled"]) == (3, 13)
    assert table.loc["wei2003", "places"] == "abstract: results: 3; results: 3; table 2: 3"
    assert table.loc["he2017", "dose"] == "50–100 mg/day"
    ci = scipy.stats.binomtest(3, 13).proportion_ci(0.95, method="wilson")
    assert table.loc["wei2003", "low"] == pytest.approx(ci.low, abs=1e-9)
    context = harms.context_ae_withdrawals(package)
    assert context[["study", "k", "enrolled"]].values.tolist() == [["zhu2010", 32, 232]]


def test_unknown_rows_and_studies_raise(package, events):
    with pytest.raises(InputError):
        harms.event_row(events, "wei2003", "hiccups")
    with pytest.raises(InputError):
        harms.as_accounting(package, "nobody1900")


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def test_figures_are_drawn_the_same_every_time(package, events):
    import matplotlib.pyplot as plt

    steps = harms.as_accounting(package, "wei2003")
    flows = [diagrams.flow_figure(steps, 13, 8, harms.dose_text(package, "wei2003"), "week 24") for _ in range(2)]
    assert _png(flows[0]) == _png(flows[1])
    texts = " ".join(t.get_text() for t in flows[0].axes[0].texts)
    assert "n = 13" in texts and "n = 8" in texts and "8 remain" in texts
    labels = {"he2017": "He", "wei2003": "Wei"}
    figure = diagrams.events_figure(events, labels, 0.95)
    assert [ax.get_title(loc="left") for ax in figure.axes] == ["He", "Wei"]
    plt.close("all")
