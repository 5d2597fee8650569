"""How the package finds the project it works on: ``--project``, ``$THALBOOK_PROJECT``, or upward from the working
directory (:mod:`thalbook.core.paths`), never from where the package itself is installed.

The layouts are throw-away projects in ``tmp_path`` holding the markers, each
with a default parameter set of its own, so that ``thalbook params`` tells
which project it read. Runs that need no project chosen in the test process
(the suite chooses this one, ``tests/conftest.py``) are subprocesses.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT
from thalbook.core import paths
from thalbook.core.errors import InputError
from thalbook.press import cli, execute


def _project(directory: Path, confidence_level: float) -> Path:
    """A project at ``directory``: the markers, with a default parameter set telling it apart."""
    (directory / "params").mkdir(parents=True)
    for name in ("_config.yml", "_toc.yml"):
        (directory / name).write_text((ROOT / name).read_text(encoding="utf-8"), encoding="utf-8")
    values = yaml.safe_load((ROOT / "params" / "default.yml").read_text(encoding="utf-8"))
    (directory / "params" / "default.yml").write_text(yaml.safe_dump({**values, "confidence_level": confidence_level}))
    (directory / "chapters" / "deeper").mkdir(parents=True)
    return directory


@pytest.fixture
def two(tmp_path) -> tuple[Path, Path]:
    """Project ``a`` (confidence level 0.8) and project ``b`` (0.9), side by side."""
    return _project(tmp_path / "a", 0.8), _project(tmp_path / "b", 0.9)


def _thalbook(*args: str, cwd: Path, project_env: Path | None = None) -> subprocess.CompletedProcess:
    """``thalbook`` run in ``cwd``, with ``$THALBOOK_PROJECT`` set only when given."""
    env = {k: v for k, v in os.environ.items() if k not in (paths.PROJECT_ENV, paths.DATA_DIR_ENV)}
    env["PYTHONPATH"] = str(paths.PACKAGE.parent)
    if project_env is not None:
        env[paths.PROJECT_ENV] = str(project_env)
    return subprocess.run([sys.executable, "-m", "thalbook.press.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def _confidence(proc: subprocess.CompletedProcess) -> float:
    assert proc.returncode == 0, proc.stderr
    return yaml.safe_load(proc.stdout)["confidence_level"]


def test_the_search_finds_the_nearest_project_from_any_directory_inside_it(two):
    a, _ = two
    assert paths.find_project(a) == a
    assert paths.find_project(a / "chapters" / "deeper") == a
    inner = _project(a / "chapters" / "deeper" / "inner", 0.7)
    assert paths.find_project(inner / "chapters") == inner


def test_a_chapter_run_alone_finds_its_project_from_its_working_directory():
    # papermill and JupyterLab run a chapter in chapters/
    assert paths.find_project(ROOT / "chapters") == ROOT


def test_a_directory_with_only_jupyter_books_files_is_no_project(two):
    # as a build's stage (_book/stage) holds them: the search passes it by
    a, _ = two
    stage = a / "_book" / "stage"
    stage.mkdir(parents=True)
    for name in ("_config.yml", "_toc.yml"):
        (stage / name).write_text("")
    assert paths.find_project(stage) == a


def test_no_project_is_one_line_naming_where_it_looked_and_the_option(tmp_path):
    with pytest.raises(InputError) as raised:
        paths.find_project(tmp_path)
    message = str(raised.value)
    assert "\n" not in message
    assert f"no thalbook project in {tmp_path} " in message
    assert "--project DIR" in message


def test_the_command_outside_a_project_exits_2_with_that_line(tmp_path):
    proc = _thalbook("check-data", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.startswith(f"thalbook: error: no thalbook project in {tmp_path} ")
    assert proc.stderr.count("\n") == 1 and "--project DIR" in proc.stderr and "Traceback" not in proc.stderr


def test_the_command_finds_the_project_from_a_subdirectory(two):
    a, _ = two
    assert _confidence(_thalbook("params", cwd=a / "chapters" / "deeper")) == 0.8


def test_the_option_wins_over_the_environment_and_the_search(two):
    a, b = two
    assert _confidence(_thalbook("--project", str(b), "params", cwd=a, project_env=a)) == 0.9
    assert _confidence(_thalbook("params", "--project", str(b), cwd=a)) == 0.9  # after the verb too


def test_the_environment_wins_over_the_search(two):
    a, b = two
    assert _confidence(_thalbook("params", cwd=a, project_env=b)) == 0.9


def test_the_option_wins_in_process_and_is_put_back(two, capsys, monkeypatch):
    a, b = two
    monkeypatch.chdir(a)
    monkeypatch.setenv(paths.PROJECT_ENV, str(a))
    assert cli.main(["--project", str(b), "params"]) == 0
    assert yaml.safe_load(capsys.readouterr().out)["confidence_level"] == 0.9
    assert paths.project().root == ROOT  # the suite's choice again


def test_an_option_or_environment_naming_no_project_is_one_line(tmp_path):
    proc = _thalbook("--project", str(tmp_path), "params", cwd=ROOT)
    assert (proc.returncode, proc.stderr) == (2, f"thalbook: error: --project {tmp_path}: not a thalbook project "
                                                 "(no _config.yml)\n")
    proc = _thalbook("params", cwd=ROOT, project_env=tmp_path / "gone")
    assert (proc.returncode, proc.stderr) == (2, f"thalbook: error: {paths.PROJECT_ENV}={tmp_path / 'gone'}: "
                                                 "no such directory\n")


def test_the_build_names_its_project_to_every_kernel(two, tmp_path):
    _, b = two
    with paths.use_project(b):
        env = execute.kernel_environment(tmp_path)
    assert env[paths.PROJECT_ENV] == str(b)
    assert env[paths.DATA_DIR_ENV] == str(tmp_path)

