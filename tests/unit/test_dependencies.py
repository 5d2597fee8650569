"""The dependency set: declared, locked twice consistently, installed without conflict.

``pyproject.toml`` declares what the package imports (runtime) and what the
tests import (the ``test`` extra); ``requirements.txt`` and
``requirements-dev.txt`` lock them with pip-tools.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.conftest import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def pins(path: Path) -> dict[str, str]:
    return {name.lower().replace("_", "-"): version for name, version in
            re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", path.read_text(encoding="utf-8"), re.M)}


def declared(requirements: list[str]) -> set[str]:
    return {re.match(r"[A-Za-z0-9_.-]+", r).group().lower().replace("_", "-") for r in requirements}


def third_party_imports(folder: Path) -> set[str]:
    """Top-level modules imported anywhere under ``folder`` that are neither stdlib nor the project's own."""
    found = set()
    for path in folder.rglob("*.py"):
        if "results" in path.relative_to(folder).parts:  # benchmarks/results: copies a benchmark run made
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module.split(".")[0])
    return {m for m in found if m not in sys.stdlib_module_names and m not in ("thalbook", "tests", "__future__")}


def distributions(modules: set[str]) -> set[str]:
    owners = importlib.metadata.packages_distributions()
    missing = sorted(m for m in modules if m not in owners)
    assert not missing, f"imported but not installed: {missing}"
    return {owners[m][0].lower().replace("_", "-") for m in modules}


def test_pip_finds_no_broken_requirement():
    proc = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_package_the_code_imports_is_declared():
    runtime = declared(PYPROJECT["project"]["dependencies"])
    assert distributions(third_party_imports(ROOT / "src")) <= runtime
    tests = declared(PYPROJECT["project"]["optional-dependencies"]["test"])
    used = distributions(third_party_imports(ROOT / "tests") | third_party_imports(ROOT / "benchmarks"))
    assert used <= runtime | tests, sorted(used - runtime - tests)


def test_the_two_locks_agree_and_the_runtime_lock_holds_no_test_tool():
    runtime, dev = pins(ROOT / "requirements.txt"), pins(ROOT / "requirements-dev.txt")
    assert {k: dev.get(k) for k in runtime} == runtime
    for tool in ("pytest", "playwright", "ruff", "hypothesis", "pip-tools", "axe-playwright-python"):
        assert tool not in runtime and tool in dev, tool
    assert "cffconvert" not in dev


@pytest.mark.parametrize("name", ["jupyterlab", "notebook", "jsonschema"])
def test_the_jupyter_stack_is_current(name):
    major = int(pins(ROOT / "requirements.txt")[name].split(".")[0])
    assert major >= {"jupyterlab": 4, "notebook": 7, "jsonschema": 4}[name]
    assert importlib.metadata.version(name) == pins(ROOT / "requirements.txt")[name]


def test_frictionless_loads_every_resource_of_the_data_package_as_a_data_frame():
    import frictionless

    package = frictionless.Package(str(ROOT / "data" / "datapackage.json"))
    frames = {r.name: r.to_pandas() for r in package.resources}
    assert len(frames) == len(package.resources) >= 10
    assert all(len(frame) > 0 for frame in frames.values())
