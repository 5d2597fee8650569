"""Results computed once and shared (thalbook.core.computed): trusted only for the same bytes, never when damaged."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from thalbook.core import computed, paths
from thalbook.core.auditing import checks
from thalbook.core.evidence import data
from thalbook.press import cache

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def shared(tmp_path, monkeypatch):
    """A build's shared directory, named as the build names it for its kernels; this process's memory empty."""
    directory = tmp_path / "computed"
    monkeypatch.setenv(paths.COMPUTED_ENV, str(directory))
    computed.forget()
    yield directory
    computed.forget()


def _refuse():
    raise AssertionError("computed again although an intact entry was there")


def test_a_result_is_read_back_by_another_process_of_the_build_not_computed_again(shared):
    assert computed.once("sum", "inputs-1", lambda: sum(range(10))) == 45
    [entry] = shared.glob("sum-*.pickle")
    computed.forget()  # another process: nothing in memory
    assert computed.once("sum", "inputs-1", _refuse) == 45
    assert computed.once("sum", "inputs-2", lambda: "other inputs") == "other inputs"
    assert len(list(shared.glob("sum-*.pickle"))) == 2


def test_a_damaged_entry_is_never_unpickled_but_computed_again_and_replaced(shared):
    computed.once("word", "inputs", lambda: "right")
    [entry] = shared.glob("word-*.pickle")
    digest, _, payload = entry.read_bytes().partition(b"\n")
    entry.write_bytes(digest + b"\n" + payload.replace(b"right", b"wrong"))
    computed.forget()
    assert computed.once("word", "inputs", lambda: "recomputed") == "recomputed"
    computed.forget()
    assert computed.once("word", "inputs", _refuse) == "recomputed"


def test_the_key_covers_the_code_and_the_library_versions():
    assert computed.key("audit", "a") != computed.key("audit", "b") != computed.key("other", "b")
    assert len(computed.code_digest()) == 64
    assert set(computed.LIBRARIES) >= {"pandas", "numpy", "scipy"}


def test_the_audit_is_shared_only_for_a_package_loaded_from_its_bytes(shared):
    package = data.load()
    audit = checks.run_audit(package)
    [entry] = shared.glob("audit-checks-*.pickle")
    assert entry.name.removeprefix("audit-checks-").removesuffix(".pickle") == computed.key(
        "audit-checks", data.content_digest())
    computed.forget()
    assert checks.run_audit(data.load()).equals(audit)  # read back: an identical table

    # A package changed after loading has no digest: its audit is its own, shared with nobody.
    changed = dataclasses.replace(package, statements=package.statements.iloc[:0])
    assert data.digest_of(changed) is None
    assert not checks.run_audit(changed).equals(audit)
    assert len(list(shared.glob("audit-checks-*.pickle"))) == 1


COMPUTE_SLOWLY = textwrap.dedent("""
    import sys, time
    from thalbook.core import computed

    def slow():
        with open(sys.argv[1], "a") as calls:
            calls.write("computed\\n")
        time.sleep(1.0)
        return "value"

    print(computed.once("slow", "inputs", slow))
""")


@pytest.mark.skipif(os.name != "posix", reason="advisory locks (fcntl) are POSIX only; elsewhere both may compute")
def test_two_processes_asking_at_once_compute_once(shared, tmp_path):
    calls = tmp_path / "calls.txt"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    procs = [subprocess.Popen([sys.executable, "-c", COMPUTE_SLOWLY, str(calls)], env=env, stdout=subprocess.PIPE,
                              text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=120)[0].strip() for p in procs]
    assert outputs == ["value", "value"]
    assert calls.read_text().splitlines() == ["computed"]


def test_pruning_keeps_the_newest_entries_of_each_kind_and_what_is_not_the_builds(tmp_path):
    directory = tmp_path / "cache" / cache.COMPUTED
    directory.mkdir(parents=True)
    for i in range(cache.KEEP + 2):
        entry = directory / f"audit-checks-{i:064x}.pickle"
        entry.write_bytes(b"x")
        entry.with_suffix(".lock").write_bytes(b"")
        os.utime(entry, (1000 + i, 1000 + i))
    (directory / f"bibliography-{0:064x}.pickle").write_bytes(b"x")
    (directory / f".audit-checks-{1:064x}.pickle.abc123").write_bytes(b"half")  # a killed write
    (directory / "notes.txt").write_text("not the build's")
    cache.prune_computed(tmp_path)
    left = sorted(p.name for p in directory.iterdir())
    audits = [n for n in left if n.startswith("audit-checks-") and n.endswith(".pickle")]
    assert audits == [f"audit-checks-{i:064x}.pickle" for i in range(2, cache.KEEP + 2)]
    assert len([n for n in left if n.endswith(".lock")]) == cache.KEEP
    assert f"bibliography-{0:064x}.pickle" in left and "notes.txt" in left
    assert not [n for n in left if n.startswith(".")]
