"""Parameter validation: every parameter, every way it can be wrong."""

from pathlib import Path

import pytest
import yaml

from thalbook import params, paths
from thalbook.errors import ParameterError


def test_defaults_file_is_complete_and_valid():
    values = params.resolve()
    assert set(values) == set(params.SCHEMA["properties"])
    assert values == {"analysis_set": "itt", "ci_method": "wilson", "confidence_level": 0.95, "rounding": "half-up"}


@pytest.mark.parametrize(
    "override, culprit",
    [
        ("confidence_level=high", "confidence_level"),  # wrong type
        ("confidence_level=true", "confidence_level"),  # a boolean is not a number
        ("confidence_level=1", "confidence_level"),  # out of range (above)
        ("confidence_level=1.5", "confidence_level"),
        ("confidence_level=0.3", "confidence_level"),  # out of range (below)
        ("ci_method=wald", "ci_method"),  # unknown value
        ("ci_method=3", "ci_method"),  # wrong type
        ("analysis_set=per-protocol", "analysis_set"),
        ("analysis_set=[itt]", "analysis_set"),
        ("rounding=up", "rounding"),
        ("alpha=0.05", "alpha"),  # unknown parameter
        ("no-equals-sign", "no-equals-sign"),
    ],
)
def test_bad_override_names_the_parameter(override, culprit):
    with pytest.raises(ParameterError) as err:
        params.resolve(overrides=[override])
    message = str(err.value)
    assert culprit in message
    assert "\n" not in message


@pytest.mark.parametrize(
    "content, culprit",
    [
        ("confidence_level: [0.9\n", "malformed YAML"),
        ("- a\n- list\n", "expected a mapping"),
        ("ci_method: jeffreys\nbogus: 1\n", "bogus"),
        ("confidence_level: '0.9'\n", "confidence_level"),
        ("analysis_set: completers\n", "analysis_set"),
    ],
)
def test_bad_parameter_file_names_file_and_culprit(tmp_path: Path, content, culprit):
    bad = tmp_path / "bad.yml"
    bad.write_text(content)
    with pytest.raises(ParameterError) as err:
        params.resolve(bad)
    assert str(bad) in str(err.value) and culprit in str(err.value)


def test_missing_and_non_utf8_files(tmp_path: Path):
    with pytest.raises(ParameterError, match="not found"):
        params.resolve(tmp_path / "absent.yml")
    latin = tmp_path / "latin.yml"
    latin.write_bytes("ci_method: 'wilsón'\n".encode("latin-1"))
    with pytest.raises(ParameterError, match="latin.yml"):
        params.resolve(latin)


def test_file_then_overrides_take_precedence(tmp_path: Path):
    f = tmp_path / "p.yml"
    f.write_text("ci_method: jeffreys\nconfidence_level: 0.8\n")
    values = params.resolve(f, ["confidence_level=0.9"])
    assert values["ci_method"] == "jeffreys" and values["confidence_level"] == 0.9


def test_named_parameter_sets_are_valid():
    for path in sorted(paths.PARAMS.glob("*.yml")):
        params.resolve(path)


def test_chapter_parameter_cells_declare_known_parameters_with_the_default_values():
    import papermill

    defaults = yaml.safe_load(paths.DEFAULT_PARAMS.read_text())
    for nb in sorted(paths.CHAPTERS.glob("*.ipynb")):
        declared = papermill.inspect_notebook(str(nb))
        for name, info in declared.items():
            assert name in params.SCHEMA["properties"], f"{nb.name} declares unknown {name}"
            assert yaml.safe_load(info["default"]) == defaults[name], f"{nb.name}: default of {name}"
