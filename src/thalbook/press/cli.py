"""The thalbook command: build, run, check-data, audit, params, metadata.

The project is the nearest directory, from the working directory upward,
holding ``_config.yml``, ``_toc.yml`` and ``params/default.yml``, or the one
``--project DIR`` names (:mod:`thalbook.core.paths`): an installed package
works on whichever project it is run in.

Exit codes: 0 success; 2 invalid input (a parameter, a parameter file, the
data), reported in one line that names the culprit; 1 a chapter or the book
failed to build. No traceback is shown for either.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import signal
import sys
import tempfile
import textwrap
import traceback
from pathlib import Path

from thalbook import __version__
from thalbook.core import parameters, paths
from thalbook.core.errors import InputError, Interrupted, ThalbookError
from thalbook.core.vocabulary import OPTIONS, allowed
from thalbook.press import builddir


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (and exit code 2, as argparse has it)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _plain(myst: str) -> str:
    """Short MyST (the vocabulary's wording) as terminal text: inline code loses its backticks."""
    return re.sub(r"`([^`]*)`", r"\1", myst)


def parameters_help(width: int = 79) -> str:
    """The parameters ``--set`` and ``--params`` take, each with its meaning and allowed values.

    The wording is the vocabulary's, as on the reproducibility page and in the
    methods chapter.

    Examples
    --------
    >>> print(parameters_help().splitlines()[1])
      confidence_level  confidence level of every interval; a number from 0.5 up
    """
    column = max(len(name) for name in OPTIONS) + 4
    lines = ["parameters (--set NAME=VALUE, or NAME: value in a --params file):"]
    for name, option in OPTIONS.items():
        text = f"{_plain(option.description)}; {_plain(allowed(name))}"
        lines.append(textwrap.fill(text, width, initial_indent=f"  {name:<{column - 2}}",
                                   subsequent_indent=" " * column, break_on_hyphens=False))
    return "\n".join(lines)


def _add_set_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--params", type=Path, metavar="FILE", help="parameter set (YAML) over params/default.yml")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", dest="overrides",
                        help="override one parameter (repeatable; the parameters are listed below)")


def _add_data_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, metavar="DIR", default=None,
                        help="data package directory (default: data/)")


def _add_build_options(parser: argparse.ArgumentParser) -> None:
    _add_set_option(parser)
    parser.add_argument("--format", choices=("html", "pdf", "all"), default="html",
                        help="what to build (default: html)")
    parser.add_argument("--out", default=None, metavar="DIR",
                        help="build directory: new, empty, or made by an earlier build (default: _book)")
    parser.add_argument("--jobs", type=_positive_int, default=os.cpu_count() or 1, metavar="N",
                        help="chapters executed at once (default: number of CPUs)")
    _add_data_option(parser)


def _add_project_option(parser: argparse.ArgumentParser, default: object) -> None:
    parser.add_argument("--project", type=Path, metavar="DIR", default=default,
                        help="the book's project directory (default: the nearest directory from the working "
                             "directory up that holds _config.yml, _toc.yml and params/default.yml)")


def make_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="thalbook", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"thalbook {__version__}")
    _add_project_option(parser, None)
    verbs = parser.add_subparsers(dest="verb", required=True, parser_class=_Parser)
    with_parameters = {"epilog": parameters_help(), "formatter_class": argparse.RawDescriptionHelpFormatter}
    build = verbs.add_parser("build", help="execute the chapters and build the book",
                             description="Execute the chapters (papermill, cached) and build the HTML and/or PDF book.",
                             **with_parameters)
    _add_build_options(build)
    run = verbs.add_parser("run", help="execute the chapters only",
                           description="Execute the chapters (papermill, cached) into <out>/executed without building.",
                           **with_parameters)
    _add_build_options(run)
    check = verbs.add_parser("check-data", help="validate the data package",
                             description="Validate the data package; print every problem as file:row: field: problem, "
                                         "and warn about every file its descriptor does not name.")
    _add_data_option(check)
    audit = verbs.add_parser("audit", help="check every published number",
                             description="Recompute and judge every number the two papers publish.")
    _add_data_option(audit)
    audit.add_argument("--format", choices=("table", "csv", "json"), default="table")
    audit.add_argument("--findings", action="store_true",
                       help="print the findings (one per underlying problem) instead of every check: their count "
                            "by kind, then one line each with its number, identifier, kind and the conventions "
                            "under which it holds")
    rounding = OPTIONS["rounding"]
    audit.add_argument("--rounding", default=str(rounding.default),
                       help=f"{_plain(rounding.description)}: {_plain(allowed('rounding'))} "
                            f"(default: {rounding.default})")
    params = verbs.add_parser("params", help="validate the parameters and print them",
                              description="The dry run of build's parameters: validate --params and --set "
                                          "exactly as build does and print the resolved parameter set as YAML.",
                              **with_parameters)
    _add_set_option(params)
    metadata = verbs.add_parser(
        "metadata", help="write the repository URL into CITATION.cff and .zenodo.json",
        description="Write repository.url of _config.yml, the one place it is set, into CITATION.cff "
                    "(repository-code) and .zenodo.json (the code of this version); --check only compares "
                    "(exit 1 when a file disagrees).")
    metadata.add_argument("--check", action="store_true", help="change nothing; exit 1 if a file disagrees")
    # Also after the verb; SUPPRESS: a verb given no --project keeps the one given before it.
    for verb in verbs.choices.values():
        _add_project_option(verb, argparse.SUPPRESS)
    return parser


def _data_dir(arg: Path | None) -> Path:
    # Name the directory the way the user gave it: the option, the environment, or the default.
    if arg is not None:
        given = f"--data {arg}"
    elif os.environ.get(paths.DATA_DIR_ENV):
        given = f"{paths.DATA_DIR_ENV}={os.environ[paths.DATA_DIR_ENV]}"
    else:
        given = str(paths.project().data)
    directory = (arg or paths.data_dir()).resolve()
    if not directory.is_dir():
        raise InputError(f"{given}: no such directory")
    return directory


def _check_data(args: argparse.Namespace) -> int:
    from thalbook.core.evidence import data, validate

    directory = _data_dir(args.data)
    # Files the descriptor does not name stay behind when the book is published: a warning, not a
    # problem (an editor's swap file does not spoil the package), so that nobody expects them online.
    for path, why in validate.unpublished_files(directory):
        print(f"warning: {directory.name}/{path}: {why}; it is neither published nor listed", file=sys.stderr)
    problems = data.validate(directory)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return 2
    print(f"{directory}: data package is valid")
    return 0


def _audit(args: argparse.Namespace) -> int:
    from thalbook.core.auditing import checks, findings
    from thalbook.core.evidence import data

    # checked as build checks --set rounding=..., in the same words
    rounding = parameters.parse({"rounding": args.rounding}).rounding
    package = data.load(_data_dir(args.data))
    table = checks.run_audit(package, rounding=rounding)
    sys.stdout.write(findings.format_findings(table) if args.findings else checks.format_audit(table, args.format))
    return 0


def _params(args: argparse.Namespace) -> int:
    import yaml

    from thalbook.press import params

    values = params.resolve(args.params, args.overrides)
    sys.stdout.write(yaml.safe_dump(values, sort_keys=False, allow_unicode=True))
    return 0


def _build(args: argparse.Namespace) -> int:
    from thalbook.press import params, pipeline

    values = params.resolve(args.params, args.overrides)
    data_dir = _data_dir(args.data)
    out = args.out if args.out is not None else paths.project().build
    if args.verb == "run":
        result = pipeline.run(values, out=out, data_dir=data_dir, jobs=args.jobs)
        print(result.executed_dir)
    else:
        pipeline.build(values, fmt=args.format, out=out, data_dir=data_dir, jobs=args.jobs)
    return 0


#: How .zenodo.json links the code of the version it describes: as Zenodo's GitHub integration links a
#: release (``<url>/tree/<tag>``); a ``related_identifiers`` list in .zenodo.json replaces the integration's own.
CODE_LINK = {"relation": "isSupplementTo", "scheme": "url", "resource_type": "software"}


def repository_url(root: Path) -> str:
    """``repository.url`` of ``root/_config.yml``: the one place the repository's URL is written.

    Jupyter Book's repository, issue and launch buttons read it there;
    :func:`repository_files` puts it into ``CITATION.cff`` and ``.zenodo.json``.
    """
    import yaml

    config = root / "_config.yml"
    url = ((yaml.safe_load(config.read_text(encoding="utf-8")) or {}).get("repository") or {}).get("url")
    if not isinstance(url, str) or not re.fullmatch(r"https://[^\s/]+/\S*[^\s/]", url):
        raise InputError(f"{config}: repository.url must be the repository's https URL, not {url!r}")
    return url


def repository_files(root: Path) -> dict[str, str]:
    """``CITATION.cff`` and ``.zenodo.json`` of ``root`` as they are with :func:`repository_url` in them.

    ``CITATION.cff`` gets it as ``repository-code`` (the rest of the file,
    comments included, as it is); ``.zenodo.json`` as the link to the code of
    this version, ``<url>/tree/v<version>`` (:data:`CODE_LINK`), first among
    its related identifiers.
    """
    import json

    url = repository_url(root)
    cff = (root / "CITATION.cff").read_text(encoding="utf-8")
    line = f'repository-code: "{url}"'
    if re.search(r"(?m)^repository-code:.*$", cff):
        cff = re.sub(r"(?m)^repository-code:.*$", lambda _: line, cff)
    elif re.search(r"(?m)^license:.*$", cff):
        cff = re.sub(r"(?m)^license:.*$", lambda m: f"{m.group(0)}\n{line}", cff, count=1)
    else:
        cff = cff.rstrip("\n") + f"\n{line}\n"
    zenodo = json.loads((root / ".zenodo.json").read_text(encoding="utf-8"))
    others = [r for r in zenodo.get("related_identifiers", [])
              if not all(r.get(k) == v for k, v in CODE_LINK.items())]
    zenodo["related_identifiers"] = [{"identifier": f"{url}/tree/v{__version__}", **CODE_LINK}, *others]
    return {"CITATION.cff": cff, ".zenodo.json": json.dumps(zenodo, indent=2, ensure_ascii=False) + "\n"}


def _metadata(args: argparse.Namespace) -> int:
    root = paths.project().root
    stale = [name for name, text in repository_files(root).items()
             if (root / name).read_text(encoding="utf-8") != text]
    if args.check:
        if stale:
            print(f"thalbook: {' and '.join(stale)} disagree with repository.url in {root / '_config.yml'}; "
                  "run `make metadata`", file=sys.stderr)
            return 1
        print(f"{root}: CITATION.cff and .zenodo.json agree with repository.url")
        return 0
    for name, text in repository_files(root).items():
        if name in stale:
            builddir.write_atomic(root / name, text.encode("utf-8"))
            print(f"{root / name}: written")
    if not stale:
        print(f"{root}: CITATION.cff and .zenodo.json already agree with repository.url")
    return 0


def _raise_interrupted(signum: int, frame) -> None:
    raise Interrupted(signum)


def _crash_log(exc: BaseException) -> str:
    """Write the traceback of an unexpected exception to a new file; return its path."""
    fd, path = tempfile.mkstemp(prefix="thalbook-crash-", suffix=".log")
    with os.fdopen(fd, "w") as handle:
        traceback.print_exception(exc, file=handle)
    return path


def main(argv: list[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    handler = {"build": _build, "run": _build, "check-data": _check_data, "audit": _audit,
               "params": _params, "metadata": _metadata}[args.verb]
    # SIGTERM (kill, timeout, a cancelled CI job) and SIGHUP (a closed terminal) end the
    # build as Ctrl-C does: through every cleanup on the way out.
    for signum in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if signum is not None:
            signal.signal(signum, _raise_interrupted)
    try:
        with paths.use_project(args.project) if args.project is not None else contextlib.nullcontext():
            return handler(args)
    except ThalbookError as exc:
        print(f"thalbook: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except Interrupted as exc:
        name = signal.Signals(exc.signum).name
        state = ("the published book is unchanged" if not exc.published
                 else f"the new {' and '.join(exc.published).upper()} had already been published")
        print(f"thalbook: interrupted by {name}; {state}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("thalbook: interrupted; the published book is unchanged", file=sys.stderr)
        return 130
    except ImportError as exc:
        print(f"thalbook: error: Python package {exc.name or exc} is missing from {sys.prefix}; "
              "run `make setup`", file=sys.stderr)
        return 1
    except OSError as exc:  # the machine's fault (a full disk, a read-only directory): exit 1
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        print(f"thalbook: error: {where}{builddir.os_reason(exc)}", file=sys.stderr)
        return 1
    except Exception as exc:  # a defect: one line here, the traceback in a file
        log = _crash_log(exc)
        first = (str(exc).splitlines() or [""])[0][:200]
        print(f"thalbook: internal error: {type(exc).__name__}: {first} (traceback in {log})", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
