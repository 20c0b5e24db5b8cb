"""`python -m minidl.compile SPEC [options]` (also `minidl SPEC`): the MDL compiler.

A straight chain of the pipeline's stages: read → parse → check → `--set` → then a summary,
an emitted form, or build → train. Exit codes: 0 success; 2 the spec, its data or the
command line is wrong; 1 training failed (diverged, out of memory, a sweep's cell failed);
130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from minidl.cli.exits import EXIT_INTERRUPTED, EXIT_OK, EXIT_TRAINING_FAILED, EXIT_USAGE
from minidl.cli.newest_run import newest_run
from minidl.lang import (
    Diagnostic,
    Spec,
    SpecError,
    diagnose,
    format_spec,
    format_text,
    read_source,
)
from minidl.lang.errors import render_all, sort_diagnostics
from minidl.lang.ir import spec_schema
from minidl.lang.settings import SettingsError, apply_settings
from minidl.lang.summary import summarize

__all__ = ["UsageError", "main", "read_spec"]

EMITS = ("fmt", "ir", "schema", "python", "onnx")


class UsageError(Exception):
    """A mistake on the command line or with a file, told in one line."""


def read_spec(path: Path) -> str:
    """The text of a spec file, or a one-line `UsageError` saying why it cannot be read."""
    try:
        return read_source(str(path))
    except SpecError as caught:
        (d,) = caught.diagnostics
        where = f"{path}:{d.line}" if d.line > 1 else str(path)
        raise UsageError(f"{where}: {d.message}") from None


def arguments() -> argparse.ArgumentParser:
    """The command line's options, as `--help` shows them."""
    parser = argparse.ArgumentParser(
        prog="minidl",
        description="Compile an MDL spec: check it and print a summary, emit it, or train it.",
        epilog="exit codes: 0 success, 1 training failed (diverged, out of memory, a sweep's "
        "cell failed), 2 bad spec, data or command line, 130 interrupted. "
        "Docs: docs/LANGUAGE.md",
    )
    parser.add_argument("spec", type=Path, help="the .mdl file, or a run folder that --train wrote")
    parser.add_argument("--train", action="store_true", help="train it (a sweep runs its grid)")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a setting, e.g. --set sgd.lr=0.01 (repeatable)",
    )
    parser.add_argument(
        "--emit",
        choices=EMITS,
        help="print canonical text (fmt), the IR as JSON "
        "(ir), the IR's JSON Schema (schema) or a training script (python)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="where run folders go (runs/); with a run folder, the file to write",
    )
    parser.add_argument(
        "--predict",
        type=Path,
        nargs="+",
        metavar="DATA.csv",
        help="(run folder) predict each row of a CSV (or images: a folder or image files)",
    )
    parser.add_argument(
        "--resume", action="store_true", help="(run folder) continue an interrupted run"
    )
    parser.add_argument(
        "--jobs",
        type=_positive,
        default=None,
        metavar="N",
        help="parallel processes for a sweep (default: the number of cores)",
    )
    parser.add_argument(
        "--executor",
        choices=("local", "ray"),
        default="local",
        help="where a sweep's cells run: worker processes here (local) or Ray tasks (ray)",
    )
    parser.add_argument(
        "--address",
        default=None,
        metavar="ADDR",
        help="with --executor ray, the cluster's head HOST:PORT (default: $RAY_ADDRESS, "
        "else a Ray instance started here)",
    )
    parser.add_argument(
        "--log",
        choices=("tensorboard",),
        default=None,
        help="with --train or --resume: also write TensorBoard event files into the run "
        "folder (needs the extra minidl[tensorboard])",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress, only the final report")
    return parser


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return int(text)


def emit(spec: Spec, form: str, name: str, text: str, settings: Sequence[str]) -> str:
    """The `--emit` forms of a spec: `fmt` reformats the source text, keeping its comments
    (or, with `--set` overrides, prints the resolved spec, which has none)."""
    if form == "fmt":
        if settings:
            return format_spec(spec).rstrip("\n")
        return format_text(text, spec.source or "<string>").rstrip("\n")
    if form == "ir":
        return spec.model_dump_json(indent=2)
    if form == "schema":
        return json.dumps(spec_schema(), indent=2)
    from minidl.compiler.python_script import emit_python

    return emit_python(spec, name)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    args = arguments().parse_args(argv)
    # `--predict` takes several paths only for images; elsewhere it is the one CSV file.
    args.predict_all = list(args.predict or [])
    args.predict = args.predict_all[0] if args.predict_all else None
    text = ""
    if args.log is not None:
        problem = _log_problem(args)
        if problem is not None:
            print(f"minidl: error: {problem}", file=sys.stderr)
            return EXIT_USAGE
    newest = newest_run(args.spec)
    if newest is not None:
        print(f"minidl: {args.spec}: taking the newest run, {newest}", file=sys.stderr)
        args.spec = newest
    if args.spec.is_dir():
        from minidl.cli.run_command import run_folder_command

        return run_folder_command(args)
    try:
        text = read_spec(args.spec)
        spec, diagnostics = diagnose(text, filename=str(args.spec))
        report(diagnostics, text)
        if spec is None:
            return EXIT_USAGE
        spec = apply_settings(spec, args.set)
        if args.predict or args.resume or args.emit == "onnx":
            raise UsageError(f"{args.spec}: --predict, --resume and --emit onnx take a run folder")
        if args.emit:
            print(emit(spec, args.emit, args.spec.stem, text, args.set))
            return EXIT_OK
        if not args.train:
            if spec.sweep is not None:  # a cell whose options contradict (E137), as --train
                from minidl.cli.sweep_grid import cells

                cells(spec)
            print(summarize(spec, str(args.spec)))
            return EXIT_OK
        return _train(spec, args)
    except SpecError as caught:
        print(
            caught.render(None if caught.text or isinstance(caught, SettingsError) else text),
            file=sys.stderr,
        )
        return EXIT_USAGE
    except UsageError as caught:
        print(f"minidl: error: {caught}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:  # before training started, or while its files were written
        print("minidl: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _log_problem(args: argparse.Namespace) -> str | None:
    """Why `--log` cannot be honoured (it logs training; it needs its package), or None."""
    if not (args.train or args.resume):
        return "--log tensorboard logs training: add --train (or --resume with a run folder)"
    from minidl.cli.tensorboard_log import require_tensorboard

    return require_tensorboard()


def report(diagnostics: Sequence[Diagnostic], text: str) -> None:
    """Print diagnostics (errors, then warnings go with them) to stderr, quoting `text`."""
    if diagnostics:
        print(render_all(sort_diagnostics(diagnostics), text), file=sys.stderr)


def _train(spec: Spec, args: argparse.Namespace) -> int:
    from minidl.cli.one_run import train_spec

    args.out = args.out or Path("runs")
    if spec.sweep is None and (args.executor != "local" or args.address):
        raise UsageError(
            "--executor and --address run a sweep's cells; this spec has no `sweep` "
            "(add one, or drop them)"
        )
    try:
        _check_out(args.out)
        if spec.sweep is not None:
            from minidl.cli.sweep import run_sweep

            return run_sweep(
                spec,
                args.spec.stem,
                args.out,
                jobs=args.jobs,
                quiet=args.quiet,
                executor=args.executor,
                address=args.address,
                log=args.log is not None,
            )
        return train_spec(
            spec, args.spec.stem, args.out, quiet=args.quiet, log=args.log is not None
        )
    except OSError as caught:  # the run folder could not be written (disk full, removed...)
        where = f"{caught.filename}: " if caught.filename else ""
        print(f"minidl: error: {where}{caught.strerror or caught}", file=sys.stderr)
        return EXIT_USAGE
    except (MemoryError, torch_out_of_memory()):
        print(
            "minidl: error: training ran out of memory; use fewer or narrower layers,"
            " a smaller batch, or fewer runs",
            file=sys.stderr,
        )
        return EXIT_TRAINING_FAILED


def torch_out_of_memory() -> type[Exception]:
    """torch's out-of-memory error (CPU or GPU), imported only once training has begun."""
    import torch

    return torch.OutOfMemoryError


def _check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: is a file, not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
        # A name of its own: two runs sharing `runs/` removed each other's fixed-name probe.
        with tempfile.NamedTemporaryFile(prefix=".minidl-write-test-", dir=out):
            pass
    except OSError as caught:
        raise UsageError(f"--out {out}: cannot write there: {caught.strerror}") from None


if __name__ == "__main__":
    sys.exit(main())
