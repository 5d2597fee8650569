"""The safety chapter's view, built from the real data package without a kernel.

Expected numbers come from the papers (the counts a reader can read off them),
from closed forms and statsmodels' own interval code, and from counting by
hand; the names the view must hold come from the chapter notebook itself.
"""

from __future__ import annotations

import ast
import re

import matplotlib
import matplotlib.pyplot as plt
import nbformat
import pytest
from statsmodels.stats.proportion import proportion_confint

from tests.conftest import ROOT
from thalbook.chapters import safety
from thalbook.core.errors import InputError

matplotlib.use("Agg")

NOTEBOOK = ROOT / "chapters" / "safety.ipynb"
#: A glued name in the prose: ``{glue:text}`name``` (with or without a format) or ``{glue:figure} name``.
GLUED = re.compile(r"\{glue(?::\w+)?\}`([^`:]+)|```\{glue:figure\}\s+(\S+)")


@pytest.fixture(scope="module")
def view(default_view):
    return default_view("safety")


@pytest.fixture(scope="module")
def cells():
    return nbformat.read(NOTEBOOK, as_version=4).cells


def _glued_in_prose(cells) -> set[str]:
    return {a or b for c in cells if c.cell_type == "markdown" for a, b in GLUED.findall(c.source)}


def test_every_name_the_prose_glues_is_a_value_and_every_value_is_used(view, cells):
    prose = _glued_in_prose(cells)
    assert prose - set(view.values) == set()
    assert set(view.values) - prose == set()


def test_the_figures_are_glued_closed_and_drawn_from_the_data(view):
    for name in ("fig_safety_events", "fig_safety_as_flow"):
        figure = view.value(name)
        assert isinstance(figure, matplotlib.figure.Figure)
        assert figure.number not in plt.get_fignums(), f"{name} is open: the build cell would show it"
    flow = " ".join(t.get_text() for t in view.value("fig_safety_as_flow").axes[0].texts)
    assert "n = 13" in flow and "n = 8" in flow  # 13 enrolled, 8 completed


def test_the_notebook_passes_exactly_the_parameters_it_declares(cells):
    parameters = next(c for c in cells if "parameters" in c.metadata.get("tags", []))
    declared = [node.target.id for node in ast.parse(parameters.source).body]
    assert tuple(declared) == safety.PARAMETERS


def test_crohns_adverse_events_and_their_interval(view):
    # He et al. abstract: "Adverse events occurred in 27/47 (57.4%) patients"
    assert (view.value("he_ae_k"), view.value("he_ae_n"), view.value("he_ae_pct")) == (27, 47, "57.4%")
    low, high = proportion_confint(27, 47, alpha=0.05, method="wilson")
    assert (view.value("he_ae_low"), view.value("he_ae_high")) == (f"{100 * low:.1f}%", f"{100 * high:.1f}%")
    # "5 patients (10.6%) ... discontinued thalidomide because of adverse events"
    assert (view.value("he_stop_k"), view.value("he_stop_n")) == (5, 47)
    assert (view.value("he_wd_k"), view.value("he_wd_n"), view.value("he_wd_pct")) == (5, 47, "10.6%")


def test_no_neuropathy_in_13_patients_is_a_bound_not_a_zero_risk(package, view):
    assert (view.value("neuro_k"), view.value("neuro_n")) == (0, 13)
    # Wilson upper limit for 0 of n in closed form: z^2 / (n + z^2), z = 1.959964 at 95%
    z2 = 1.959964**2
    assert view.value("neuro_high") == f"{100 * z2 / (13 + z2):.0f}%" == "23%"
    # the rule of three gives about the same bound: 3/13 = 23%
    assert f"{100 * 3 / 13:.0f}%" == view.value("neuro_high")
    # Clopper-Pearson: 1 - (alpha/2)^(1/n); at 90% 1 - 0.05^(1/13) = 20.6%
    other = safety.build(package, {"confidence_level": 0.9, "ci_method": "clopper-pearson"})
    assert other.value("neuro_high") == f"{100 * (1 - 0.05 ** (1 / 13)):.0f}%" == "21%"
    assert (other.value("level"), other.value("ci_method_name")) == ("90%", "Clopper-Pearson")


def test_common_side_effects_are_counted_among_completers_and_bounded_among_all(view):
    # "Dry mouth (7/8), constipation (7/8), and dizziness (6/8)"; daytime drowsiness 3/8; 13 enrolled
    assert [view.value(f"wei_{e}_k") for e in ("dry_mouth", "constipation", "dizziness", "drowsy")] == [7, 7, 6, 3]
    assert (view.value("wei_common_n"), view.value("wei_enrolled"), view.value("wei_completer_gap")) == (8, 13, 5)
    # the 5 who left may all or none have had dry mouth: 7 to 7 + 5 of 13
    assert (view.value("wei_dry_mouth_low"), view.value("wei_dry_mouth_high")) == (7, 12)


def test_withdrawals_from_the_as_study_step_by_step(view):
    # results: 2 severe drug eruptions after 2 weeks, 1 more "1 week later", 2 lost after 8 weeks
    steps = [(view.value(f"as_{n}_k"), view.value(f"as_{n}_when")) for n in ("first", "second", "third")]
    assert steps == [(2, "week 2"), (1, "'1 week later' (read as week 3)"), (2, "week 8")]
    assert (view.value("as_enrolled"), view.value("as_left"), view.value("as_completed")) == (13, 2 + 1 + 2, 8)
    assert view.value("as_remaining") == 13 - (2 + 1 + 2)
    assert view.value("wei_wd_k") == 2 + 1  # the two adverse-event steps
    low, high = proportion_confint(3, 13, alpha=0.05, method="wilson")
    assert (view.value("wei_wd_low"), view.value("wei_wd_high")) == (f"{100 * low:.1f}%", f"{100 * high:.1f}%")
    # severe: 2 drug eruptions, 1 dizziness and drowsiness, 2 drowsiness under the twice-daily regimen
    assert (view.value("n_severe_rows"), view.value("n_severe_patients")) == (3, 2 + 1 + 2)


def test_the_withdrawals_table_shows_each_study_beside_its_dose(view):
    table = view.tables["tbl-safety-withdrawals"]
    assert "95% Wilson intervals" in table
    for shown in ("5/47", "3/13", "32/232", "(context only)", "50–100 mg/day"):
        assert shown in table, shown


def test_an_interval_parameter_changes_intervals_not_counts(package, view):
    other = safety.build(package, {"confidence_level": 0.9, "ci_method": "clopper-pearson"})
    assert other.value("he_ae_low") != view.value("he_ae_low")
    assert other.value("he_ae_k") == view.value("he_ae_k") and other.value("he_ae_pct") == view.value("he_ae_pct")
    plt.close("all")


def test_a_confidence_level_of_one_is_refused(package):
    with pytest.raises(InputError, match="confidence_level"):
        safety.build(package, {"confidence_level": 1, "ci_method": "wilson"})


def test_neuropathy_is_also_given_over_the_patients_exposed_for_the_whole_study(view):
    from statsmodels.stats.proportion import proportion_confint

    # 13 enrolled, 5 left (2 at week 2, 1 at week 3, 2 at week 8): 8 took thalidomide for 24 weeks
    assert (view.value("neuro_n"), view.value("neuro_whole_n"), view.value("neuro_short_n")) == (13, 8, 5)
    assert view.value("neuro_left_weeks") == "2, 3 or 8"
    high = proportion_confint(0, 8, alpha=0.05, method="wilson")[1]
    assert view.value("neuro_whole_high") == f"{100 * high:.0f}%"
