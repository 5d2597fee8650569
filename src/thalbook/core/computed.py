"""Results computed once per content and shared: within a process, and between the processes of one build.

A derived result that several chapters show (the audit above all) is
computed by whichever process of a build needs it first, and read by the
others. :func:`once` keys a result by what it is (``what``), the digest of
the inputs it was computed from (the data package's bytes, as
:func:`thalbook.core.evidence.data.digest_of` gives them; parameters, if any)
and the code that computes it (:func:`code_digest`: every file of this
package, the Python version and the versions of the libraries whose
arithmetic the results rest on). A process trusts only a result whose key
it computed itself from the very inputs it was given.

Within a process, a result is kept in memory by its key. Between processes,
only when the environment names a directory (:data:`thalbook.core.paths.COMPUTED_ENV`:
the build names one of its own, ``<out>/cache/computed``, for its kernels and
its results package): an entry is ``<what>-<key>.pickle``, whose first line
is the SHA-256 of the rest. An entry whose bytes do not match their digest
is never unpickled: it is computed again and replaced. While one process
computes an entry, the others wait for it on a lock (``fcntl.flock``, which
the system releases when a process dies, so a killed build leaves no lock
held); where there is no ``fcntl`` (Windows), two processes may compute the
same entry, and the second write replaces the first with the same bytes. A
chapter run alone (papermill, JupyterLab) names no directory and computes
what it needs itself.

Written by hand: the caching libraries (``joblib.Memory``, ``functools``)
key by the arguments' values, not by the digest of the bytes they were read
from, and none checks an entry's bytes before unpickling it.

Examples
--------
>>> calls = []
>>> def compute():
...     calls.append(1)
...     return {"checks": 3}
>>> once("example", "inputs-a", compute), once("example", "inputs-a", compute), len(calls)
({'checks': 3}, {'checks': 3}, 1)
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import pickle
import sys
import tempfile
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

from thalbook.core import paths

T = TypeVar("T")

#: The libraries whose versions are part of every key: a result computed with other versions is another result.
LIBRARIES = ("numpy", "pandas", "scipy", "statsmodels")

_MEMORY: dict[str, Any] = {}


@functools.cache
def code_digest() -> str:
    """Digest of the code that computes every result: this package's files, Python's and the libraries' versions.

    Examples
    --------
    >>> len(code_digest())
    64
    """
    h = hashlib.sha256(sys.version.encode())
    for name in LIBRARIES:
        try:
            h.update(f"\0{name}={metadata.version(name)}".encode())
        except metadata.PackageNotFoundError:
            h.update(f"\0{name}=absent".encode())
    h.update(b"\0" + files_digest(paths.PACKAGE).encode())
    return h.hexdigest()


def files_digest(directory: Path) -> str:
    """Digest of the names and bytes of every regular file under ``directory`` (compiled bytecode left out).

    Examples
    --------
    >>> files_digest(paths.PACKAGE) == files_digest(paths.PACKAGE)
    True
    """
    h = hashlib.sha256()
    # Regular files only: a link out of the directory is not part of it (and a FIFO would block).
    for path in sorted(p for p in directory.rglob("*")
                       if p.is_file() and not p.is_symlink() and "__pycache__" not in p.parts):
        h.update(str(path.relative_to(directory)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def key(what: str, inputs: str) -> str:
    """The key of result ``what`` computed from the inputs whose digest is ``inputs``, by this code."""
    return hashlib.sha256(f"{what}\0{inputs}\0{code_digest()}".encode()).hexdigest()


def once(what: str, inputs: str | None, compute: Callable[[], T]) -> T:
    """``compute()``, computed once for these inputs by this process and by the build it runs in.

    Parameters
    ----------
    what : str
        The name of the result (a file name's first part: letters, digits and ``-``).
    inputs : str or None
        A digest of everything the result is computed from besides the code:
        a result is shared only between callers that give the same digest.
        None (inputs of unknown bytes, such as a package changed after it was
        loaded): computed for this caller alone, kept nowhere.
    compute : callable
        Computes the result; its value must be picklable and never changed
        by the callers it is shared with.

    Returns
    -------
    object
        What ``compute`` returned here, or in another process of the build.
    """
    if inputs is None:
        return compute()
    name = key(what, inputs)
    if name in _MEMORY:
        return _MEMORY[name]
    directory = os.environ.get(paths.COMPUTED_ENV)
    value = compute() if not directory else _shared(Path(directory) / f"{what}-{name}.pickle", compute)
    _MEMORY[name] = value
    return value


def forget() -> None:
    """Drop what this process keeps in memory (a test that changes what a computation reads calls it)."""
    _MEMORY.clear()


def _shared(entry: Path, compute: Callable[[], T]) -> T:
    entry.parent.mkdir(parents=True, exist_ok=True)
    with _locked(entry.with_suffix(".lock")):
        value = _read(entry)
        if value is not None:
            return value[0]
        value = compute()
        _write(entry, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
        return value


def _read(entry: Path) -> tuple[Any] | None:
    """The value of an intact entry, in a 1-tuple; None if the entry is absent or its bytes are not its digest's."""
    try:
        blob = entry.read_bytes()
    except OSError:
        return None
    digest, _, payload = blob.partition(b"\n")
    if digest.decode("ascii", "replace") != hashlib.sha256(payload).hexdigest():
        return None
    return (pickle.loads(payload),)


def _write(entry: Path, payload: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{entry.name}.", dir=entry.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload)
        os.replace(tmp, entry)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def _locked(lock: Path) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:  # no advisory locks here: two processes may compute the same entry
        yield
        return
    with open(lock, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
