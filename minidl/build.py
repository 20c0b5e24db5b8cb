"""Stage 5: a checked `Spec` to objects: data, a minidl model, its loss and optimiser."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from minidl.data import Dataset, disk, load_csv, one_hot_targets, stack_datasets
from minidl.lang import Spec, SpecError, ir, resolve
from minidl.lang.errors import Diagnostic
from minidl.nn import (
    Linear,
    LossMSE,
    Module,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
    flatten_parameters,
    stack,
)
from minidl.optim import SGD
from minidl.train import EnsembleCallback, EpochRecord, ProgressCallback, fit, fit_ensemble

__all__ = [
    "NN_CLASSES",
    "Ensemble",
    "Program",
    "build_model",
    "compile_ensemble",
    "compile_spec",
    "load_data",
    "run_spec",
]

NN_CLASSES: dict[str, type[Module]] = {
    "Linear": Linear,
    "ReLU": ReLU,
    "Tanh": Tanh,
    "Sigmoid": Sigmoid,
}
"""The minidl class behind each layer word of `minidl.lang.registry.LAYERS`."""

DTYPES = {"float32": torch.float32, "float64": torch.float64}


@dataclass
class Program:
    """A compiled spec: `.model`, `.loss`, `.optimizer`, `.data` (train, test), `.fit()`."""

    spec: Spec
    model: Sequential
    loss: LossMSE
    optimizer: SGD
    data: tuple[Dataset, Dataset | None]
    generator: torch.Generator

    def fit(self, callback: ProgressCallback | None = None) -> list[EpochRecord]:
        """Train as the spec says (backend, epochs, batch) and return the per-epoch history."""
        train, test = self.data
        settings = self.spec.train
        if settings.backend == "torch":
            from minidl.reference import fit_torch

            sgd = self.spec.sgd
            return fit_torch(
                self.model,
                self.loss,
                train,
                test,
                lr=sgd.lr,
                momentum=sgd.momentum,
                weight_decay=sgd.weight_decay,
                epochs=settings.epochs,
                batch_size=sgd.batch,
                generator=self.generator,
                callback=callback,
            )
        return fit(
            self.model,
            self.loss,
            self.optimizer,
            train,
            test,
            epochs=settings.epochs,
            batch_size=self.spec.sgd.batch,
            generator=self.generator,
            callback=callback,
        )


def load_data(spec: Spec, generator: torch.Generator) -> tuple[Dataset, Dataset | None]:
    """The spec's train and test sets in float64 on the CPU: drawn from `generator`, or read."""
    data = spec.data
    if isinstance(data, ir.DiskData):
        f64 = torch.float64
        train = disk(data.train, data.radius, generator=generator, dtype=f64)
        return train, disk(data.test, data.radius, generator=generator, dtype=f64)
    base = Path(spec.source).parent if spec.source else Path.cwd()
    train = load_csv(base / data.train, data.target)
    test = load_csv(base / data.test, data.target) if data.test else None
    return train, test


def build_model(spec: Spec, features: int, targets: int, generator: torch.Generator) -> Sequential:
    """The expanded network as minidl modules, initialised from `generator`, shapes checked."""
    resolution = resolve(spec, features, targets)
    if resolution.diagnostics:
        raise SpecError(resolution.diagnostics, spec.text)
    dtype = DTYPES[spec.train.dtype]
    modules: list[Module] = []
    for layer in resolution.layers:
        if layer.kind == "Linear":
            assert layer.in_features is not None and layer.out_features is not None
            modules.append(
                Linear(
                    layer.in_features,
                    layer.out_features,
                    layer.bias,
                    generator=generator,
                    dtype=dtype,
                )
            )
        else:
            modules.append(NN_CLASSES[layer.kind]())
    return Sequential(modules)


def compile_spec(spec: Spec) -> Program:
    """Build the data, model, loss and optimiser of `spec`, all from its seed.

    The seed's one generator draws, in this order, the data, the initial weights, and then
    each epoch's shuffle: the same spec and seed give bit-identical results.
    """
    _check_device(spec)
    generator = torch.Generator().manual_seed(spec.train.seed)
    train, test = load_data(spec, generator)
    outputs = _output_width(spec, train.features)
    if isinstance(spec.data, ir.CsvData) and outputs > 1:
        base = Path(spec.source).parent if spec.source else Path.cwd()
        train = one_hot_targets(train, outputs, base / spec.data.train)
        if test is not None and spec.data.test:
            test = one_hot_targets(test, outputs, base / spec.data.test)
    model = build_model(spec, train.features, train.outputs, generator)
    device, dtype = torch.device(spec.train.device), DTYPES[spec.train.dtype]
    model.to(device, dtype)
    flatten_parameters(model)
    train = train.to(device, dtype)
    test = test.to(device, dtype) if test is not None else None
    sgd = spec.sgd
    optimizer = SGD(model.param(), lr=sgd.lr, momentum=sgd.momentum, weight_decay=sgd.weight_decay)
    return Program(spec, model, LossMSE(spec.loss.reduction), optimizer, (train, test), generator)


@dataclass
class Ensemble:
    """R runs of one spec (seeds S, S+1, ...) stacked into one model, trained at once."""

    spec: Spec
    model: Sequential
    loss: LossMSE
    optimizer: SGD
    data: tuple[Dataset, Dataset | None]
    generators: list[torch.Generator]

    def fit(self, callback: EnsembleCallback | None = None) -> list[list[EpochRecord]]:
        """Train every run; return each run's history (run r is seed S + r)."""
        train, test = self.data
        return fit_ensemble(
            self.model,
            self.loss,
            self.optimizer,
            train,
            test,
            epochs=self.spec.train.epochs,
            batch_size=self.spec.sgd.batch,
            generators=self.generators,
            callback=callback,
        )


def compile_ensemble(spec: Spec, runs: int) -> Ensemble:
    """Build `runs` runs of `spec` as one stacked model over a leading run axis.

    Run r draws its data, initial weights and shuffles from its own generator seeded
    S + r, in the same order as `compile_spec`, so it computes what that run would alone.
    """
    programs = [compile_spec(run_spec(spec, r)) for r in range(runs)]
    model = stack([p.model for p in programs])
    flatten_parameters(model)
    train = stack_datasets([p.data[0] for p in programs])
    tests = [p.data[1] for p in programs]
    test = (
        None
        if any(t is None for t in tests)
        else stack_datasets([t for t in tests if t is not None])
    )
    sgd = spec.sgd
    optimizer = SGD(model.param(), lr=sgd.lr, momentum=sgd.momentum, weight_decay=sgd.weight_decay)
    generators = [p.generator for p in programs]
    return Ensemble(spec, model, LossMSE(spec.loss.reduction), optimizer, (train, test), generators)


def run_spec(spec: Spec, run: int) -> Spec:
    """The spec of run `run` of a cell: the same, with seed S + run."""
    train = spec.train.model_copy(update={"seed": spec.train.seed + run})
    return spec.model_copy(update={"train": train})


def _check_device(spec: Spec) -> None:
    """`device=cuda` without a CUDA device is the spec's mistake: say so where it is written."""
    if spec.train.device != "cuda" or torch.cuda.is_available():
        return
    span = spec.train.span or ir.Span(line=1, column=1, end_line=1, end_column=2)
    diagnostic = Diagnostic(
        "E150",
        "device=cuda, but torch sees no CUDA device here",
        span.line, span.column, span.end_line, span.end_column,
        "use `train device=cpu` (or `--set train.device=cpu`), or a CUDA build of torch",
        spec.source or "<string>",
    )  # fmt: skip
    raise SpecError([diagnostic], spec.text)


def _output_width(spec: Spec, features: int) -> int:
    widths = [layer.out_features for layer in resolve(spec, features, None).layers]
    last = widths[-1] if widths else features
    return last if last is not None else 1
