"""Stage 6: training a spec from the command line: progress, run folder, final report.

Everything a run leaves behind is written atomically. A diverging run (exit 1) and an
interrupted one (Ctrl-C, exit 130) still leave their history and the weights of the last
complete epoch.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import platform
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

import torch

import minidl
from minidl.cli.data_warnings import print_warnings
from minidl.cli.exits import EXIT_INTERRUPTED, EXIT_OK, EXIT_TRAINING_FAILED
from minidl.cli.tensorboard_log import TensorBoardLog, has_events
from minidl.compiler.program import Program, compile_spec, final_record
from minidl.lang import Spec, format_spec
from minidl.lang.registry import statement_word
from minidl.runs.checkpoint import Checkpoints, restore
from minidl.runs.run_folder import (
    FORMAT_VERSION,
    RunFolderError,
    new_run_folder,
    remove_stale_temporaries,
    weights_of,
    write_atomic,
    write_history,
    write_json,
    write_weights,
)
from minidl.runs.saved_run import SavedRun, open_run, program_of, write_data_description
from minidl.train import DivergenceError, EpochRecord

__all__ = ["Progress", "deferred_interrupt", "resume_run", "train_spec", "versions"]


def versions() -> dict[str, str]:
    """The versions a result depends on."""
    return {
        "minidl": minidl.__version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
    }


class Progress:
    """One bar over the epochs on a terminal; otherwise about ten plain lines, or none (quiet)."""

    def __init__(
        self, total: int, quiet: bool, stream: TextIO | None = None, unit: str = "epoch"
    ) -> None:
        self.total = total
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.every = max(1, total // 10)
        self.bar: Any = None
        if not quiet and self.stream.isatty():
            from tqdm import tqdm

            self.bar = tqdm(
                total=total, unit=unit, file=self.stream, dynamic_ncols=True, leave=False
            )

    def update(self, done: int, text: str) -> None:
        """Show that `done` of `total` are complete, with `text` beside the count."""
        if self.bar is not None:
            self.bar.set_postfix_str(text, refresh=False)
            self.bar.update(done - self.bar.n)
        elif not self.quiet and (done % self.every == 0 or done == self.total):
            print(
                f"{done:>{len(str(self.total))}}/{self.total}  {text}", file=self.stream, flush=True
            )

    def close(self) -> None:
        """Take the bar off the terminal."""
        if self.bar is not None:
            self.bar.close()


def percent(value: float, width: int = 0) -> str:
    """An error rate for people: `3.70 %`, or `n/a` where there is no test set."""
    return "n/a".rjust(width + 2) if math.isnan(value) else f"{value:{width}.2f} %"


def number(value: float | None, width: int = 0) -> str:
    """An RMSE or R² for people: six significant digits, or `n/a` where there is none."""
    if value is None or math.isnan(value):
        return "n/a".rjust(width)
    return f"{value:{width}.6g}"


def describe_epoch(record: EpochRecord) -> str:
    """One epoch's progress line: loss, train error, validation error (if any), test error
    (or RMSE and R², the validation set's before the test set's)."""
    if record.regression:
        val = ""
        if record.val_rmse is not None:
            val = f"val rmse {number(record.val_rmse)}  val r2 {number(record.val_r2)}  "
        return (
            f"loss {record.loss:.4f}  train rmse {number(record.train_rmse)}  {val}"
            f"test rmse {number(record.test_rmse)}  test r2 {number(record.test_r2)}"
        )
    val = "" if record.val_error is None else f"val error {record.val_error:5.2f} %  "
    return (
        f"loss {record.loss:.4f}  train error {record.train_error:5.2f} %  {val}"
        f"test error {percent(record.test_error, 5)}"
    )


def train_spec(spec: Spec, name: str, out: Path, quiet: bool = False, log: bool = False) -> int:
    """Compile and train `spec`, write its run folder, print the report; return the exit code."""
    started = time.perf_counter()
    program = compile_spec(spec)
    print_warnings(program.warnings)
    folder = new_run_folder(out, name)
    write_atomic(folder / "spec.mdl", format_spec(spec).encode())
    write_data_description(folder, program)
    return _run(program, folder, name, [], started, quiet, log)


def resume_run(folder: Path, quiet: bool = False, log: bool = False) -> int:
    """Continue an interrupted (or killed) run in its folder from its last checkpoint."""
    started = time.perf_counter()
    run = open_run(folder)
    remove_stale_temporaries(folder)
    if run.status == "completed":
        program_of(run)  # its weights must still be whole for that to be true
        print(f"{folder}: the run is already complete ({_epochs(run)} epochs); nothing to do")
        return EXIT_OK
    if run.spec.train.backend == "torch":
        raise RunFolderError(folder / "spec.mdl", "backend=torch runs keep no checkpoint")
    program = compile_spec(run.spec)
    # Their places are in the folder's spec.mdl, which was parsed; `source` names the
    # original spec only so that data paths resolve as they did.
    spec_path = str(folder / "spec.mdl")
    print_warnings(dataclasses.replace(w, filename=spec_path) for w in program.warnings)
    history = restore(program, folder)
    if not quiet:
        print(f"resuming {folder} after epoch {len(history)}", file=sys.stderr)
    name = folder.name.rsplit("-", 1)[0]
    return _run(program, folder, name, history, started, quiet, log or has_events(folder))


def _epochs(run: SavedRun) -> int:
    return int((run.metrics or {}).get("epochs_completed", 0))


def _run(
    program: Program,
    folder: Path,
    name: str,
    history: list[EpochRecord],
    started: float,
    quiet: bool,
    log: bool = False,
) -> int:
    """Train `program` from `history`'s end, keeping checkpoints (and, with `log`, a
    TensorBoard event file); write the results."""
    spec = program.spec
    done = list(history)
    kept = {"weights": weights_of(program.model)}
    checkpoints = Checkpoints(folder, program) if spec.train.backend == "minidl" else None
    progress = Progress(spec.train.epochs, quiet)
    board = TensorBoardLog(folder, len(history) + 1) if log else None

    def on_epoch(record: EpochRecord) -> None:
        history.append(record)
        kept["weights"] = weights_of(program.model)
        if checkpoints is not None:
            checkpoints.epoch_done(history)
        if board is not None:
            board.epoch(record, program.schedule.lr_at(record.epoch - 1))
        progress.update(record.epoch, describe_epoch(record))

    status, code, failure = "completed", EXIT_OK, None
    try:
        program.fit(callback=on_epoch, history=done)
    except DivergenceError as diverged:
        status, code, failure = "diverged", EXIT_TRAINING_FAILED, diverged
    except KeyboardInterrupt:
        status, code = "interrupted", EXIT_INTERRUPTED
    finally:
        progress.close()
        if board is not None:
            board.close()
    if status == "completed":  # with early stopping, the best epoch's weights
        kept["weights"] = weights_of(program.model)
    wall = time.perf_counter() - started
    with deferred_interrupt() as interrupted:
        if checkpoints is not None and status != "completed":
            checkpoints.flush()
        _write_results(folder, spec, history, kept["weights"], status, wall)
        if checkpoints is not None and status == "completed":
            checkpoints.remove()
    if status == "completed" and not interrupted():
        try:
            _plots(folder, program, history, name)
        except Exception as caught:  # a finished run's results are written: it stays finished
            reason = str(caught).splitlines()[0] if str(caught) else type(caught).__name__
            print(f"minidl: warning: the plots were not drawn: {reason}", file=sys.stderr)
    _report(spec, history, status, failure, wall, folder, quiet)
    return EXIT_INTERRUPTED if interrupted() else code


@contextlib.contextmanager
def deferred_interrupt() -> Iterator[Callable[[], bool]]:
    """Hold Ctrl-C back while the results are written, so that the folder stays whole; the
    caller learns that one came (and exits 130) from the flag it is given."""
    came = [False]
    if threading.current_thread() is not threading.main_thread():
        yield lambda: came[0]
        return

    def hold(signum: int, frame: object) -> None:
        came[0] = True

    previous = signal.signal(signal.SIGINT, hold)
    try:
        yield lambda: came[0]
    finally:
        signal.signal(signal.SIGINT, previous)


def _write_results(
    folder: Path,
    spec: Spec,
    history: list[EpochRecord],
    weights: dict[str, torch.Tensor],
    status: str,
    wall: float,
) -> None:
    write_history(folder / "history.csv", history)
    write_weights(folder / "weights.safetensors", weights)
    final = final_record(spec, history) if history else None
    stopping = {}
    if spec.train.patience is not None:
        stopping = {"best_epoch": final and final.epoch, "stopped_epoch": len(history)}
    write_json(
        folder / "metrics.json",
        {
            "format_version": FORMAT_VERSION,
            "status": status,
            "epochs_completed": len(history),
            "final": final and final.as_dict(),
            **stopping,
            "seed": spec.train.seed,
            "backend": spec.train.backend,
            "device": spec.train.device,
            "dtype": spec.train.dtype,
            "wall_time_s": round(wall, 3),
            "versions": versions(),
        },
    )


def _plots(folder: Path, program: Any, history: list[EpochRecord], name: str) -> None:
    from minidl.cli.plots import plot_boundary, plot_curves

    plot_curves(history, folder / "curves.png", name)
    train, test = program.data
    if train.shape == 2:
        plot_boundary(
            program.model,
            test if test is not None else train,
            folder / "boundary.png",
            f"{name}: decision boundary, test points",
            disk=program.spec.data.radius if program.spec.data.kind == "disk" else None,
        )


def _report(
    spec: Spec,
    history: list[EpochRecord],
    status: str,
    failure: DivergenceError | None,
    wall: float,
    folder: Path,
    quiet: bool,
) -> None:
    err: Callable[[str], None] = lambda text: print(text, file=sys.stderr)  # noqa: E731
    if failure is not None:
        smaller = spec.optimizer.lr / 10
        key = f"{statement_word(spec.optimizer)}.lr"
        err(f"error: {failure}")
        err(f"  help: try a smaller learning rate, such as `--set {key}={smaller:g}`")
    if status == "interrupted":
        err(f"interrupted after {len(history)} complete epochs")
    if history and (not quiet or status == "completed"):
        last = final_record(spec, history)
        if spec.train.patience is not None:
            early = "stopped early" if len(history) < spec.train.epochs else "no early stop"
            print(f"best epoch {last.epoch} of {len(history)} kept ({early})")
        if last.regression:
            val = ""
            if last.val_rmse is not None:
                val = f"   val rmse {number(last.val_rmse)}   val r2 {number(last.val_r2)}"
            print(
                f"train rmse {number(last.train_rmse)}{val}   test rmse {number(last.test_rmse)}"
                f"   test r2 {number(last.test_r2)}"
            )
        else:
            val = "" if last.val_error is None else f"   val error {percent(last.val_error)}"
            print(
                f"train error {percent(last.train_error)}{val}"
                f"   test error {percent(last.test_error)}"
            )
        print(
            f"loss {last.loss:.6f} (epoch {last.epoch} mean)   train loss {last.train_loss:.6f}"
            + ("" if last.val_loss is None else f"   val loss {last.val_loss:.6f}")
            + f"   test loss {'n/a' if math.isnan(last.test_loss) else f'{last.test_loss:.6f}'}"
        )
    print(f"wall time {wall:.1f} s   run folder {folder}")
