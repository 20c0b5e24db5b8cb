"""Opening a run folder that `--train` wrote: its spec, figures, data description, weights.

`data.json` says what predicting needs without the training data: the feature columns in
order, the target's name, the classes in sorted order and the normalisation's statistics.
Every fault (a missing or damaged file, weights of another network, a newer format) is a
`RunFolderError` naming the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from minidl.compiler.program import DTYPES, Program, build_model, build_schedule
from minidl.compiler.words import LOSSES, OPTIMIZERS
from minidl.data import Dataset, Normalizer, read_header
from minidl.data.encoding import Encoding
from minidl.lang import Spec, SpecError, diagnose, ir
from minidl.lang.carried import Carried
from minidl.runs.folder_checks import check_agreement, check_finite
from minidl.runs.run_files import DataFile, MetricsFile, read_history, read_model
from minidl.runs.run_folder import (
    FORMAT_VERSION,
    RunFolderError,
    load_into,
    load_weights,
    write_json,
)

__all__ = ["SavedRun", "data_description", "is_run_folder", "load_program", "open_run"]


def is_run_folder(path: Path) -> bool:
    """Whether `path` is meant as a run folder (a folder, rather than a spec file)."""
    return path.is_dir()


def data_description(program: Program) -> dict[str, Any]:
    """What `data.json` keeps of a compiled program's data."""
    spec, (train, _) = program.spec, program.data
    features, target = tuple(program.feature_names), ""
    if isinstance(spec.data, ir.SeededData):
        features, target = features or spec.data.features, spec.data.target
    elif isinstance(spec.data, ir.CsvData):
        target = spec.data.targets[0]
        if not features:
            base = Path(spec.source).parent if spec.source else Path.cwd()
            features = read_header(base / spec.data.train).features(target)
    normalizer = program.normalizer or Normalizer("none")
    description: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "features": list(features),
        "target": target,
        "outputs": train.outputs,
        "classes": None if program.labels is None else list(program.labels),
        "normalize": normalizer.to_dict(),
        "spec_source": str(Path(spec.source).resolve()) if spec.source else None,
        **({} if isinstance(train.shape, int) else {"image": list(train.shape)}),
    }
    if program.encoding is not None:
        description["targets"] = list(program.targets)
        description["task"] = "regress" if program.regress else "classify"
        description["encoding"] = program.encoding.to_dict()
        if program.target_normalizer is not None:
            description["target_normalize"] = program.target_normalizer.to_dict()
    return description


def write_data_description(folder: Path, program: Program) -> None:
    """Write `data.json` (atomically)."""
    write_json(folder / "data.json", data_description(program))


@dataclass
class SavedRun:
    """A run folder's contents, checked: the spec, `metrics.json` (or None), `data.json`."""

    folder: Path
    spec: Spec
    metrics: dict[str, Any] | None
    data: dict[str, Any]

    @property
    def status(self) -> str:
        """`completed`, `interrupted`, `diverged`, or `running` (killed before any result)."""
        return str(self.metrics.get("status")) if self.metrics else "running"

    @property
    def features(self) -> tuple[str, ...]:
        """The feature columns, in the training file's order."""
        return tuple(self.data["features"])


def open_run(folder: Path | str) -> SavedRun:
    """Read and check a run folder's spec, data description, metrics and history, each
    through its model (`minidl.runs.run_files`), and that they agree with each other."""
    folder = Path(folder)
    if not folder.is_dir():
        raise RunFolderError(folder, "not a folder")
    spec_path = folder / "spec.mdl"
    try:
        text = spec_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RunFolderError(
            spec_path, "missing: this is not a run folder that --train wrote"
        ) from None
    except (OSError, UnicodeDecodeError) as caught:
        raise RunFolderError(spec_path, f"cannot be read ({caught})") from None
    spec, diagnostics = diagnose(text, filename=str(spec_path))
    if spec is None:
        first = next((d for d in diagnostics if d.severity == "error"), diagnostics[0])
        raise RunFolderError(spec_path, f"damaged: line {first.line}: {first.message}")
    data = read_model(folder / "data.json", DataFile)
    metrics_path = folder / "metrics.json"
    metrics = read_model(metrics_path, MetricsFile) if metrics_path.exists() else None
    history = read_history(folder / "history.csv") if metrics is not None else None
    check_agreement(folder, spec, data, metrics, history)
    try:
        encoding_of(data.model_dump())
        target_normalizer_of(data.model_dump())
    except ValueError as caught:
        raise RunFolderError(folder / "data.json", f"damaged: {caught}") from None
    if data.spec_source:
        spec = spec.model_copy(update={"source": data.spec_source})
    return SavedRun(
        folder,
        spec,
        None if metrics is None else metrics.model_dump(exclude_unset=True),
        data.model_dump(),
    )


def encoding_of(data: dict[str, Any]) -> Encoding | None:
    """The feature encoding that `data.json` keeps (None before v3 and for the disk)."""
    if data.get("encoding") is None:
        return None
    encoding = Encoding.from_dict(data["encoding"])
    if list(encoding.names) != list(data.get("features") or []):
        raise ValueError("`encoding` does not list the `features`")
    return encoding


def target_normalizer_of(data: dict[str, Any]) -> Normalizer | None:
    """For values to predict (regression), the targets' normaliser; None for classes."""
    if data.get("task") != "regress":
        return None
    return Normalizer.from_dict(data.get("target_normalize") or {"kind": "none"})


def load_program(folder: Path | str) -> Program:
    """The run's `Program` on the CPU with its trained weights, in evaluation mode.

    Nothing of the training data is read: the widths, classes and normalisation come from
    `data.json`.
    """
    run = open_run(folder)
    return program_of(run)


def program_of(run: SavedRun) -> Program:
    """Build `run`'s network and load its weights (a `RunFolderError` if they do not fit)."""
    spec, data = run.spec, run.data
    generator = torch.Generator().manual_seed(spec.train.seed)
    encoding = encoding_of(data)
    features = len(data["features"]) if encoding is None else encoding.width
    outputs = int(data["outputs"])
    image = data.get("image")
    shape: Carried = features
    if isinstance(image, list) and len(image) == 3 and all(isinstance(v, int) for v in image):
        shape = (image[0], image[1], image[2])
    try:
        model = build_model(spec, shape, outputs, generator)
    except SpecError as caught:
        message = caught.diagnostics[0].message if caught.diagnostics else str(caught)
        raise RunFolderError(
            run.folder / "spec.mdl", f"does not fit data.json: {message}"
        ) from None
    dtype = DTYPES[spec.train.dtype]
    model.to(torch.device("cpu"), dtype)
    weights_path = run.folder / "weights.safetensors"
    weights = load_weights(weights_path)
    check_finite(weights_path, weights)
    load_into(model, weights, weights_path)
    model.eval()
    optimizer = OPTIMIZERS[spec.optimizer.kind].minidl(spec.optimizer, model.param())
    loss = LOSSES[spec.loss.name].minidl(spec.loss)
    sample = (shape,) if isinstance(shape, int) else shape
    empty = Dataset(torch.zeros(0, *sample, dtype=dtype), torch.zeros(0, outputs, dtype=dtype))
    classes = data.get("classes")
    labels = None if classes is None else tuple(classes)
    normalizer = Normalizer.from_dict(data.get("normalize") or {"kind": "none"})
    return Program(
        spec,
        model,
        loss,
        optimizer,
        build_schedule(spec),
        (empty, None),
        generator,
        labels=labels,
        normalizer=None if normalizer.kind == "none" else normalizer,
        feature_names=run.features,
        encoding=encoding,
        targets=tuple(data.get("targets") or [data.get("target")]),
        target_normalizer=target_normalizer_of(data),
    )
