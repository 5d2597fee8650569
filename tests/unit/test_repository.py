"""One repository URL and what follows it: CITATION.cff, .zenodo.json, the book's buttons and Binder.

``repository.url`` in ``_config.yml`` (Jupyter Book reads it for its repository,
issue and launch buttons) is the one place the URL is written: ``make metadata``
(``thalbook metadata``) writes it into ``CITATION.cff`` and ``.zenodo.json``, and
these tests fail while either disagrees. ``binder/`` is what Binder (repo2docker)
builds the launch buttons' environment from: the project's own runtime lock and
this package, on the Python the lock was made for.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, copy_project, thalbook
from thalbook import __version__
from thalbook.core.errors import InputError
from thalbook.core.evidence import citation
from thalbook.press import cli, stage

#: Where the repository is to be hosted (README, "How to cite").
URL = "https://github.com/thalbook/thalidomide-reanalysis"
BINDER = ROOT / "binder"
#: The relations Zenodo's deposit metadata takes for a related identifier (developers.zenodo.org).
ZENODO_RELATIONS = {
    "isCitedBy", "cites", "isSupplementTo", "isSupplementedBy", "isContinuedBy", "continues", "isDescribedBy",
    "describes", "hasMetadata", "isMetadataFor", "isNewVersionOf", "isPreviousVersionOf", "isPartOf", "hasPart",
    "isReferencedBy", "references", "isDocumentedBy", "documents", "isCompiledBy", "compiles", "isVariantFormOf",
    "isOriginalFormof", "isIdenticalTo", "isAlternateIdentifier", "isReviewedBy", "reviews", "isDerivedFrom",
    "isSourceOf", "requires", "isRequiredBy", "isObsoletedBy", "obsoletes",
}


def book_config(root: Path = ROOT) -> dict:
    return yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))


def metadata_project(tmp_path: Path, url: str | None = None) -> Path:
    """The three files the setting concerns, in ``tmp_path``; ``url`` replaces the repository URL."""
    for name in ("_config.yml", "CITATION.cff", ".zenodo.json"):
        shutil.copy2(ROOT / name, tmp_path / name)
    if url is not None:
        config = tmp_path / "_config.yml"
        config.write_text(config.read_text(encoding="utf-8").replace(f"url: {URL}\n", f"url: {url}\n"),
                          encoding="utf-8")
        assert cli.repository_url(tmp_path) == url
    return tmp_path


# --------------------------------------------------------------------------- the one setting


def test_the_repository_url_is_written_once_in_the_book_config():
    assert cli.repository_url(ROOT) == URL
    # README says where the repository is to be hosted, and that this is the one place to change it
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    how_to_cite = readme[readme.index("## How to cite"):]
    assert URL in how_to_cite and "`repository.url`" in how_to_cite and "_config.yml" in how_to_cite


def test_citation_cff_and_zenodo_json_agree_with_it():
    for name, text in cli.repository_files(ROOT).items():
        assert (ROOT / name).read_text(encoding="utf-8") == text, \
            f"{name} disagrees with repository.url in _config.yml: run `make metadata`"
    assert citation.load_cff(ROOT / "CITATION.cff")["repository-code"] == URL
    zenodo = json.loads((ROOT / ".zenodo.json").read_text(encoding="utf-8"))
    related = zenodo["related_identifiers"]
    # the code of this version, as Zenodo's GitHub integration links a release's tag
    assert [r for r in related if r["relation"] == "isSupplementTo"] == [
        {"identifier": f"{URL}/tree/v{__version__}", "relation": "isSupplementTo", "scheme": "url",
         "resource_type": "software"}]
    assert {r["relation"] for r in related} <= ZENODO_RELATIONS


def test_the_metadata_command_checks_on_the_project(capsys):
    assert cli.main(["metadata", "--check"]) == 0
    assert "agree with repository.url" in capsys.readouterr().out


def test_a_changed_url_is_written_into_both_files_and_nothing_else(tmp_path):
    fork = "https://github.com/someone/thalidomide-fork"
    project = metadata_project(tmp_path, fork)
    before = {name: (project / name).read_text(encoding="utf-8") for name in ("CITATION.cff", ".zenodo.json")}
    files = cli.repository_files(project)
    # CITATION.cff: that one line, the rest (comments included) as it was; still valid
    pairs = zip(before["CITATION.cff"].splitlines(), files["CITATION.cff"].splitlines(), strict=True)
    changed = [(a, b) for a, b in pairs if a != b]
    assert changed == [(f'repository-code: "{URL}"', f'repository-code: "{fork}"')]
    (project / "CITATION.cff").write_text(files["CITATION.cff"], encoding="utf-8")
    citation.validate_cff(project / "CITATION.cff")
    # .zenodo.json: the code link alone
    old, new = json.loads(before[".zenodo.json"]), json.loads(files[".zenodo.json"])
    assert new["related_identifiers"][0]["identifier"] == f"{fork}/tree/v{__version__}"
    assert new["related_identifiers"][1:] == old["related_identifiers"][1:]
    assert {k: v for k, v in new.items() if k != "related_identifiers"} == \
        {k: v for k, v in old.items() if k != "related_identifiers"}
    # written once, the files agree: a second pass changes nothing
    (project / ".zenodo.json").write_text(files[".zenodo.json"], encoding="utf-8")
    assert cli.repository_files(project) == {name: (project / name).read_text(encoding="utf-8") for name in files}


def test_a_citation_file_without_the_field_gets_it_after_the_licence(tmp_path):
    project = metadata_project(tmp_path)
    cff = project / "CITATION.cff"
    cff.write_text(re.sub(r"(?m)^repository-code:.*\n", "", cff.read_text(encoding="utf-8")), encoding="utf-8")
    lines = cli.repository_files(project)["CITATION.cff"].splitlines()
    assert lines[lines.index("license: MIT") + 1] == f'repository-code: "{URL}"'


@pytest.mark.parametrize("url", ["", "http://github.com/a/b", "https://github.com/a/b/", "github.com/a/b", None])
def test_a_url_that_is_not_a_repository_s_https_url_is_refused(tmp_path, url):
    project = metadata_project(tmp_path)
    config = book_config(project)
    config["repository"]["url"] = url
    (project / "_config.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    with pytest.raises(InputError, match="repository.url must be"):
        cli.repository_files(project)


def test_the_command_refuses_a_stale_file_and_writes_it(tmp_path):
    project = copy_project(tmp_path / "project")
    shutil.copy2(ROOT / ".zenodo.json", project / ".zenodo.json")
    config = project / "_config.yml"
    config.write_text(config.read_text(encoding="utf-8").replace(URL, "https://gitlab.com/a/b"), encoding="utf-8")
    proc = thalbook("metadata", "--check", project=project)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.count("\n") == 1 and "CITATION.cff and .zenodo.json disagree" in proc.stderr
    assert "make metadata" in proc.stderr
    proc = thalbook("metadata", project=project)
    assert proc.returncode == 0, proc.stderr
    assert citation.load_cff(project / "CITATION.cff")["repository-code"] == "https://gitlab.com/a/b"
    assert thalbook("metadata", "--check", project=project).returncode == 0


# --------------------------------------------------------------------------- the buttons


def test_the_book_links_the_repository_its_issues_and_binder_and_loads_nothing_from_them():
    config = book_config()
    assert config["repository"] == {"url": URL, "path_to_book": "", "branch": "main"}
    assert config["html"]["use_repository_button"] is True and config["html"]["use_issues_button"] is True
    launch = config["launch_buttons"]
    assert launch["binderhub_url"] == "https://mybinder.org" and launch["notebook_interface"] == "jupyterlab"
    # Thebe would load its scripts from a CDN on every chapter page; Colab's link has no use without outputs
    assert launch["thebe"] is False and not launch.get("colab_url")
    # the staged configuration, the one Jupyter Book reads, keeps them
    staged = yaml.safe_load(stage.staged_config(ROOT / "_config.yml"))
    assert staged["repository"] == config["repository"] and staged["launch_buttons"] == launch
    # the launch button opens a chapter where the book has it in the repository
    for chapter in ("background", "crohns_results"):
        assert (ROOT / config["repository"]["path_to_book"] / "chapters" / f"{chapter}.ipynb").is_file()


# --------------------------------------------------------------------------- Binder


def requirement_lines(path: Path) -> list[str]:
    """The requirements of a pip requirements file, following ``-r`` as pip does (relative to the file)."""
    found = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(("-r ", "--requirement ")):
            found += requirement_lines(path.parent / line.split(None, 1)[1])
        else:
            found.append(line)
    return found


def test_binder_installs_the_runtime_lock_itself_not_a_copy():
    own = requirement_lines(BINDER / "requirements.txt")
    lock = requirement_lines(ROOT / "requirements.txt")
    assert own == lock and len(lock) > 100 and all("==" in r for r in lock)
    # it holds no requirement of its own, only the lock by reference (a copy could drift)
    text = (BINDER / "requirements.txt").read_text(encoding="utf-8")
    assert [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")] == ["-r ../requirements.txt"]


def test_binder_runs_the_python_the_lock_was_made_for():
    runtime = (BINDER / "runtime.txt").read_text(encoding="utf-8").strip()
    assert runtime == "python-3.11"
    made_with = re.search(r"autogenerated by pip-compile with Python (\d+\.\d+)",
                          (ROOT / "requirements.txt").read_text(encoding="utf-8")).group(1)
    assert runtime == f"python-{made_with}"


def test_binder_installs_the_package_as_make_setup_does():
    post_build = BINDER / "postBuild"
    assert os.access(post_build, os.X_OK)
    lines = [ln for ln in post_build.read_text(encoding="utf-8").splitlines() if ln and not ln.startswith("#")]
    assert lines == ["set -euo pipefail",
                     '"${KERNEL_PYTHON_PREFIX}/bin/python" -m pip install --no-cache-dir --no-deps '
                     "--no-build-isolation -e ."]
    assert post_build.read_text(encoding="utf-8").startswith("#!/bin/bash\n")
    # the Makefile installs it the same way: from the lock, then the package without its dependencies
    assert "pip install --quiet --no-deps --no-build-isolation -e ." in (ROOT / "Makefile").read_text(encoding="utf-8")


def test_binder_has_no_file_that_would_override_these():
    # environment.yml would make repo2docker ignore runtime.txt; a Dockerfile, every other file;
    # apt.txt: the chapters need no system package (LaTeX is for the PDF, not built on Binder)
    assert sorted(p.name for p in BINDER.iterdir()) == ["postBuild", "requirements.txt", "runtime.txt"]
