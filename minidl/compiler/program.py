"""A checked `Spec` to objects: data, a minidl model, its loss, optimiser and schedule.

Each word is looked up in `minidl.compiler.words`; nothing here names a word.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from minidl.compiler.build_checks import check_device, check_dtype_range, check_last_batch
from minidl.compiler.data import LoadedData, load_data
from minidl.compiler.words import LAYERS, LOSSES, OPTIMIZERS, Build
from minidl.data import Dataset, Normalizer, stack_datasets
from minidl.data.encoding import Encoding
from minidl.lang import Spec, SpecError, resolve
from minidl.lang.memory import memory_problem
from minidl.lang.shapes import Carried, Joined, Resolution, Resolved
from minidl.nn import Branches, Concat, Loss, Module, Sequential, Sum, stack
from minidl.optim import Optimizer
from minidl.schedule import Schedule
from minidl.stopping import BestWeights, EarlyStopping
from minidl.train import EnsembleCallback, EpochRecord, ProgressCallback, fit, fit_ensemble

__all__ = [
    "DTYPES",
    "Built",
    "Ensemble",
    "Program",
    "build_model",
    "build_run",
    "compile_ensemble",
    "compile_spec",
    "early_stopping",
    "final_record",
    "target_scale",
    "with_run_seed",
]

DTYPES = {"float32": torch.float32, "float64": torch.float64}


@dataclass
class Program:
    """A compiled spec: `.model`, `.loss`, `.optimizer`, `.schedule`, `.data` (train, test),
    and `.fit()`, which trains as the spec says."""

    spec: Spec
    model: Sequential
    loss: Loss
    optimizer: Optimizer
    schedule: Schedule
    data: tuple[Dataset, Dataset | None]
    generator: torch.Generator
    feature_names: tuple[str, ...] = ()
    labels: tuple[Any, ...] | None = None
    """The classes in sorted order, as the data writes them (None: the indices themselves)."""
    normalizer: Normalizer | None = None
    warnings: Sequence[Any] = ()
    validation: Dataset | None = None
    """The training rows that `validation=` held out, scored each epoch (never trained on)."""
    best: BestWeights | None = None
    """With `patience`, the weights of the best epoch so far (a checkpoint keeps them)."""
    encoding: Encoding | None = None
    """How each feature column becomes inputs (None for the disk)."""
    targets: tuple[str, ...] = ()
    """The target columns (CSV data)."""
    target_normalizer: Normalizer | None = None
    """For values to predict (regression): the targets' normaliser; None for classes."""

    @property
    def regress(self) -> bool:
        """Whether the program predicts values (regression) rather than classes."""
        return self.target_normalizer is not None

    @property
    def target_scale(self) -> Tensor | None:
        """Per target column, what one unit of a normalised target is on its own scale."""
        return target_scale(self.target_normalizer, self.targets)

    def predict(self, inputs: Tensor | Any) -> list[Any]:
        """What `--predict` writes for each row: the class as the data writes it, or the
        value (a tuple of values for several targets). `inputs`: raw features `(N, D)`, or
        a pandas DataFrame with the feature columns by name (needed when one is
        categorical)."""
        from minidl.compiler.predictions import predict_labels

        return predict_labels(self, inputs)

    def fit(
        self, callback: ProgressCallback | None = None, history: list[EpochRecord] | None = None
    ) -> list[EpochRecord]:
        """Train as the spec says (backend, epochs, batch) and return the per-epoch history."""
        train, test = self.data
        settings = self.spec.train
        if settings.backend == "torch":
            from minidl.compiler.torch_backend import fit_torch

            return fit_torch(
                self.spec,
                self.model,
                self.loss,
                self.schedule,
                self.data,
                self.generator,
                callback,
                self.validation,
                early_stopping(self.spec),
                self.target_scale,
            )
        return fit(
            self.model,
            self.loss,
            self.optimizer,
            train,
            test,
            epochs=settings.epochs,
            batch_size=self.spec.optimizer.batch,
            generator=self.generator,
            callback=callback,
            schedule=self.schedule,
            history=history or (),
            validation=self.validation,
            stopping=early_stopping(self.spec),
            best=self.best,
            target_scale=self.target_scale,
        )


def build_model(
    spec: Spec,
    features: Carried,
    targets: int,
    generator: torch.Generator,
    resolution: Resolution | None = None,
) -> Sequential:
    """The expanded network as minidl modules, initialised from `generator`, shapes checked
    (`resolution`: the spec already resolved for these features and targets)."""
    resolution = resolution or resolve(spec, features, targets)
    if resolution.diagnostics:
        raise SpecError(resolution.diagnostics)
    return Sequential(_build(resolution.network, generator, DTYPES[spec.train.dtype]))


JOINS: dict[str, type[Branches]] = {"sum": Sum, "concat": Concat}
"""The minidl module of each join of the IR, by its `op`."""


def _build(stages: list[Resolved], generator: torch.Generator, dtype: torch.dtype) -> list[Module]:
    """The modules of resolved stages, depth first, so that weights are drawn in spec order."""
    modules: list[Module] = []
    for stage in stages:
        if isinstance(stage, Joined):
            branches = [Sequential(_build(list(b), generator, dtype)) for b in stage.branches]
            image = not isinstance(stage.out_features, int)
            modules.append(
                Concat(branches, -3)
                if image and stage.op == "concat"
                else JOINS[stage.op](branches)
            )
            continue
        assert stage.in_features is not None and stage.out_features is not None
        build = Build(stage.in_features, stage.out_features, generator, dtype)
        modules.append(LAYERS[stage.kind].minidl(stage.word, build))
    return modules


def build_schedule(spec: Spec) -> Schedule:
    """The learning rate of each epoch, from the `schedule` statement."""
    s = spec.schedule
    return Schedule(s.kind, spec.optimizer.lr, spec.train.epochs, s.every, s.gamma, s.warmup)


@dataclass
class Built:
    """One run's data and network, built from its seed, on the spec's device and dtype: what
    a `Program` (with its optimiser and loss) or an `Ensemble` (R of them stacked) is made of."""

    model: Sequential
    loaded: LoadedData
    generator: torch.Generator


def build_run(spec: Spec) -> Built:
    """The data and the network of `spec`, all from its seed, each built once.

    The seed's one generator draws, in this order, the data, the initial weights, and then
    each epoch's shuffle (and dropout masks): the same spec and seed give bit-identical
    results. The network is resolved once for the data's shape; that resolution serves the
    memory estimate, the build and the last-batch check.
    """
    check_device(spec)
    check_dtype_range(spec)
    generator = torch.Generator().manual_seed(spec.train.seed)
    loaded = load_data(spec, generator)
    train, test = loaded.train, loaded.test
    resolution = resolve(spec, train.shape, train.outputs)
    rows = max(len(train), len(test) if test is not None else 0)
    problem = memory_problem(spec, train.features, rows, resolution)
    if problem is not None:  # before the network's tensors exist
        raise SpecError([problem])
    model = build_model(spec, train.shape, train.outputs, generator, resolution)
    check_last_batch(spec, len(train), resolution)
    device, dtype = torch.device(spec.train.device), DTYPES[spec.train.dtype]
    model.to(device, dtype)
    moved = dataclasses.replace(
        loaded,
        train=train.to(device, dtype),
        test=None if test is None else test.to(device, dtype),
        validation=None if loaded.validation is None else loaded.validation.to(device, dtype),
    )
    return Built(model, moved, generator)


def compile_spec(spec: Spec) -> Program:
    """Build the data, model, loss, optimiser and schedule of `spec`, all from its seed."""
    built = build_run(spec)
    model, loaded = built.model, built.loaded
    optimizer = OPTIMIZERS[spec.optimizer.kind].minidl(spec.optimizer, model.param())
    loss = LOSSES[spec.loss.name].minidl(spec.loss)
    return Program(
        spec,
        model,
        loss,
        optimizer,
        build_schedule(spec),
        (loaded.train, loaded.test),
        built.generator,
        loaded.feature_names,
        loaded.labels,
        loaded.normalizer,
        loaded.warnings,
        loaded.validation,
        BestWeights(model) if spec.train.patience is not None else None,
        loaded.encoding,
        loaded.targets,
        loaded.target_normalizer,
    )


def target_scale(normalizer: Normalizer | None, targets: Sequence[str]) -> Tensor | None:
    """Per target column, what one unit of a normalised target is on its own scale (None
    for classes; ones for values left unnormalised)."""
    if normalizer is None:
        return None
    scale = normalizer.scale
    return torch.ones(len(targets), dtype=torch.float64) if scale is None else scale


def final_record(spec: Spec, history: Sequence[EpochRecord]) -> EpochRecord:
    """The record that stands for a run: its best epoch's with early stopping (whose weights
    it keeps), else its last."""
    stopping = early_stopping(spec)
    if stopping is None:
        return history[-1]
    losses = [math.nan if r.val_loss is None else r.val_loss for r in history]
    best_epoch, _ = stopping.state(losses)
    return history[best_epoch - 1]


def early_stopping(spec: Spec) -> EarlyStopping | None:
    """The spec's early stopping rule (`train patience=N [min_delta=F]`), if any."""
    settings = spec.train
    if settings.patience is None:
        return None
    return EarlyStopping(settings.patience, settings.min_delta or 0.0)


@dataclass
class Ensemble:
    """R runs of one spec (seeds S, S+1, ...) stacked into one model, trained at once."""

    spec: Spec
    model: Sequential
    loss: Loss
    optimizer: Optimizer
    schedule: Schedule
    data: tuple[Dataset, Dataset | None]
    generators: list[torch.Generator]
    validation: Dataset | None = None
    target_scale: Tensor | None = None
    warnings: Sequence[Any] = ()

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
            batch_size=self.spec.optimizer.batch,
            generators=self.generators,
            callback=callback,
            schedule=self.schedule,
            validation=self.validation,
            stopping=early_stopping(self.spec),
            target_scale=self.target_scale,
        )


def compile_ensemble(spec: Spec, runs: int) -> Ensemble:
    """Build `runs` runs of `spec` as one stacked model over a leading run axis.

    Run r draws its data, initial weights and shuffles from its own generator seeded
    S + r, in the same order as `compile_spec`, so it computes what that run would alone.
    """
    built = [build_run(with_run_seed(spec, r)) for r in range(runs)]
    model = stack([b.model for b in built])
    train = stack_datasets([b.loaded.train for b in built])
    tests = [b.loaded.test for b in built]
    test = (
        None
        if any(t is None for t in tests)
        else stack_datasets([t for t in tests if t is not None])
    )
    optimizer = OPTIMIZERS[spec.optimizer.kind].minidl(spec.optimizer, model.param())
    loss = LOSSES[spec.loss.name].minidl(spec.loss)
    generators = [b.generator for b in built]
    schedule = build_schedule(spec)
    held = [b.loaded.validation for b in built if b.loaded.validation is not None]
    validation = stack_datasets(held) if held else None
    first = built[0].loaded
    scale, warnings = target_scale(first.target_normalizer, first.targets), first.warnings
    data = (train, test)
    return Ensemble(
        spec, model, loss, optimizer, schedule, data, generators, validation, scale, warnings
    )


def with_run_seed(spec: Spec, run: int) -> Spec:
    """The spec of run `run` of a cell: the same, with seed S + run."""
    train = spec.train.model_copy(update={"seed": spec.train.seed + run})
    return spec.model_copy(update={"train": train})
