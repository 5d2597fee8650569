"""The content-addressed cache of executed chapters, in ``<out>/cache``.

A chapter's key hashes its notebook, the parameters it receives and its
inputs (the data, the package source, the pinned requirements, the Python
version): the same key, the same executed notebook. An entry is
``cache/<chapter>/<key>.ipynb`` and its metadata ``<key>.json`` (seconds,
time of execution and the notebook's SHA-256); an entry whose halves do not
match is discarded, so a damaged cache heals by executing the chapter again.
The :data:`KEEP` most recently used entries of each chapter are kept.
``cache/valid-data/<inputs>`` remembers a data package found valid, and
``cache/computed/`` holds the results the kernels of a build share
(:mod:`thalbook.core.computed`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from thalbook.core import computed, paths
from thalbook.core.errors import DataError
from thalbook.press import builddir
from thalbook.press.toc import BOOK_FILES, Chapter

#: Cached executions kept per chapter (one per parameter combination recently used).
KEEP = 8
#: Under ``<out>/cache``: the verdicts on data packages, and the results the kernels share.
VALID_DATA = "valid-data"
COMPUTED = "computed"


@dataclass
class Execution:
    """What happened to one chapter in a run."""

    chapter: str
    key: str
    cached: bool
    seconds: float
    executed_at: str


# --------------------------------------------------------------------------- digests and keys


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "absent"


def data_digest(data_dir: Path) -> str:
    """Digest of the names and bytes of the files the data package's descriptor names.

    Only those are the package (:func:`thalbook.core.evidence.validate.named_files`):
    a note or an editor's swap file beside them changes no key. Files are
    read in blocks, so a file too large to be data costs no memory before
    validation refuses it.
    """
    from thalbook.core.evidence.validate import named_files

    h = hashlib.sha256()
    for path in named_files(data_dir):
        h.update(str(path.relative_to(data_dir)).encode() + b"\0")
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                h.update(block)
        h.update(b"\0")
    return h.hexdigest()


def inputs_digest(data_dir: Path) -> str:
    """Digest of what every chapter depends on besides itself and its parameters.

    The data package's files (:func:`data_digest`), the package source and the runtime lock (``requirements.txt``;
    the test tools' lock, ``requirements-dev.txt``, is not an input of any chapter):
    changing any of them re-executes every chapter.
    """
    h = hashlib.sha256()
    h.update(data_digest(data_dir).encode())
    # The package's files wherever it is installed (code, and the Sphinx templates it ships): a wheel
    # holds every file of src/thalbook, so an installed package and an editable checkout share keys.
    h.update(computed.files_digest(paths.PACKAGE).encode())
    h.update(file_digest(paths.project().root / "requirements.txt").encode())
    h.update(sys.version.encode())
    return h.hexdigest()


def chapter_key(chapter: Chapter, params: dict[str, Any], inputs: str) -> str:
    """Cache key of one chapter: its source, the parameters it receives, its inputs."""
    h = hashlib.sha256()
    h.update(chapter.source.read_bytes())
    h.update(json.dumps(params, sort_keys=True).encode())
    h.update(inputs.encode())
    return h.hexdigest()


def book_key(executions: Iterable[Execution], data_dir: Path) -> str:
    """Hash of everything the built book depends on: its executed chapters, pages, sources and data."""
    h = hashlib.sha256()
    for e in sorted(executions, key=lambda e: e.chapter):
        h.update(f"{e.chapter}={e.key}\n".encode())
    project = paths.project()
    for name in BOOK_FILES:
        h.update(file_digest(project.root / name).encode())
    for md in sorted(project.chapters.glob("*.md")):
        h.update(md.name.encode() + file_digest(md).encode())
    h.update(data_digest(data_dir).encode())
    return h.hexdigest()


# --------------------------------------------------------------------------- entries


def entry(out: Path, chapter: str, key: str) -> Path:
    """Where the executed notebook of ``chapter`` under ``key`` is kept (its metadata beside it, ``.json``)."""
    return out / "cache" / chapter / f"{key}.ipynb"


def has_entry(out: Path, chapter: str, key: str) -> bool:
    """Whether any half of an entry exists, trustworthy or not."""
    notebook = entry(out, chapter, key)
    return notebook.exists() or notebook.with_suffix(".json").exists()


def lookup(out: Path, chapter: str, key: str) -> Execution | None:
    """The cached execution of ``chapter`` under ``key``, or None when there is none to trust.

    An entry is a notebook and its metadata, which records the notebook's
    sha256: a truncated, missing or altered half makes the entry worthless, so
    it is discarded (the chapter is executed again) rather than trusted or
    fatal.
    """
    notebook = entry(out, chapter, key)
    meta_path = notebook.with_suffix(".json")
    if not notebook.exists() and not meta_path.exists():
        return None
    try:
        meta = json.loads(meta_path.read_bytes())
        if hashlib.sha256(notebook.read_bytes()).hexdigest() != meta["sha256"]:
            raise ValueError("notebook does not match its metadata")
        execution = Execution(chapter, key, True, float(meta["seconds"]), str(meta["executed_at"]))
    except (OSError, ValueError, KeyError, TypeError):
        notebook.unlink(missing_ok=True)
        meta_path.unlink(missing_ok=True)
        return None
    os.utime(notebook)  # keep recently used entries when pruning
    return execution


def store(out: Path, chapter: str, key: str, produced: Path, seconds: float) -> Execution:
    """Move the executed notebook ``produced`` into the cache as the entry of ``chapter`` under ``key``."""
    executed_at = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    target = entry(out, chapter, key)
    target.parent.mkdir(parents=True, exist_ok=True)
    meta = {"seconds": round(seconds, 2), "executed_at": executed_at,
            "sha256": hashlib.sha256(produced.read_bytes()).hexdigest()}
    os.replace(produced, target)
    builddir.write_atomic(target.with_suffix(".json"), (json.dumps(meta) + "\n").encode())
    _prune(target.parent)
    return Execution(chapter, key, False, meta["seconds"], executed_at)


def _prune(directory: Path) -> None:
    entries = sorted(directory.glob("*.ipynb"), key=lambda p: p.stat().st_mtime, reverse=True)
    for stale in entries[KEEP:]:
        stale.unlink(missing_ok=True)
        stale.with_suffix(".json").unlink(missing_ok=True)


def last_seconds(out: Path, chapter: str) -> float | None:
    """The execution time last recorded for ``chapter`` under any key, or None."""
    metas = sorted((out / "cache" / chapter).glob("*.json"), key=lambda p: p.stat().st_mtime)
    for meta in reversed(metas):
        with contextlib.suppress(ValueError, KeyError, TypeError, OSError):
            return float(json.loads(meta.read_text())["seconds"])
    return None


# --------------------------------------------------------------------------- the data verdict


def validate_data(data_dir: Path, out: Path, inputs: str) -> None:
    """Raise :class:`~thalbook.core.errors.DataError` unless the data package is valid.

    A package found valid is remembered in ``out/cache/valid-data/<inputs>``:
    ``inputs`` (:func:`inputs_digest`) covers every byte of the data, the
    validation code and the pinned requirements, so the same inputs cannot
    give another verdict, and a rebuild skips importing pandas and frictionless.
    ``out/cache/valid-data/data-<content digest>`` tells the kernels the same
    (``thalbook.core.paths.VALIDATED_ENV``), so that no chapter validates again.
    """
    marker = out / "cache" / VALID_DATA / inputs
    if marker.exists():
        return
    from thalbook.core.evidence import data

    problems = data.validate(data_dir)
    if problems:
        raise DataError(problems)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.touch()
    # The verdict for this very content, which the kernels read (paths.VALIDATED_ENV).
    digest = data.content_digest(data_dir)
    if digest is not None:
        (marker.parent / f"data-{digest}").touch()
    for stale in sorted(marker.parent.iterdir(), key=lambda p: p.stat().st_mtime, reverse=True)[KEEP:]:
        stale.unlink(missing_ok=True)


def prune_computed(out: Path) -> None:
    """Keep the :data:`KEEP` most recently written shared results of each kind, and no file a killed write left.

    An entry is ``<what>-<key>.pickle`` with its lock ``<what>-<key>.lock``;
    a write in progress is a hidden temporary file (:mod:`thalbook.core.computed`).
    The caller holds the build directory's lock: no kernel of this build runs yet.
    """
    directory = out / "cache" / COMPUTED
    if not directory.is_dir():
        return
    kinds: dict[str, list[Path]] = {}
    for path in directory.iterdir():
        if path.name.startswith(".") and ".pickle." in path.name and path.is_file():
            path.unlink(missing_ok=True)
        elif path.suffix == ".pickle" and path.is_file():
            kinds.setdefault(path.stem.rpartition("-")[0], []).append(path)
    kept = set()
    for entries in kinds.values():
        kept |= set(sorted(entries, key=lambda p: p.stat().st_mtime, reverse=True)[:KEEP])
    for path in directory.iterdir():
        if path.suffix in (".pickle", ".lock") and path.is_file() and path.with_suffix(".pickle") not in kept:
            path.unlink(missing_ok=True)
