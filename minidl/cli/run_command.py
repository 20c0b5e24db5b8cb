"""`minidl RUN_DIR [--predict DATA.csv | --emit onnx | --resume] [--out FILE]`.

Without an option: the run's spec summary, its status and final figures. Every fault of
the folder is one line naming the file (exit 2); a fault in the data to predict is the
diagnostic training would give (exit 2).
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from minidl.cli.exits import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
from minidl.cli.out_file import OutFileError, check_out_file, write_out
from minidl.data import DataError
from minidl.lang import SpecError
from minidl.lang.data_preview import in_file_diagnostic
from minidl.lang.errors import render
from minidl.runs.run_folder import RunFolderError

__all__ = ["run_folder_command", "summary"]


def run_folder_command(args: argparse.Namespace) -> int:
    """Serve the command line for a run folder; return the exit code."""
    from minidl.runs.saved_run import open_run, program_of

    chosen = [
        flag
        for flag, on in (
            ("--predict", args.predict),
            ("--emit", args.emit),
            ("--resume", args.resume),
            ("--train", args.train),
        )
        if on
    ]
    try:
        if len(chosen) > 1 or args.train or (args.emit not in (None, "onnx")) or args.set:
            raise _Usage(
                f"{args.spec}: a run folder takes one of --predict, --emit onnx, --resume"
                + ("" if not args.set else " (no --set: it records what ran)")
            )
        if _holds_sweep(args.spec):
            return _sweep_folder(args)
        if args.out is not None:
            check_out_file(args.out, args.spec)
        if args.resume:
            from minidl.cli.one_run import resume_run

            return resume_run(args.spec, quiet=args.quiet, log=args.log is not None)
        run = open_run(args.spec)
        if args.predict is None and args.emit is None:
            program_of(run)  # a damaged or mismatched weights file is an error, not a summary
            print(summary(run))
            return EXIT_OK
        program = program_of(run)
        if args.predict is not None and "image" in run.data and not run.features:
            from minidl.cli.predict_images import predict_images

            predict_images(program, getattr(args, "predict_all", [args.predict]), args.out)
            return EXIT_OK
        if args.predict is not None:
            from minidl.cli.predict import predict_csv

            if len(getattr(args, "predict_all", [])) > 1:
                raise _Usage(f"{args.spec}: --predict takes one CSV file")
            known = (*program.targets, *_ignored(run.spec)) or (str(run.data.get("target", "")),)
            predict_csv(program, tuple(str(name) for name in known), args.predict, args.out)
            return EXIT_OK
        from minidl.export.onnx_graph import to_onnx

        try:
            data = to_onnx(program, args.spec.name).SerializeToString()
        except TypeError as caught:  # a stage without an ONNX form (a plug-in's word)
            raise _Usage(f"{args.spec}: cannot export to ONNX: {caught}") from None
        if args.out is None:
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        else:
            write_out(args.out, data)
        return EXIT_OK
    except (RunFolderError, _Usage, OutFileError) as caught:
        print(f"minidl: error: {caught}", file=sys.stderr)
        return EXIT_USAGE
    except DataError as caught:
        print(_render(caught), file=sys.stderr)
        return EXIT_USAGE
    except SpecError as caught:  # the data a sweep's folder summarises or resumes
        print(caught.render(), file=sys.stderr)
        return EXIT_USAGE
    except OSError as caught:
        where = f"{caught.filename}: " if caught.filename else ""
        print(f"minidl: error: {where}{caught.strerror or caught}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("minidl: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as caught:  # the optional onnx package, and nothing else expected
        from minidl.export.onnx_graph import OnnxMissing

        if isinstance(caught, OnnxMissing):
            print(f"minidl: error: {caught}", file=sys.stderr)
            return EXIT_USAGE
        raise


def _sweep_folder(args: argparse.Namespace) -> int:
    """A sweep's folder: `--resume` continues it; alone, its status."""
    from minidl.cli.sweep import resume_sweep
    from minidl.cli.sweep_grid import cells
    from minidl.cli.sweep_results import read_sweep, search_table, table
    from minidl.lang.summary import summarize

    if args.resume:
        return resume_sweep(args.spec, args.jobs, quiet=args.quiet, log=args.log is not None)
    if args.predict is not None or args.emit is not None:
        raise _Usage(
            f"{args.spec}: a sweep's folder takes --resume; predict and export take the folder "
            "of one run (train the chosen configuration with --train)"
        )
    spec, status, done = read_sweep(args.spec)
    sweep = spec.sweep
    assert sweep is not None  # read_sweep refuses a spec without one
    grid = [cell for cell in cells(spec) if cell.index in done]
    print(summarize(spec, str(args.spec / "spec.mdl")))
    print(f"\nstatus {status}   cells {len(grid)}/{len(cells(spec))} complete")
    if grid:
        header = " × ".join(axis.key for axis in sweep.axes) or "cell"
        results = [done[cell.index] for cell in grid]
        print(
            table(grid, results, header) if sweep.samples is None else search_table(grid, results)
        )
    return EXIT_OK


def _ignored(spec: object) -> tuple[str, ...]:
    """The columns the spec's data leaves out (v3 `ignore=[...]`)."""
    data = getattr(spec, "data", None)
    return tuple(getattr(data, "ignore", ()))


def _holds_sweep(folder: Path) -> bool:
    """Whether the folder is a sweep's (its spec has a `sweep` statement, and it is not one
    run's folder: a `sweep` line added to a run's spec is a damaged run folder)."""
    if (folder / "data.json").exists():
        return False
    try:
        return "\nsweep " in "\n" + (folder / "spec.mdl").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False


class _Usage(Exception):
    pass


def _render(error: DataError) -> str:
    """A data fault as training shows it: place, code, message, the line, the fix."""
    if not error.line:
        return f"{error.path}: error[{error.code}]: {error.message}" + (
            f"\n  help: {error.help}" if error.help else ""
        )
    diagnostic = in_file_diagnostic(error)
    return render(diagnostic, [])


def summary(run: object) -> str:
    """The spec summary, the status and the final figures of a run folder."""
    from minidl.lang.summary import summarize
    from minidl.runs.saved_run import SavedRun

    assert isinstance(run, SavedRun)
    metrics = run.metrics or {}
    final = metrics.get("final") or {}
    try:
        table = summarize(run.spec, str(run.folder / "spec.mdl"))
    except SpecError:  # the training data moved since: data.json says what the run needs
        table = summarize(run.spec, str(run.folder / "spec.mdl"), len(run.features))
    lines = [table, ""]
    epochs = metrics.get("epochs_completed", 0)
    lines.append(f"status {run.status}   epochs {epochs}/{run.spec.train.epochs}")
    if "best_epoch" in metrics:
        lines.append(
            f"early stopping: best epoch {metrics['best_epoch']} kept, "
            f"stopped after epoch {metrics.get('stopped_epoch')}"
        )
    if final and "train_rmse" in final:
        val = ""
        if "val_rmse" in final:
            val = (
                f"val rmse {_number(final['val_rmse'])}   val r2 {_number(final.get('val_r2'))}   "
            )
        lines.append(
            f"train rmse {_number(final.get('train_rmse'))}   {val}"
            f"test rmse {_number(final.get('test_rmse'))}   "
            f"test r2 {_number(final.get('test_r2'))}   loss {final.get('loss')}"
        )
    elif final:
        val = "" if "val_error" not in final else f"val error {_percent(final['val_error'])}   "
        lines.append(
            f"train error {_percent(final.get('train_error'))}   {val}"
            f"test error {_percent(final.get('test_error'))}   loss {final.get('loss')}"
        )
    return "\n".join(lines)


def _number(value: object) -> str:
    if not isinstance(value, int | float) or math.isnan(value):
        return "n/a"
    return f"{value:.6g}"


def _percent(value: object) -> str:
    if not isinstance(value, int | float) or math.isnan(value):
        return "n/a"
    return f"{value:.2f} %"
