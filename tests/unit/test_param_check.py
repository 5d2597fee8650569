"""One parameter check, whoever asks: a chapter and ``thalbook`` refuse a value in the same words.

A chapter's ``build`` (what its notebook calls with the values papermill
injected) and ``thalbook``'s parameter files and ``--set`` all go through
:func:`thalbook.core.parameters.parse`; the build only puts where the value came
from before the message.
"""

from __future__ import annotations

import dataclasses
import importlib
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from tests.conftest import chapter_defaults
from thalbook.chapters import crohns_results, view
from thalbook.core import parameters, vocabulary
from thalbook.core.errors import InputError, ParameterError
from thalbook.core.vocabulary import SCHEMA
from thalbook.press import params

#: A valid call of a chapter declaring every parameter but ``rounding``.
CHAPTER_DEFAULTS = chapter_defaults("crohns_results")

#: (name, the value as code or papermill passes it, the same value as YAML text, the message).
REFUSED = [
    pytest.param("confidence_level", float("nan"), ".nan", "confidence_level: nan is not a finite number", id="nan"),
    pytest.param("confidence_level", float("inf"), ".inf", "confidence_level: inf is not a finite number", id="+inf"),
    pytest.param("confidence_level", float("-inf"), "-.inf", "confidence_level: -inf is not a finite number",
                 id="-inf"),
    pytest.param("confidence_level", True, "true", "confidence_level: True is not of type 'number'", id="bool"),
    pytest.param("confidence_level", "0.9", "'0.9'", "confidence_level: '0.9' is not of type 'number'", id="text"),
    pytest.param("confidence_level", 0.3, "0.3", "confidence_level: 0.3 is less than the minimum of 0.5",
                 id="below-range"),
    pytest.param("confidence_level", 1, "1", "confidence_level: 1 is greater than or equal to the maximum of 1",
                 id="at-maximum"),
    pytest.param("ci_method", "wald", "wald",
                 "ci_method: 'wald' is not one of ['wilson', 'clopper-pearson', 'jeffreys', 'agresti-coull']",
                 id="unknown-choice"),
]

UNKNOWN = "alpha: unknown parameter (known: confidence_level, ci_method, analysis_set, rounding)"


@pytest.mark.parametrize("name, value, yaml_text, message", REFUSED)
def test_a_chapter_and_thalbook_refuse_a_value_in_the_same_words(package, tmp_path: Path, name, value, yaml_text,
                                                                 message):
    with pytest.raises(ParameterError) as chapter:
        crohns_results.build(package, {**CHAPTER_DEFAULTS, name: value})
    with pytest.raises(ParameterError) as override:
        params.resolve(overrides=[f"{name}={yaml_text}"])
    bad = tmp_path / "bad.yml"
    bad.write_text(f"{name}: {yaml_text}\n")
    with pytest.raises(ParameterError) as from_file:
        params.resolve(bad)
    assert str(chapter.value) == message
    assert str(override.value) == f"--set {message}"
    assert str(from_file.value) == f"{bad}: {message}"
    # the command line's exit code 2 and one line, wherever the value came from
    assert isinstance(chapter.value, InputError) and chapter.value.exit_code == 2


@pytest.mark.parametrize("name, value, yaml_text, message", REFUSED)
def test_a_whole_set_passed_to_the_library_is_refused_in_the_same_words(name, value, yaml_text, message):
    with pytest.raises(ValueError) as err:
        params.check_set({**params.resolve(), name: value})
    assert str(err.value) == f"params: {message}"


def test_an_unknown_name_is_refused_in_the_same_words():
    with pytest.raises(ParameterError) as chapter:
        view.check_values({"confidence_level": 0.9, "alpha": 0.05})
    with pytest.raises(ParameterError) as override:
        params.resolve(overrides=["alpha=0.05"])
    assert str(chapter.value) == UNKNOWN
    assert str(override.value) == f"--set {UNKNOWN}"


def test_a_whole_set_with_an_unknown_name_is_refused():
    whole = {**params.resolve(), "alpha": 0.05}
    with pytest.raises(ParameterError, match=f"^{UNKNOWN.replace('(', '[(]').replace(')', '[)]')}$"):
        parameters.parse(whole)
    with pytest.raises(ValueError, match="^params: alpha: unknown parameter"):
        params.check_set(whole)


def test_a_chapter_still_refuses_a_name_its_code_should_not_pass(package):
    # an unexpected name is the calling code's mistake, not the user's: a TypeError, before any value is judged
    with pytest.raises(TypeError, match=r"unexpected \['rounding'\]"):
        crohns_results.build(package, {**CHAPTER_DEFAULTS, "rounding": "half-up"})


@pytest.mark.parametrize("value", [np.float64("nan"), np.float32("nan"), np.float64("-inf"), np.float16("inf")],
                         ids=repr)
def test_numpy_floats_that_are_not_finite_are_refused(value):
    with pytest.raises(ParameterError, match="^confidence_level: .* is not a finite number$"):
        view.check_values({"confidence_level": value})


@pytest.mark.parametrize("value", [np.float64(0.9), np.float32(0.75), 0.5, 0.999999])
def test_finite_numbers_in_range_pass(value):
    view.check_values({"confidence_level": value})


@pytest.mark.parametrize("value, message", [
    (complex(0.9, 0), "confidence_level: (0.9+0j) is not a real number"),
    (10**5000, "confidence_level: an integer of 5001 digits is too large"),
    ("x" * 10_000, "confidence_level: 'xxxxxxxxxxxxxxxxx...xxxxxxxxxxxxxxxxxx' is not of type 'number'"),
], ids=["complex", "huge-int", "long-text"])
def test_odd_values_from_code_are_refused_in_one_short_line(value, message):
    with pytest.raises(ParameterError) as err:
        parameters.parse({"confidence_level": value})
    assert str(err.value) == message


def chapters_declaring(name: str) -> list[str]:
    found = []
    for module in ("appraisal", "as_results", "audit", "background", "citing", "crohns_results",
                   "data_provenance", "methods", "safety"):
        if name in importlib.import_module(f"thalbook.chapters.{module}").PARAMETERS:
            found.append(module)
    return found


@pytest.mark.parametrize("chapter", chapters_declaring("confidence_level"))
def test_every_chapter_declaring_the_level_refuses_nan_as_thalbook_does(package, chapter):
    module = importlib.import_module(f"thalbook.chapters.{chapter}")
    defaults = {name: params.resolve()[name] for name in module.PARAMETERS}
    with pytest.raises(ParameterError) as err:
        module.build(package, {**defaults, "confidence_level": float("nan")})
    assert str(err.value) == "confidence_level: nan is not a finite number"


def test_the_default_set_passes_and_names_every_parameter():
    defaults = params.resolve()
    parameters.parse(defaults)
    assert set(defaults) == set(SCHEMA["properties"])


# --------------------------------------------------------------------------- a notebook run by papermill

#: The input history (``In``) of a kernel papermill runs a chapter in, when the chapter's cell calls ``build``.
PARAMETERS_CELL = 'confidence_level: float = 0.95  # a number\nci_method: str = "wilson"\nanalysis_set: str = "itt"'
CHAPTER_CELL = "from thalbook.chapters import crohns_results\nview = crohns_results.build(data.load(), {...})"


def kernel(*cells: str, **namespace):
    """A stand-in for a Jupyter kernel's shell that ran ``cells`` (the last is the current one)."""
    ns = {**CHAPTER_DEFAULTS, **namespace, "In": ["", *cells]}
    return SimpleNamespace(kernel=object(), user_ns=ns, user_global_ns=ns)


def test_the_names_given_are_those_the_parameters_and_injected_cells_assign():
    injected = "# Parameters\nci_methd = \"jeffreys\"\nconfidence_level = float('nan')\n"
    assert view.given_names(kernel(PARAMETERS_CELL, injected, CHAPTER_CELL)) == [
        "confidence_level", "ci_method", "analysis_set", "ci_methd", "confidence_level"]
    # JupyterLab: the parameters cell alone before the chapter's
    assert view.given_names(kernel(PARAMETERS_CELL, CHAPTER_CELL)) == ["confidence_level", "ci_method", "analysis_set"]
    # once a person has run anything else, a name no longer tells a parameter from their variable
    for other in ("import numpy as np", 'view.show("tbl-crohns-counts")', "a, b = 1, 2", "x.y = 1", "x = ("):
        assert view.given_names(kernel(PARAMETERS_CELL, other, CHAPTER_CELL)) == [], other


def refusal(package, monkeypatch, injected: str, **namespace) -> view.ParameterError:
    monkeypatch.setattr(view, "_kernel", lambda: kernel(PARAMETERS_CELL, injected, CHAPTER_CELL, **namespace))
    with pytest.raises(view.ParameterError) as err:
        crohns_results.build(package, CHAPTER_DEFAULTS)
    return err.value


def test_in_a_kernel_a_misspelt_name_is_refused_in_thalbooks_words_in_one_line(package, monkeypatch):
    err = refusal(package, monkeypatch, 'ci_methd = "jeffreys"', ci_methd="jeffreys")
    with pytest.raises(ParameterError) as override:
        params.resolve(overrides=["ci_methd=jeffreys"])
    assert f"--set {err}" == str(override.value)
    assert err._render_traceback_() == [f"ParameterError: {err}"]
    assert isinstance(err, InputError) and err.exit_code == 2


def test_in_a_kernel_an_invalid_value_given_is_refused_in_thalbooks_words(package, monkeypatch):
    err = refusal(package, monkeypatch, "confidence_level = 2", confidence_level=2)
    assert str(err) == "confidence_level: 2 is greater than or equal to the maximum of 1"


def test_in_a_kernel_a_parameter_the_chapter_does_not_take_is_refused(package, monkeypatch):
    err = refusal(package, monkeypatch, 'rounding = "truncation"', rounding="truncation")
    assert str(err) == ("rounding: not a parameter of chapter crohns_results "
                        "(its parameters: confidence_level, ci_method, analysis_set)")


def test_in_a_kernel_papermills_own_paths_are_let_through(package, monkeypatch):
    injected = 'PAPERMILL_INPUT_PATH = "in.ipynb"\nPAPERMILL_OUTPUT_PATH = "out.ipynb"'
    monkeypatch.setattr(view, "_kernel", lambda: kernel(PARAMETERS_CELL, injected, CHAPTER_CELL,
                                                        PAPERMILL_INPUT_PATH="in.ipynb",
                                                        PAPERMILL_OUTPUT_PATH="out.ipynb"))
    view.check_names("crohns_results", CHAPTER_DEFAULTS, crohns_results.PARAMETERS)


def test_outside_a_kernel_the_core_error_itself_is_raised():
    with pytest.raises(ParameterError) as err:
        view.check_values({"confidence_level": 2})
    assert type(err.value) is ParameterError


# --------------------------------------------------------------------------- the parameters object


def _from_command_line(items: list[str]) -> parameters.Parameters:
    """What ``thalbook build --set ...`` checks, through the functions it parses them with."""
    return parameters.parse(params.resolve(overrides=items))


def _from_file(tmp_path: Path, text: str) -> parameters.Parameters:
    path = tmp_path / "chosen.yml"
    path.write_text(text, encoding="utf-8")
    return parameters.parse(params.resolve(path))


def test_the_command_line_a_file_and_a_chapter_give_the_same_parameters(tmp_path: Path):
    chosen = {"confidence_level": 0.9, "ci_method": "jeffreys", "analysis_set": "complete-case",
              "rounding": "truncation"}
    expected = parameters.Parameters(0.9, vocabulary.CiMethod.JEFFREYS, vocabulary.AnalysisSet.COMPLETE_CASE,
                                     vocabulary.Rounding.TRUNCATION)
    from_set = _from_command_line([f"{name}={value}" for name, value in chosen.items()])
    from_file = _from_file(tmp_path, "".join(f"{name}: {value}\n" for name, value in chosen.items()))
    from_chapter = view.check_values(chosen)
    assert from_set == from_file == from_chapter == expected
    assert type(from_chapter.rounding) is vocabulary.Rounding and from_chapter.rounding == "truncation"


def test_a_bad_value_is_refused_in_one_text_from_the_command_line_a_file_and_a_chapter(tmp_path: Path):
    message = "rounding: 'up' is not one of ['half-up', 'half-even', 'truncation']"
    with pytest.raises(ParameterError) as from_set:
        _from_command_line(["rounding=up"])
    path = tmp_path / "chosen.yml"
    with pytest.raises(ParameterError) as from_file:
        _from_file(tmp_path, "rounding: up\n")
    with pytest.raises(ParameterError) as from_chapter:
        view.check_values({"rounding": "up"})
    # the build puts where the value came from first; what follows is the one text
    texts = [str(from_set.value).removeprefix("--set "), str(from_file.value).removeprefix(f"{path}: "),
             str(from_chapter.value)]
    assert texts == [message] * 3


def test_thalbook_audit_refuses_a_rounding_in_the_same_text(capsys):
    from thalbook.press import cli

    assert cli.main(["audit", "--rounding", "up"]) == 2
    assert capsys.readouterr().err == (
        "thalbook: error: rounding: 'up' is not one of ['half-up', 'half-even', 'truncation']\n")


def test_every_value_has_its_wording_and_the_schema_lists_the_members():
    statsmodels = {"wilson", "beta", "jeffreys", "agresti_coull"}  # proportion_confint's method names
    assert {m.statsmodels for m in vocabulary.CiMethod} <= statsmodels
    for choice in (vocabulary.CiMethod, vocabulary.AnalysisSet, vocabulary.BoundingSet, vocabulary.Rounding):
        for member in choice:
            assert member.label and member.label != member.value, member
    for name, option in vocabulary.OPTIONS.items():
        assert option.description and option.effect, name
        if option.choices:
            assert SCHEMA["properties"][name] == {"enum": [m.value for m in option.type]}
            assert option.default in option.type
    assert list(SCHEMA["properties"]) == list(vocabulary.OPTIONS) == [
        f.name for f in dataclasses.fields(parameters.Parameters)]


def test_the_defaults_of_the_records_are_those_of_the_default_file():
    assert parameters.parse(params.resolve()) == parameters.Parameters()
