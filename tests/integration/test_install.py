"""``pip install .`` (not editable) gives a ``thalbook`` that works on the project it is run in.

The package is installed, from a copy of what its wheel is built from, into a
throw-away virtual environment in ``tmp_path``, without the network:
``python -m venv --without-pip`` makes the environment, and a ``.pth`` file in
its site-packages names the site-packages of the environment running the
tests, so that pip, setuptools and every dependency are found there, after
the environment's own site-packages, where pip then installs ``thalbook``
(``--no-deps --no-build-isolation --no-index``). ``--system-site-packages``
would not do: it shows the base interpreter's packages, not this
environment's. The checkout's editable install cannot leak in: it is a
``.pth`` file in this environment's site-packages, and Python reads the
``.pth`` files of its own site directories only, not those of a directory a
``.pth`` line adds; pip leaves it alone too ("outside environment"), which
the fixture checks. The tests then run the throw-away environment's
``thalbook`` with no ``PYTHONPATH``, and check that it imports the package
installed there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT
from thalbook.core import paths
from thalbook.core.computed import files_digest

pytestmark = pytest.mark.slow

#: What the wheel is built from (pyproject.toml names the readme and the licence).
WHEEL_SOURCES = ("pyproject.toml", "README.md", "LICENSE", "src")
#: A project without the package's source: the book's files only.
BOOK_SOURCES = ("_config.yml", "_toc.yml", "intro.md", "references.bib", "CITATION.cff", "requirements.txt",
                "chapters", "data", "params")
#: Nothing of the caller's may point the installed command at a package or a project.
SCRUBBED = ("PYTHONPATH", "PYTHONHOME", paths.PROJECT_ENV, paths.DATA_DIR_ENV, paths.VALIDATED_ENV)


def _copy(names: tuple[str, ...], dest: Path) -> Path:
    dest.mkdir(parents=True)
    for name in names:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(ROOT / name, dest / name)
    return dest


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in SCRUBBED and not k.startswith("PIP_")}


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    """A throw-away virtual environment with ``thalbook`` installed in it, not editable (module docstring)."""
    tmp = tmp_path_factory.mktemp("install")
    source = _copy(WHEEL_SOURCES, tmp / "source")  # pip builds in the source tree: a copy, not the checkout
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          env=_env(), capture_output=True, text=True, check=True).stdout.strip()
    ours = sorted({sysconfig.get_path("purelib"), sysconfig.get_path("platlib")})
    Path(site, "project-venv.pth").write_text("\n".join(ours) + "\n", encoding="utf-8")
    before = {name: sorted(os.listdir(name)) for name in ours}
    proc = subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index",
                           "--disable-pip-version-check", "--quiet", str(source)],
                          env=_env(), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert {name: sorted(os.listdir(name)) for name in ours} == before  # this environment is left as it was
    return venv


def _run(venv: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(venv / "bin" / args[0]), *args[1:]], cwd=cwd, env=_env(),
                          capture_output=True, text=True, timeout=900)


def test_the_command_imports_the_installed_package(venv):
    proc = _run(venv, "python", "-c", "import thalbook, sys; print(thalbook.__file__); print(sys.path)", cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    where, path = proc.stdout.splitlines()
    assert Path(where).is_relative_to(venv), where
    assert str(ROOT / "src") not in path


@pytest.mark.parametrize("where", ["the project", "elsewhere, with --project"])
def test_check_data_and_audit_work_installed(venv, where, tmp_path):
    cwd, option = (ROOT, ()) if where == "the project" else (tmp_path, ("--project", str(ROOT)))
    proc = _run(venv, "thalbook", *option, "check-data", cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"{ROOT / 'data'}: data package is valid\n"
    proc = _run(venv, "thalbook", *option, "audit", "--findings", cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    assert " findings: " in proc.stdout.splitlines()[0]


def test_outside_a_project_the_installed_command_says_so_in_one_line(venv, tmp_path):
    proc = _run(venv, "thalbook", "check-data", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"thalbook: error: no thalbook project in {tmp_path} ")
    assert proc.stderr.count("\n") == 1 and "--project DIR" in proc.stderr


def test_the_installed_package_is_the_whole_package(venv):
    # Every file of src/thalbook is installed (the Sphinx templates and style sheet, the schemas): the
    # chapters' cache key hashes the package, so an installed package keys chapters as a checkout does.
    installed = next((venv / "lib").glob("python*/site-packages/thalbook"))
    assert files_digest(installed) == files_digest(venv.parent / "source" / "src" / "thalbook")


def test_a_chapter_runs_in_a_kernel_of_the_installed_package(venv, tmp_path):
    # A project of the book's files only, whose table of contents lists one chapter: the kernel can only
    # import the installed package, and finds the project the build names to it.
    project = _copy(BOOK_SOURCES, tmp_path / "project")
    toc = yaml.safe_load((project / "_toc.yml").read_text(encoding="utf-8"))
    toc["parts"] = [{**toc["parts"][0], "chapters": [{"file": "chapters/background"}]}]
    (project / "_toc.yml").write_text(yaml.safe_dump(toc, sort_keys=False), encoding="utf-8")
    proc = _run(venv, "thalbook", "run", "--out", str(tmp_path / "book"), cwd=project / "chapters")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"{tmp_path / 'book' / 'executed'}\n"
    assert "executed  background" in proc.stderr
    assert [p.name for p in (tmp_path / "book" / "executed").iterdir()] == ["background.ipynb"]
