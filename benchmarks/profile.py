"""Where a build's CPU goes: each chapter's kernel under cProfile, and Sphinx's HTML build.

Each chapter notebook is executed at its default parameters with nbclient, in
the environment and working directory the build gives its kernels (the data
found valid once, the results the kernels share kept in ``<out>/build``, so
that, as in a build, the first chapter that needs a shared result computes
it and the others read it), in the book's order, with one
cell added before its first (start :class:`cProfile.Profile`) and one after its
last (stop it, save the statistics, read the kernel's CPU seconds since it
started). Sphinx's HTML build runs under ``python -m cProfile`` on the stage of
an executed book (``<build>/stage``, built first when absent), with no
execution: the work Sphinx does whoever executed the notebooks.

The report gives, per chapter: the kernel's CPU seconds, the profiled cells'
seconds, the part spent importing modules, and the functions of the project
with the most cumulative time; for Sphinx, the functions with the most
cumulative time. Statistics files go to ``<out>/*.prof`` for ``snakeviz`` or
``python -m pstats``.

Run ``.venv/bin/python benchmarks/profile.py [--out DIR] [--top N] [chapter ...]``.
"""

from __future__ import annotations

import argparse
import json
import os
import pstats
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from thalbook.core import paths  # noqa: E402
from thalbook.press import cache, execute, toc  # noqa: E402

START = "import cProfile as _p\n_profile = _p.Profile()\n_profile.enable()"
STOP = ("_profile.disable()\n_profile.dump_stats({path!r})\nimport resource as _r\n"
        "_u = _r.getrusage(_r.RUSAGE_SELF)\nprint(_u.ru_utime + _u.ru_stime)")


def _import_seconds(stats: pstats.Stats) -> float:
    """Cumulative seconds in the import machinery's entry point (recursive imports counted once)."""
    return sum(v[3] for (file, _, name), v in stats.stats.items() if name == "_find_and_load" and "importlib" in file)


#: Where Sphinx's own work is (below Jupyter Book's command line, which only calls it).
SPHINX_CODE = ("/sphinx/", "/myst_nb/", "/myst_parser/", "/docutils/", "/sphinx_", "/sphinxcontrib/")


def _top(stats: pstats.Stats, n: int, inside: tuple[str, ...]) -> list[tuple[float, float, str]]:
    """The ``n`` functions of files whose path contains one of ``inside`` with the most cumulative time,
    and the ``n`` functions of any file with the most time of their own."""
    rows = [(v[3], v[1], f"{Path(file).parent.name}/{Path(file).name}:{line} {name}")
            for (file, line, name), v in stats.stats.items() if any(part in file for part in inside)]
    own = [(v[2], v[1], f"(own time) {Path(file).parent.name}/{Path(file).name}:{line} {name}")
           for (file, line, name), v in stats.stats.items()]
    return sorted(rows, reverse=True)[:n] + sorted(own, reverse=True)[:n]


def profile_chapter(notebook: Path, out: Path, top: int, env: dict[str, str]) -> dict:
    nb = nbformat.read(notebook, as_version=4)
    prof = out / f"{notebook.stem}.prof"
    nb.cells.insert(0, nbformat.v4.new_code_cell(START))
    nb.cells.append(nbformat.v4.new_code_cell(STOP.format(path=str(prof))))
    client = NotebookClient(nb, timeout=execute.CELL_TIMEOUT_S, kernel_name=execute.KERNEL,
                            resources={"metadata": {"path": str(notebook.parent)}})
    saved = dict(os.environ)
    os.environ.update(env)  # the kernel manager starts the kernel with this process's environment
    try:
        client.execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    kernel_cpu = float(nb.cells[-1].outputs[0]["text"].strip())
    stats = pstats.Stats(str(prof))
    return {"chapter": notebook.stem, "kernel_cpu_s": round(kernel_cpu, 2),
            "profiled_s": round(stats.total_tt, 2), "imports_s": round(_import_seconds(stats), 2),
            "top": _top(stats, top, ("/thalbook/",))}


def profile_sphinx(stage: Path, out: Path, top: int) -> dict:
    prof = out / "sphinx.prof"
    work = out / "sphinx-build"
    shutil.rmtree(work, ignore_errors=True)
    exe = Path(sys.executable).with_name("jupyter-book")
    subprocess.run([sys.executable, "-m", "cProfile", "-o", str(prof), str(exe), "build", str(stage),
                    "--path-output", str(work), "--builder", "html", "--quiet"], check=True,
                   capture_output=True)
    stats = pstats.Stats(str(prof))
    return {"chapter": "sphinx", "profiled_s": round(stats.total_tt, 2), "imports_s": round(_import_seconds(stats), 2),
            "top": _top(stats, top, SPHINX_CODE)}


def report(rows: list[dict]) -> str:
    lines = ["| chapter | kernel CPU s | profiled s | imports s |", "| --- | --- | --- | --- |"]
    for r in rows:
        lines.append(f"| {r['chapter']} | {r.get('kernel_cpu_s', '')} | {r['profiled_s']} | {r['imports_s']} |")
    for r in rows:
        lines.append(f"\n{r['chapter']}: s (cumulative, then own), calls, function")
        lines += [f"    {cum:7.2f} {calls:7d}  {where}" for cum, calls, where in r["top"]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapters", nargs="*", help="chapter names (default: every notebook chapter, and Sphinx)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "profile")
    parser.add_argument("--top", type=int, default=8)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with paths.use_project(ROOT) as project:
        names = args.chapters or [c.name for c in toc.chapters() if c.is_notebook]
        build = args.out / "build"
        shutil.rmtree(build, ignore_errors=True)
        cache.validate_data(paths.data_dir(), build, cache.inputs_digest(paths.data_dir()))
        env = execute.kernel_environment(paths.data_dir(), build)
        rows = [profile_chapter(project.chapters / f"{name}.ipynb", args.out, args.top, env)
                for name in names if name != "sphinx"]
        if not args.chapters or "sphinx" in args.chapters:
            stage = project.build / "stage"
            if not stage.is_dir():
                subprocess.run([sys.executable, "-m", "thalbook.press.cli", "build", "--format", "html"],
                               cwd=ROOT, check=True)
            rows.append(profile_sphinx(stage, args.out, args.top))
    (args.out / "profile.json").write_text(json.dumps(rows, indent=2) + "\n")
    print(report(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
