"""The v2 words end to end: every new stage, loss and optimiser compiled from a spec and
trained by minidl and by `backend=torch` (torch.nn, autograd, torch.optim) to the same
weights; parameter counts in the summary; `--emit python`; every spec in `specs/` trains.

The backends start from the same weights and draw the same batches and dropout masks, so
in float64 after an epoch or two their weights agree to rounding: 1e-9 absolute. A Linear
right before a BatchNorm has `bias=false`: that bias's true gradient is zero, and Adam
divides its rounding noise (1e-17) by its own size, so two correct backends move it apart
by up to 1e-8 (measured), as far as the noise goes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from minidl import compile_spec
from minidl.lang import parse
from minidl.lang.summary import summarize
from minidl.nn import (
    GELU,
    BatchNorm,
    Dropout,
    Identity,
    LayerNorm,
    LeakyReLU,
    LossBCE,
    LossCrossEntropy,
    LossHuber,
    LossL1,
    LossMSE,
    Softmax,
)
from minidl.optim import SGD, Adam, AdamW

ROOT = Path(__file__).parents[1]
SPECS = sorted((ROOT / "specs").glob("*.mdl"))
MOONS = (ROOT / "specs" / "data" / "moons_train.csv").as_posix()
MOONS_TEST = (ROOT / "specs" / "data" / "moons_test.csv").as_posix()
TOLERANCE = 1e-9

EVERY_NEW_WORD = f"""
Linear ->16 bias=false | BatchNorm | LeakyReLU slope=0.1 | Dropout p=0.2
  | (Linear ->16 | GELU | Linear ->16) + Identity
  | LayerNorm | Linear ->8 | Softmax | Linear 8->16 bias=false | BatchNorm affine=false | Tanh
  | LayerNorm affine=false | Linear ->2;
loss CrossEntropy reduction=mean;
adamw lr=0.01 batch=16 weight_decay=0.05;
schedule cosine warmup=1;
train epochs=2 seed=3 dtype=float64;
data csv train="{MOONS}" test="{MOONS_TEST}" target=label;
"""


def trained_by_both(text: str) -> tuple:
    """The minidl and torch programs of `text`, each trained; the same initial weights."""
    ours = compile_spec(parse(text))
    theirs = compile_spec(parse(text.replace("dtype=float64", "dtype=float64 backend=torch")))
    assert theirs.spec.train.backend == "torch" and ours.spec.train.backend == "minidl"
    for (a, _), (b, _) in zip(ours.model.param(), theirs.model.param(), strict=True):
        assert torch.equal(a, b)
    return ours, ours.fit(), theirs, theirs.fit()


def assert_same_training(text: str) -> None:
    ours, our_history, theirs, their_history = trained_by_both(text)
    start = compile_spec(parse(text)).model.param()
    moved = False
    for (a, _), (b, _), (s, _) in zip(ours.model.param(), theirs.model.param(), start, strict=True):
        assert a.dtype == torch.float64
        torch.testing.assert_close(a, b, atol=TOLERANCE, rtol=0)
        moved = moved or not torch.equal(a, s)
    assert moved, "training left every weight where it started"
    for a, b in zip(ours.model.buffers(), theirs.model.buffers(), strict=True):
        torch.testing.assert_close(a, b, atol=TOLERANCE, rtol=0)
    assert our_history[-1].test_error == their_history[-1].test_error
    assert our_history[-1].train_loss == pytest.approx(their_history[-1].train_loss, abs=1e-9)


def test_every_new_word_trains_alike_in_both_backends() -> None:
    spec = parse(EVERY_NEW_WORD)
    program = compile_spec(spec)
    kinds = {type(m) for m in _walk(program.model)}
    for kind in (BatchNorm, LeakyReLU, Dropout, GELU, Identity, LayerNorm, Softmax):
        assert kind in kinds, kind
    assert isinstance(program.loss, LossCrossEntropy) and isinstance(program.optimizer, AdamW)
    assert len(program.model.buffers()) == 4  # two BatchNorms' running mean and variance
    assert_same_training(EVERY_NEW_WORD)


def test_a_wrong_dropout_mask_would_be_caught() -> None:
    """The check above can fail: a torch side with different masks ends elsewhere."""
    ours, _, _, _ = trained_by_both(EVERY_NEW_WORD)
    other = compile_spec(parse(EVERY_NEW_WORD.replace("seed=3", "seed=3 backend=torch")))
    other.generator.manual_seed(99)  # other batches and masks, same initial weights
    other.fit()
    differences = [
        float((a - b).abs().max())
        for (a, _), (b, _) in zip(ours.model.param(), other.model.param(), strict=True)
    ]
    assert max(differences) > 1e-3


def _walk(module):
    yield module
    for child in module.children():
        yield from _walk(child)


DISK = "Linear 2->8 | Tanh | Linear 8->{out}{last}; loss {loss}; {optimizer}; {schedule}"
DISK += "train epochs=1 seed=1 dtype=float64; data disk train=64 test=32;"

LOSSES = {
    "MSE reduction=mean": LossMSE,
    "L1": LossL1,
    "Huber delta=0.5": LossHuber,
    "BCE reduction=mean": LossBCE,
}


@pytest.mark.parametrize("loss", sorted(LOSSES))
def test_each_loss_trains_alike_in_both_backends(loss: str) -> None:
    text = DISK.format(out=1, last="", loss=loss, optimizer="sgd lr=0.05 batch=8", schedule="")
    program = compile_spec(parse(text))
    assert type(program.loss) is LOSSES[loss]
    assert_same_training(text)


def test_cross_entropy_trains_alike_in_both_backends() -> None:
    text = (
        "Linear ->8 | Tanh | Linear 8->2; loss CrossEntropy; sgd lr=0.01 batch=8;"
        f'train epochs=1 seed=1 dtype=float64; data csv train="{MOONS}" target=label split=0.8;'
    )
    assert type(compile_spec(parse(text)).loss) is LossCrossEntropy
    assert_same_training(text)


OPTIMIZERS = {
    "sgd lr=0.05 batch=8": SGD,
    "sgd lr=0.05 batch=8 momentum=0.9 weight_decay=0.01": SGD,
    "sgd lr=0.05 batch=8 momentum=0.9 nesterov=true": SGD,
    "adam lr=0.01 batch=8 betas=[0.8, 0.99] eps=1e-6 weight_decay=0.01": Adam,
    "adamw lr=0.01 batch=8 weight_decay=0.1": AdamW,
}
SCHEDULES = ["", "schedule cosine warmup=1;", "schedule step every=1 gamma=0.5;"]


@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
def test_each_optimiser_trains_alike_in_both_backends(optimizer: str) -> None:
    text = DISK.format(out=1, last="", loss="MSE reduction=mean", optimizer=optimizer, schedule="")
    assert type(compile_spec(parse(text)).optimizer) is OPTIMIZERS[optimizer]
    assert_same_training(text.replace("epochs=1", "epochs=2"))


@pytest.mark.parametrize("schedule", SCHEDULES[1:])
def test_each_schedule_trains_alike_in_both_backends(schedule: str) -> None:
    text = DISK.format(
        out=1, last="", loss="L1", optimizer="adam lr=0.01 batch=8", schedule=schedule
    )
    assert_same_training(text.replace("epochs=1", "epochs=3"))


def test_the_schedule_changes_training() -> None:
    """So that the schedule tests above can fail: a schedule moves the weights elsewhere."""
    texts = [
        DISK.format(out=1, last="", loss="L1", optimizer="adam lr=0.01 batch=8", schedule=s)
        for s in SCHEDULES[:2]
    ]
    plain, cosine = (compile_spec(parse(t.replace("epochs=1", "epochs=3"))) for t in texts)
    plain.fit()
    cosine.fit()
    a, b = plain.model.param()[0][0], cosine.model.param()[0][0]
    assert float((a - b).abs().max()) > 1e-4


@pytest.mark.parametrize(
    ("stage", "per_feature"),
    [("LayerNorm", 2), ("LayerNorm affine=false", 0), ("BatchNorm", 2),
     ("BatchNorm affine=false", 0), ("BatchNorm eps=1e-3 momentum=0.2 affine=true", 2)],
)  # fmt: skip
def test_summary_counts_normalisation_parameters(stage: str, per_feature: int) -> None:
    spec = parse(f"Linear 2->12 | {stage} | Linear 12->1;")
    lines = summarize(spec, "s.mdl").splitlines()
    assert lines[0] == f"s.mdl: 3 stages, {36 + 12 * per_feature + 13:,} parameters"
    row = lines[3].split()
    assert row[:2] == ["2", stage.split()[0]] and row[-2:] == ["12", str(12 * per_feature)]
    program = compile_spec(parse(f"Linear 2->12 | {stage} | Linear 12->1;"))
    assert sum(v.numel() for v, _ in program.model.param()) == 36 + 12 * per_feature + 13


def cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "minidl.compile", *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, env=env, timeout=300)


def test_emit_python_of_new_words_prints_what_train_prints(tmp_path: Path) -> None:
    spec = tmp_path / "every.mdl"
    spec.write_text(EVERY_NEW_WORD.replace("dtype=float64", ""))
    sets = ["--set", "schedule.warmup=0", "--set", "train.epochs=1"]
    script = cli(str(spec), *sets, "--emit", "python")
    assert script.returncode == 0, script.stderr
    for word in ("BatchNorm", "LayerNorm", "Dropout", "GELU", "LeakyReLU", "Softmax", "AdamW"):
        assert word in script.stdout, word
    (tmp_path / "train.py").write_text(script.stdout)
    emitted = subprocess.run([sys.executable, "train.py"], capture_output=True, text=True,
                             cwd=tmp_path, timeout=300)  # fmt: skip
    assert emitted.returncode == 0, emitted.stderr
    trained = cli(str(spec), *sets, "--train", "--quiet", "--out", str(tmp_path / "runs"))
    assert trained.returncode == 0, trained.stderr
    final = emitted.stdout.strip().splitlines()[-1]
    assert final.startswith("train error"), emitted.stdout
    # `train error A %   test error B %` must be the very figures `--train` prints.
    assert final.split("  loss")[0].split() == trained.stdout.splitlines()[0].split()


@pytest.mark.parametrize("path", SPECS, ids=[p.stem for p in SPECS])
def test_every_spec_trains_one_epoch(path: Path, tmp_path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    sets = ["--set", "train.epochs=1"]
    if "warmup=" in text:  # a warm-up needs epochs after it (E136)
        sets = ["--set", "schedule.warmup=0", *sets]
    if "sweep" in text:
        sets += ["--set", "sweep.runs=1"]
    result = cli(str(path), "--train", "--quiet", *sets, "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert (
        "train error" in result.stdout
        or "Train Error (%)" in result.stdout
        or (
            "train rmse" in result.stdout  # v3: a spec that predicts numbers
        )
    )


def test_set_epochs_below_the_warmup_is_a_diagnostic(tmp_path: Path) -> None:
    spec = tmp_path / "w.mdl"
    spec.write_text("Linear 2->4 | Tanh | Linear 4->1; schedule cosine warmup=2; train epochs=5;")
    result = cli(str(spec), "--train", "--set", "train.epochs=1", "--out", str(tmp_path))
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert "error[E136]" in result.stderr


def test_batchnorm_with_a_last_batch_of_one_is_a_diagnostic() -> None:
    from minidl import compile_spec
    from minidl.lang import SpecError, parse

    text = "Linear 2->8 | BatchNorm | ReLU | Linear ->1; sgd batch=3; data disk train=100"
    with pytest.raises(SpecError) as caught:
        compile_spec(parse(text))
    assert [d.code for d in caught.value.diagnostics] == ["E317"]
    compile_spec(parse(text.replace("batch=3", "batch=4")))  # 100 = 25 * 4: no such batch


def test_emit_python_reads_csv_data_as_training_does(tmp_path: Path) -> None:
    """Text labels, `split` and `normalize` in the script too: it prints --train's figures."""
    spec = Path(__file__).parents[1] / "specs" / "iris.mdl"
    cli = [sys.executable, "-m", "minidl.compile", str(spec)]
    sets = ["--set", "train.epochs=3"]
    script = subprocess.run([*cli, *sets, "--emit", "python"], capture_output=True, text=True)
    assert script.returncode == 0, script.stderr
    (tmp_path / "iris.py").write_text(script.stdout)
    ran = subprocess.run(
        [sys.executable, str(tmp_path / "iris.py")], capture_output=True, text=True
    )
    assert ran.returncode == 0, ran.stderr
    trained = subprocess.run(
        [*cli, *sets, "--train", "--quiet", "--out", str(tmp_path)], capture_output=True, text=True
    )
    errors = trained.stdout.splitlines()[0].split()
    assert ran.stdout.split()[:6] == errors[:6]  # train error X %  test error Y %
