"""Bad input loses nothing: each case is refused in one line and the last good book survives.

One good book (HTML and PDF) is published in a project copy; then every case
runs ``thalbook build --format all`` against that same copy, so that both
outputs are at stake. Each must exit with code 2, print exactly one line on
stderr that names the culprit (the parameter, the file, the row, the field),
print no traceback, and leave the published HTML tree, the ``html`` symlink
and the PDF byte-identical.

Data cases corrupt a fresh copy of ``data/`` and pass it with ``--data``; each
mutation is found in the current data (not at fixed row ids), so the corpus
keeps working while the data package grows.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT, published, thalbook

pytestmark = pytest.mark.slow


# --------------------------------------------------------------------------- CSV editing


class Table:
    """A CSV file of the data package, edited as rows of strings and written back as it was read."""

    def __init__(self, path: Path):
        self.path = path
        rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
        self.header, self.rows = rows[0], rows[1:]

    def col(self, name: str) -> int:
        return self.header.index(name)

    def find(self, test: Callable[[dict[str, str]], bool]) -> int:
        """Index of the first row for which ``test(row as dict)`` holds; its line in the file is index + 2."""
        for i, row in enumerate(self.rows):
            if test(dict(zip(self.header, row, strict=False))):
                return i
        raise AssertionError(f"{self.path.name}: no row fits this case; the corpus needs a new recipe")

    def set(self, i: int, column: str, value: str) -> None:
        self.rows[i][self.col(column)] = value

    def get(self, i: int, column: str) -> str:
        return self.rows[i][self.col(column)]

    def save(self) -> None:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows([self.header, *self.rows])
        self.path.write_text(buffer.getvalue(), encoding="utf-8")


def line(i: int) -> int:
    """Line number of data row ``i`` in its file (the header is line 1), as messages give it."""
    return i + 2


# --------------------------------------------------------------------------- the corpus


@dataclass
class Case:
    """One bad input.

    ``make(tmp, data)`` returns the extra ``thalbook build`` arguments and the
    pattern the one-line message must match to name the culprit; ``data()``
    returns a fresh, good copy of the data package to corrupt.
    """

    make: Callable[[Path, Callable[[], Path]], tuple[list[str], str]]
    reason: str | None = None  # data cases: the problem the validator must report among all it finds


def params_file(tmp: Path, name: str, content: str | bytes) -> Path:
    path = tmp / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


def from_file(name: str, content: str | bytes, culprit: str) -> Case:
    return Case(lambda tmp, data: (["--params", str(params_file(tmp, name, content))], culprit))


def from_set(*items: str, culprit: str) -> Case:
    return Case(lambda tmp, data: ([a for item in items for a in ("--set", item)], culprit))


def argv(args: list[str], culprit: str) -> Case:
    return Case(lambda tmp, data: (args, culprit))


def data_case(mutate: Callable[[Path], str], reason: str | None = None) -> Case:
    """``mutate(data_dir)`` corrupts the copy and returns the culprit pattern."""

    def make(tmp: Path, data: Callable[[], Path]) -> tuple[list[str], str]:
        directory = data()
        return ["--data", str(directory)], mutate(directory)

    return Case(make, reason)


def _remove_file(d: Path) -> str:
    (d / "binary_outcomes.csv").unlink()
    return r"^thalbook: error: binary_outcomes\.csv\b.*(missing|no file|not found)"


def _drop_column(d: Path) -> str:
    t = Table(d / "binary_outcomes.csv")
    k = t.col("denominator")
    t.header.pop(k)
    for row in t.rows:
        row.pop(k)
    t.save()
    return r"binary_outcomes\.csv:1: denominator: column missing"


def _extra_column(d: Path) -> str:
    t = Table(d / "measures.csv")
    t.header.append("comment")
    for row in t.rows:
        row.append("x")
    t.save()
    return r"measures\.csv:1: comment: column not described"


def _non_numeric(d: Path) -> str:
    t = Table(d / "binary_outcomes.csv")
    i = t.find(lambda r: r["timepoint_week"] == "8")
    t.set(i, "timepoint_week", "eight")
    t.save()
    return rf"binary_outcomes\.csv:{line(i)}: timepoint_week: 'eight' is not a valid integer"


def _count_above_denominator(d: Path) -> str:
    # The quote is changed with the count, so that only the count-vs-denominator rule can object.
    t = Table(d / "adverse_events.csv")
    i = t.find(lambda r: r["count"] and r["denominator"] and f"{r['count']}/{r['denominator']}" in r["quote"])
    count, den = t.get(i, "count"), t.get(i, "denominator")
    bigger = str(int(den) + 1)
    t.set(i, "count", bigger)
    t.set(i, "quote", t.get(i, "quote").replace(f"{count}/{den}", f"{bigger}/{den}"))
    t.save()
    return rf"adverse_events\.csv:{line(i)}: count: {bigger} exceeds denominator {den}"


def _duplicate_id(d: Path) -> str:
    t = Table(d / "binary_outcomes.csv")
    t.rows.append(list(t.rows[0]))
    t.save()
    return rf"binary_outcomes\.csv:{line(len(t.rows) - 1)}: id: duplicate id"


def _empty_file(d: Path) -> str:
    (d / "measures.csv").write_bytes(b"")
    return r"^thalbook: error: measures\.csv\b.*empty"


def _not_utf8(d: Path) -> str:
    # As a spreadsheet saving in Windows-1252 would leave it (with at least one accented letter).
    t = Table(d / "continuous_outcomes.csv")
    t.set(0, "note", "r\u00e9sum\u00e9 " + t.get(0, "note"))
    t.save()
    t.path.write_bytes(t.path.read_text(encoding="utf-8").encode("cp1252", errors="replace"))
    return r"^thalbook: error: continuous_outcomes\.csv\b.*UTF-8"


def _quote_without_number(d: Path) -> str:
    t = Table(d / "binary_outcomes.csv")
    i = t.find(lambda r: r["percent"] and r["quote"].count(r["percent"]) == 1)
    percent = t.get(i, "percent")
    t.set(i, "quote", t.get(i, "quote").replace(percent, "some"))
    t.save()
    return rf"binary_outcomes\.csv:{line(i)}: percent: '{re.escape(percent)}' does not appear in the quote"


def _descriptor_not_json(d: Path) -> str:
    path = d / "datapackage.json"
    path.write_text(path.read_text(encoding="utf-8")[:-40], encoding="utf-8")
    return r"^thalbook: error: datapackage\.json\b.*JSON"


def _descriptor_missing(d: Path) -> str:
    (d / "datapackage.json").unlink()
    return r"^thalbook: error: datapackage\.json\b.*missing"


def _descriptor_type_changed(d: Path) -> str:
    # A column declared with a type its values do not have.
    path = d / "datapackage.json"
    package = json.loads(path.read_text(encoding="utf-8"))
    studies = next(r for r in package["resources"] if r["name"] == "studies")
    field = next(f for f in studies["schema"]["fields"] if f["name"] == "journal")
    field["type"] = "integer"
    path.write_text(json.dumps(package, indent=2) + "\n", encoding="utf-8")
    return r"studies\.csv:2: journal: '.*' is not a valid integer"


def _negative_count(d: Path) -> str:
    t = Table(d / "withdrawals.csv")
    i = t.find(lambda r: r["count"].isdigit())
    t.set(i, "count", "-" + t.get(i, "count"))
    t.save()
    return rf"withdrawals\.csv:{line(i)}: count: "


def _percent_above_100(d: Path) -> str:
    t = Table(d / "binary_outcomes.csv")
    i = t.find(lambda r: bool(r["percent"]))
    t.set(i, "percent", "123.4")
    t.set(i, "quote", t.get(i, "quote") + " (123.4%)")
    t.save()
    return rf"binary_outcomes\.csv:{line(i)}: percent: '123\.4' breaks maximum 100"


def _p_value_zero(d: Path) -> str:
    t = Table(d / "continuous_outcomes.csv")
    i = t.find(lambda r: bool(r["p_value"]))
    t.set(i, "p_value", "0")
    t.set(i, "quote", t.get(i, "quote") + " p = 0")
    t.save()
    return rf"continuous_outcomes\.csv:{line(i)}: p_value: 0 is not within \(0, 1\]"


def _unknown_study(d: Path) -> str:
    t = Table(d / "binary_outcomes.csv")
    i = 0
    study = t.get(i, "study_id")
    t.set(i, "study_id", "nobody2099")
    t.set(i, "id", t.get(i, "id").replace(study, "nobody2099", 1))
    t.save()
    return rf"binary_outcomes\.csv:{line(i)}: study_id: 'nobody2099' not found in studies\.csv"


def _required_empty(d: Path) -> str:
    t = Table(d / "withdrawals.csv")
    t.set(0, "quote", "")
    t.save()
    return rf"withdrawals\.csv:{line(0)}: quote: required but empty"


def _not_in_enum(d: Path) -> str:
    t = Table(d / "binary_outcomes.csv")
    i = t.find(lambda r: bool(r["population"]))
    t.set(i, "population", "everyone")
    t.save()
    return rf"binary_outcomes\.csv:{line(i)}: population: 'everyone' is not one of"


def _line_break_in_cell(d: Path) -> str:
    t = Table(d / "studies.csv")
    t.set(0, "note", "first line\nsecond line")
    t.save()
    return rf"studies\.csv:{line(0)}: note: contains a line break"


def _short_row(d: Path) -> str:
    t = Table(d / "measures.csv")
    t.rows[1] = t.rows[1][:-2]
    t.save()
    return rf"measures\.csv:{line(1)}: .*missing cell"


CASES: dict[str, Case] = {
    # parameter files
    "yaml-malformed": from_file("broken.yml", "confidence_level: [0.9\nci_method: wilson\n",
                                r"broken\.yml:\d+: malformed YAML"),
    "yaml-tab-indent": from_file("tabs.yml", "confidence_level: 0.9\n\tci_method: wilson\n",
                                 r"tabs\.yml:\d+: malformed YAML"),
    "yaml-not-a-mapping": from_file("list.yml", "- 0.9\n- wilson\n", r"list\.yml: expected a mapping"),
    "params-file-missing": argv(["--params", "params/no-such-set.yml"], r"no-such-set\.yml: parameter file not found"),
    "params-file-not-utf8": from_file("latin1.yml", "ci_method: wilson # r\xe9sum\xe9\n".encode("latin-1"),
                                      r"latin1\.yml: cannot read parameter file"),
    "params-file-is-a-directory": argv(["--params", "params"], r"params: cannot read parameter file"),
    "unknown-parameter-in-file": from_file("unknown.yml", "alpha: 0.05\n", r"unknown\.yml: alpha: unknown parameter"),
    "unknown-parameter-set": from_set("alpha=0.05", culprit=r"--set alpha: unknown parameter"),
    "misspelt-parameter": from_set("confidence=0.9", culprit=r"--set confidence: unknown parameter"),
    "set-without-value": from_set("confidence_level", culprit=r"--set confidence_level: expected NAME=VALUE"),
    "wrong-type-text": from_set("confidence_level=high", culprit=r"--set confidence_level: 'high' is not of type"),
    "wrong-type-boolean": from_file("bool.yml", "confidence_level: yes\n",
                                    r"bool\.yml: confidence_level: True is not of type"),
    "wrong-type-list": from_set("ci_method=[wilson]", culprit=r"--set ci_method: \['wilson'\] is not one of"),
    "wrong-type-null": from_file("null.yml", "ci_method:\n", r"null\.yml: ci_method: None is not one of"),
    "out-of-range-high": from_set("confidence_level=1.5", culprit=r"--set confidence_level: 1\.5 is greater"),
    "out-of-range-one": from_set("confidence_level=1", culprit=r"--set confidence_level: 1 is greater than or equal"),
    "out-of-range-low": from_set("confidence_level=0.3", culprit=r"--set confidence_level: 0\.3 is less than"),
    "out-of-range-negative": from_set("confidence_level=-0.95", culprit=r"--set confidence_level: -0\.95 is less"),
    "unknown-ci-method": from_set("ci_method=wald", culprit=r"--set ci_method: 'wald' is not one of"),
    "unknown-analysis-set": from_set("analysis_set=per-protocol",
                                     culprit=r"--set analysis_set: 'per-protocol' is not one of"),
    "unknown-rounding": from_set("rounding=bankers", culprit=r"--set rounding: 'bankers' is not one of"),
    # command line
    "jobs-zero": argv(["--jobs", "0"], r"--jobs: expected a positive integer, got 0"),
    "unknown-format": argv(["--format", "epub"], r"--format: invalid choice: 'epub'"),
    "data-dir-missing": argv(["--data", "no-such-dir"], r"--data no-such-dir: no such directory"),
    # the data package
    "data-file-missing": data_case(_remove_file),
    "data-column-missing": data_case(_drop_column),
    "data-column-unknown": data_case(_extra_column),
    "data-non-numeric": data_case(_non_numeric),
    "data-count-above-denominator": data_case(_count_above_denominator),
    "data-duplicate-id": data_case(_duplicate_id),
    "data-empty-file": data_case(_empty_file),
    "data-not-utf8": data_case(_not_utf8),
    "data-quote-lacks-number": data_case(_quote_without_number),
    "data-descriptor-not-json": data_case(_descriptor_not_json),
    "data-descriptor-missing": data_case(_descriptor_missing),
    "data-descriptor-wrong-type": data_case(_descriptor_type_changed),
    "data-negative-count": data_case(_negative_count, reason=r"withdrawals\.csv:\d+: count: '-\d+' is not written"),
    "data-percent-above-100": data_case(_percent_above_100),
    "data-p-value-zero": data_case(_p_value_zero),
    "data-unknown-study": data_case(_unknown_study),
    "data-required-empty": data_case(_required_empty),
    "data-not-in-enum": data_case(_not_in_enum),
    "data-line-break-in-cell": data_case(_line_break_in_cell),
    "data-short-row": data_case(_short_row),
}


# --------------------------------------------------------------------------- the tests


@pytest.fixture(scope="module")
def book(published_project: Path) -> tuple[Path, dict[str, str]]:
    """The project with its last good book, and what a reader sees of it."""
    return published_project, published(published_project)


def test_the_corpus_is_large_enough():
    assert len(CASES) >= 25
    assert sum(name.startswith("data-") for name in CASES) >= 12


def test_rewriting_the_data_unchanged_keeps_it_valid(book, tmp_path: Path):
    """The CSV editor alone breaks nothing, so each case fails for the reason it plants."""
    from thalbook.core.evidence import data

    project, _ = book
    copy = shutil.copytree(project / "data", tmp_path / "data")
    for path in sorted(copy.glob("*.csv")):
        before = path.read_bytes()
        Table(path).save()
        assert path.read_bytes() == before, path.name
    assert [str(p) for p in data.validate(copy)] == []


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_refused_in_one_line_and_loses_nothing(name: str, book, tmp_path: Path):
    project, before = book
    case = CASES[name]

    def fresh_data() -> Path:
        return shutil.copytree(project / "data", tmp_path / "data")

    args, culprit = case.make(tmp_path, fresh_data)
    proc = thalbook("build", "--format", "all", *args, project=project, timeout=300)

    assert proc.returncode == 2, f"exit {proc.returncode}\n{proc.stderr}"
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = proc.stderr.split("\n")
    assert len(lines) == 2 and lines[0].strip() and lines[1] == "", f"not exactly one line:\n{proc.stderr}"
    assert re.search(culprit, lines[0]), f"{lines[0]!r} does not name the culprit ({culprit})"
    assert published(project) == before, "the last good book changed"
    if case.reason:
        from thalbook.core.evidence import data

        problems = [str(p) for p in data.validate(tmp_path / "data")]
        assert any(re.search(case.reason, p) for p in problems), problems


def test_papermill_refuses_an_out_of_range_value_with_the_schemas_words(tmp_path: Path):
    """The chapter checks what papermill passes it against the same schema as ``thalbook``."""
    import subprocess
    import sys

    out = tmp_path / "out.ipynb"
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("papermill")), "crohns_results.ipynb", str(out),
         "-p", "confidence_level", "0.3", "--kernel", "python3"],
        cwd=ROOT / "chapters", capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    refusal = "confidence_level: 0.3 is less than the minimum of 0.5"
    assert refusal in proc.stderr, proc.stderr[-2000:]
