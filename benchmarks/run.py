"""Build-time benchmarks of the real book: thalbook against Jupyter Book's own execution.

Every scenario runs on a snapshot of the project taken at start-up, in
``<out>/`` (default ``benchmarks/results/``), so the user's ``_book/html`` is never
touched and edits made to the working tree meanwhile do not leak into a run.
The scenarios are interleaved per repetition (cold, warm, one_param, jb_force,
jb_cache_warm, pdf, floor; then again), so that a slow spell on the machine
spreads over all of them instead of landing on one. Medians, every raw sample,
the ratios, the targets and whether each is met go to ``benchmarks/results/bench.json``;
a table goes to stdout. See ``benchmarks/README.md``.

Usage::

    .venv/bin/python benchmarks/run.py            # 3 repetitions
    .venv/bin/python benchmarks/run.py --quick    # 1 repetition
    .venv/bin/python benchmarks/run.py --reps 5 --only cold,warm,one_param
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
#: What a snapshot of the project holds (the same list as tests/conftest.py).
PROJECT_ITEMS = ("_config.yml", "_toc.yml", "intro.md", "references.bib", "CITATION.cff",
                 "requirements.txt", "chapters", "data", "params", "src")
#: What Jupyter Book needs to build the book by itself: with ``params``, the chapters' kernels find the
#: copy as their project (its data, its bibliography, its saved notebooks for the prose cells).
BOOK_ITEMS = ("_config.yml", "_toc.yml", "intro.md", "references.bib", "CITATION.cff", "chapters", "data",
              "params")
#: Flags of the pipeline's own ``jupyter-book build`` (src/thalbook/press/pipeline.py).
JB_FLAGS = ("-W", "-n", "--keep-going", "--quiet")
#: Per-cell time limit, as in the pipeline (src/thalbook/press/execute.py).
CELL_TIMEOUT_S = 300
SCENARIOS = ("cold", "warm", "one_param", "jb_force", "jb_cache_warm", "pdf", "floor")
#: ratio name -> (numerator, denominator, target: the ratio must be at most this).
RATIOS = {
    "cold/jb_force": ("cold", "jb_force", 0.5),
    "warm/cold": ("warm", "cold", 0.1),
    "one_param/cold": ("one_param", "cold", 0.4),
    "cold/floor": ("cold", "floor", 1.25),
}
#: The same in CPU seconds (every process of the command): what the build costs a one-core machine.
CPU_RATIOS = {
    "cold_cpu/jb_force_cpu": ("cold", "jb_force", 0.6),
}
PEAK_RSS_TARGET_MIB = 1.5 * 1024
#: The parameter that exactly one chapter declares, and the values it takes.
ONE_PARAM = "rounding"
ONE_PARAM_VALUES = ("half-up", "half-even")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- running things


class CommandFailed(RuntimeError):
    pass


#: CPU seconds (user + system, the command and every process it waited for) of the last
#: run of each command: on a loaded machine, wall time varies far more than this does.
CPU_SECONDS: dict[str, list[float]] = {}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(cmd: list[str], cwd: Path, env: dict[str, str], what: str) -> tuple[float, subprocess.CompletedProcess]:
    """Run ``cmd``; return (wall seconds, process). Raise :class:`CommandFailed` on a non-zero exit."""
    cpu0 = _children_cpu()
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    CPU_SECONDS.setdefault(what, []).append(round(_children_cpu() - cpu0, 2))
    if proc.returncode != 0:
        lines = (proc.stderr + proc.stdout).strip().splitlines()
        # Sphinx's warnings come long before the end of its output: keep them with the tail.
        warnings = [ln for ln in lines[:-15] if "WARNING:" in ln][:5]
        tail = "\n".join([*warnings, *lines[-15:]])
        raise CommandFailed(f"{what}: exit {proc.returncode} after {seconds:.1f} s:\n{tail}")
    return seconds, proc


def tree_rss(root_pid: int) -> int:
    """Summed resident set (bytes) of ``root_pid`` and all its descendants."""
    import psutil

    try:
        root = psutil.Process(root_pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def run_sampled(cmd: list[str], cwd: Path, env: dict[str, str], every: float = 0.05) -> tuple[float, int]:
    """Run ``cmd`` while sampling the summed RSS of its process tree; return (seconds, peak bytes)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss(proc.pid))
            time.sleep(every)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    done.set()
    sampler.join()
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise CommandFailed(f"memory: exit {proc.returncode}:\n{err[-2000:]}")
    return seconds, peak


# --------------------------------------------------------------------------- the project snapshot


class Bench:
    def __init__(self, out: Path, source: Path = ROOT) -> None:
        self.out = out
        self.source = source
        self.project = out / "project"
        self.python = Path(sys.executable)
        self.samples: dict[str, list[float]] = {s: [] for s in SCENARIOS}
        self.details: dict[str, list[Any]] = {}
        self.notes: list[str] = []
        self.jb_flags = list(JB_FLAGS)
        self.param_value = ONE_PARAM_VALUES[0]

    # -- set-up

    def snapshot(self) -> None:
        """Copy the project's sources to ``<out>/project``; every scenario runs on that copy."""
        shutil.rmtree(self.project, ignore_errors=True)
        self.project.mkdir(parents=True)
        for item in PROJECT_ITEMS:
            src = self.source / item
            if src.is_dir():
                shutil.copytree(src, self.project / item,
                                ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", ".ipynb_checkpoints"))
            elif src.exists():
                shutil.copy2(src, self.project / item)
        sys.path.insert(0, str(self.project / "src"))
        import papermill

        self.declared = {
            nb.stem: sorted(papermill.inspect_notebook(str(nb)))
            for nb in sorted((self.project / "chapters").glob("*.ipynb"))
        }
        users = [ch for ch, names in self.declared.items() if ONE_PARAM in names]
        if len(users) != 1:
            raise SystemExit(f"benchmarks: {ONE_PARAM} is declared by {users}, not by exactly one chapter")
        self.one_param_chapter = users[0]
        defaults = yaml.safe_load((self.project / "params" / "default.yml").read_text())
        self.defaults = defaults
        self.param_value = defaults[ONE_PARAM]

    @property
    def env(self) -> dict[str, str]:
        """The environment of every command: the snapshot's package first, as tests/conftest.py does."""
        env = {**os.environ, "PYTHONPATH": str(self.project / "src")}
        env.pop("THALBOOK_DATA_DIR", None)
        env.pop("THALBOOK_PROJECT", None)
        return env

    def thalbook(self, *args: str) -> list[str]:
        return [str(self.python), "-m", "thalbook.press.cli", *args]

    def jupyter_book(self) -> str:
        return str(self.python.with_name("jupyter-book"))

    # -- thalbook scenarios

    def thal_dir(self) -> Path:
        return self.out / "thalbook"

    def cold(self) -> float:
        out = self.thal_dir()
        shutil.rmtree(out, ignore_errors=True)
        self.param_value = self.defaults[ONE_PARAM]
        seconds, proc = run(self.thalbook("build", "--format", "html", "--out", str(out)),
                            self.project, self.env, "cold")
        self.details.setdefault("cold_log", []).append(_timings_from_log(proc.stderr))
        return seconds

    def warm(self) -> float:
        seconds, proc = run(self.thalbook("build", "--format", "html", "--out", str(self.thal_dir()),
                                          "--set", f"{ONE_PARAM}={self.param_value}"),
                            self.project, self.env, "warm")
        if "executed " in proc.stderr or "html      up to date" not in proc.stderr:
            raise CommandFailed(f"warm: the build was not warm:\n{proc.stderr}")
        return seconds

    def one_param(self) -> float:
        # Always a change: the other value than the one the last build used.
        self.param_value = next(v for v in ONE_PARAM_VALUES if v != self.param_value)
        seconds, proc = run(self.thalbook("build", "--format", "html", "--out", str(self.thal_dir()),
                                          "--set", f"{ONE_PARAM}={self.param_value}"),
                            self.project, self.env, "one_param")
        executed = re.findall(r"executed\s+(\w+)", proc.stderr)
        if executed != [self.one_param_chapter]:
            raise CommandFailed(f"one_param: expected only {self.one_param_chapter} to run, got {executed}")
        self.details.setdefault("one_param_log", []).append(_timings_from_log(proc.stderr))
        return seconds

    def pdf(self) -> float:
        """``thalbook build --format pdf`` with every chapter cached: the PDF step alone."""
        out = self.thal_dir()
        (out / "pdf" / ".thalbook-key").unlink(missing_ok=True)
        seconds, proc = run(self.thalbook("build", "--format", "pdf", "--out", str(out),
                                          "--set", f"{ONE_PARAM}={self.param_value}"),
                            self.project, self.env, "pdf")
        if "executed " in proc.stderr or "pdf       built" not in proc.stderr:
            raise CommandFailed(f"pdf: expected a PDF build from cached chapters:\n{proc.stderr}")
        return seconds

    # -- Jupyter Book scenarios

    def jb_copy(self, name: str, mode: str) -> tuple[Path, float]:
        """A copy of the book whose notebooks papermill prepared (parameters injected, not run)."""
        import papermill

        book = self.out / name
        shutil.rmtree(book, ignore_errors=True)
        book.mkdir(parents=True)
        for item in BOOK_ITEMS:
            src = self.project / item
            if src.is_dir():
                shutil.copytree(src, book / item)
            else:
                shutil.copy2(src, book / item)
        t0 = time.perf_counter()
        for nb in sorted((book / "chapters").glob("*.ipynb")):
            received = {k: self.defaults[k] for k in self.declared[nb.stem]}
            papermill.execute_notebook(str(nb), str(nb), parameters=received, prepare_only=True,
                                       kernel_name="python3", progress_bar=False)
        prepare = time.perf_counter() - t0
        # The configuration the pipeline gives Sphinx (thalbook stages _config.yml with the
        # version filled in), so that both build the same book.
        staged = self.thal_dir() / "stage" / "_config.yml"
        config = yaml.safe_load((staged if staged.exists() else book / "_config.yml").read_text())
        config["execute"] = {**config.get("execute", {}), "execute_notebooks": mode, "timeout": CELL_TIMEOUT_S}
        (book / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
        return book, prepare

    def jb_env(self, book: Path) -> dict[str, str]:
        # The kernels read the same data package, with the same plotting back-end, as the pipeline's.
        return {**self.env, "THALBOOK_DATA_DIR": str(book / "data"),
                "MPLBACKEND": "module://matplotlib_inline.backend_inline", "PYDEVD_DISABLE_FILE_VALIDATION": "1"}

    def jb_build(self, book: Path, what: str) -> float:
        cmd = [self.jupyter_book(), "build", str(book), "--builder", "html", *self.jb_flags]
        try:
            return run(cmd, book, self.jb_env(book), what)[0]
        except CommandFailed as exc:
            if "-W" not in self.jb_flags:
                raise
            warnings = [ln.strip() for ln in str(exc).splitlines() if "WARNING:" in ln][:3]
            self.notes.append("Jupyter Book's own execution produces warnings, so the jb_* builds run "
                              "without -W: " + " | ".join(warnings))
            log(f"  {what}: warnings under -W; retrying without -W")
            self.jb_flags.remove("-W")
            shutil.rmtree(book / "_build", ignore_errors=True)
            return run([c for c in cmd if c != "-W"], book, self.jb_env(book), what)[0]

    def jb_force(self) -> float:
        book, prepare = self.jb_copy("jb-force", "force")
        self.details.setdefault("jb_force_prepare", []).append(round(prepare, 2))
        return self.jb_build(book, "jb_force")

    def jb_cache_warm(self) -> float:
        book, _ = self.jb_copy("jb-cache", "cache")
        first = self.jb_build(book, "jb_cache (first run)")
        self.details.setdefault("jb_cache_cold", []).append(round(first, 2))
        return self.jb_build(book, "jb_cache_warm")

    # -- the floor

    def floor(self) -> float:
        """max(longest chapter, sum of chapters / cores) + Sphinx HTML with no execution."""
        chapters = self.chapter_times()
        cells = [c["kernel_start"] + c["cells"] for c in chapters.values()]
        execution = max(max(cells), sum(cells) / (os.cpu_count() or 1))
        stage = self.thal_dir() / "stage"
        work = self.out / "floor-sphinx"
        shutil.rmtree(work, ignore_errors=True)
        sphinx, _ = run([self.jupyter_book(), "build", str(stage), "--path-output", str(work),
                         "--builder", "html", *JB_FLAGS], self.project, self.env, "floor (Sphinx)")
        self.details.setdefault("floor_parts", []).append(
            {"execution": round(execution, 2), "sphinx_html": round(sphinx, 2), "chapters": chapters})
        return execution + sphinx

    def chapter_times(self) -> dict[str, dict[str, float]]:
        """Kernel start and cell time of each chapter, run alone, one after another (nbclient)."""
        script = _CHAPTER_TIMER.format(chapters=str(self.project / "chapters"), timeout=CELL_TIMEOUT_S)
        env = {**self.jb_env(self.project), "THALBOOK_DATA_DIR": str(self.project / "data")}
        params = {nb: {k: self.defaults[k] for k in names} for nb, names in self.declared.items()}
        proc = subprocess.run([str(self.python), "-c", script, json.dumps(params)], cwd=self.project, env=env,
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise CommandFailed(f"floor (chapters): {proc.stderr[-2000:]}")
        return json.loads(proc.stdout)

    # -- memory

    def peak_rss(self) -> float:
        out = self.out / "memory"
        shutil.rmtree(out, ignore_errors=True)
        seconds, peak = run_sampled(self.thalbook("build", "--format", "html", "--out", str(out)),
                                    self.project, self.env)
        self.details["memory_build_seconds"] = round(seconds, 2)
        return peak / 2**20


#: Run in a fresh interpreter (so that its imports are not the harness's): time each chapter alone.
_CHAPTER_TIMER = """
import json, sys, time
from pathlib import Path
from nbclient import NotebookClient
from papermill.iorw import load_notebook_node
from papermill.parameterize import parameterize_notebook

params = json.loads(sys.argv[1])
times = {{}}
for name, received in params.items():
    nb = load_notebook_node(str(Path({chapters!r}) / (name + ".ipynb")))
    nb = parameterize_notebook(nb, received, kernel_name="python3")
    client = NotebookClient(nb, kernel_name="python3", timeout={timeout},
                            resources={{"metadata": {{"path": {chapters!r}}}}})
    t0 = time.perf_counter()
    with client.setup_kernel():
        t1 = time.perf_counter()
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
        t2 = time.perf_counter()
    times[name] = {{"kernel_start": round(t1 - t0, 3), "cells": round(t2 - t1, 3)}}
print(json.dumps(times))
"""


def _timings_from_log(stderr: str) -> dict[str, float]:
    """The per-chapter and Sphinx seconds that ``thalbook build`` prints."""
    found = {m[0]: float(m[1]) for m in re.findall(r"executed\s+(\w+) \(([\d.]+) s\)", stderr)}
    html = re.search(r"html\s+built \(([\d.]+) s\)", stderr)
    if html:
        found["(sphinx html)"] = float(html[1])
    return found


# --------------------------------------------------------------------------- report


def machine() -> dict[str, Any]:
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    except OSError:
        commit = ""
    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "commit": commit,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def summarise(bench: Bench, reps: int, peak_mib: float | None, info: dict[str, Any]) -> dict[str, Any]:
    medians = {s: round(statistics.median(v), 3) for s, v in bench.samples.items() if v}
    ratios = {}
    for name, (num, den, target) in RATIOS.items():
        if num in medians and den in medians and medians[den] > 0:
            value = round(medians[num] / medians[den], 3)
            ratios[name] = {"value": value, "target": target, "met": value <= target}
    for name, (num, den, target) in CPU_RATIOS.items():
        if CPU_SECONDS.get(num) and CPU_SECONDS.get(den):
            value = round(statistics.median(CPU_SECONDS[num]) / statistics.median(CPU_SECONDS[den]), 3)
            ratios[name] = {"value": value, "target": target, "met": value <= target}
    if peak_mib is not None:
        ratios["peak_rss_mib"] = {"value": round(peak_mib, 1), "target": PEAK_RSS_TARGET_MIB,
                                  "met": peak_mib < PEAK_RSS_TARGET_MIB}
    info["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    return {
        "medians_s": medians,
        "peak_rss_mib": round(peak_mib, 1) if peak_mib is not None else None,
        "ratios": ratios,
        "samples_s": {s: [round(x, 3) for x in v] for s, v in bench.samples.items() if v},
        "cpu_s": CPU_SECONDS,
        "details": bench.details,
        "repetitions": reps,
        "jupyter_book_flags": bench.jb_flags,
        "notes": bench.notes,
        "machine": info,
    }


def table(report: dict[str, Any]) -> str:
    rows = [f"{'scenario':<15} {'median s':>9}   samples (s)"]
    for scenario, median in report["medians_s"].items():
        samples = ", ".join(f"{x:.2f}" for x in report["samples_s"][scenario])
        rows.append(f"{scenario:<15} {median:>9.2f}   {samples}")
    if report["peak_rss_mib"] is not None:
        rows.append(f"{'peak RSS':<15} {report['peak_rss_mib']:>7.0f} MiB (cold build, kernels included)")
    rows += ["", f"{'ratio':<15} {'value':>9} {'target':>8}  met"]
    for name, r in report["ratios"].items():
        rows.append(f"{name:<15} {r['value']:>9.3f} {'<= ' if name != 'peak_rss_mib' else '< '}"
                    f"{r['target']:>5}  {'yes' if r['met'] else 'NO'}")
    m = report["machine"]
    rows += ["", f"{m['cores']} cores, Python {m['python']}, {m['date']}, load average "
                 f"{m['load_average_at_start'][0]} at start, {m['load_average_at_end'][0]} at end"]
    rows += [f"note: {n}" for n in report["notes"]]
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3, help="repetitions of every scenario (default: 3)")
    parser.add_argument("--quick", action="store_true", help="one repetition")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results",
                        help="working directory (default: benchmarks/results)")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "bench.json",
                        help="where to write the results (default: benchmarks/results/bench.json)")
    parser.add_argument("--only", default=",".join(SCENARIOS),
                        help=f"comma-separated scenarios to run (default: all: {','.join(SCENARIOS)})")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory build")
    parser.add_argument("--project", type=Path, default=ROOT,
                        help="measure the project in this directory (default: this one; e.g. a git worktree "
                             "of an older commit, to compare)")
    args = parser.parse_args(argv)
    reps = 1 if args.quick else args.reps
    wanted = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(wanted) - set(SCENARIOS)
    if unknown:
        parser.error(f"--only: unknown scenario(s) {sorted(unknown)}; known: {', '.join(SCENARIOS)}")
    if {"warm", "one_param", "pdf", "floor"} & set(wanted) and "cold" not in wanted:
        parser.error("--only: warm, one_param, pdf and floor start from the cold build: include cold")

    info = machine()
    bench = Bench(args.out.resolve(), args.project.resolve())
    bench.snapshot()
    log(f"benchmarks: {reps} repetition(s) of {', '.join(wanted)} in {bench.out}")
    try:
        for rep in range(1, reps + 1):
            for scenario in SCENARIOS:
                if scenario not in wanted:
                    continue
                seconds = getattr(bench, scenario)()
                bench.samples[scenario].append(seconds)
                log(f"  rep {rep}/{reps}  {scenario:<14} {seconds:7.2f} s")
        peak = None
        if not args.no_memory:
            peak = bench.peak_rss()
            log(f"  peak RSS of a cold build: {peak:.0f} MiB")
    except CommandFailed as exc:
        log(f"benchmarks: {exc}")
        return 1
    report = summarise(bench, reps, peak, info)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(table(report))
    print(f"\nwritten: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
