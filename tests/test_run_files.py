"""Every file of a run folder through its validated model (issues 25 and 27): damaged, edited
or disagreeing files are one line naming the file, exit 2, for the summary, `--predict`,
`--emit onnx` and `--resume` alike; never a traceback, a hang, or a silent restart."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from minidl.cli.main import main
from minidl.runs import checkpoint
from minidl.runs.checkpoint import CHECKPOINT
from minidl.runs.run_folder import MAX_DEPTH, RunFolderError, bounded_json

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "specs" / "seed.mdl"
SHORT = ["--set", "train.epochs=3", "--set", "data.train=200"]
Damage = Callable[[Path], None]


def run(*argv: object) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def train(out: Path, *options: object, spec: Path = SEED) -> Path:
    code, _, err = run(spec, "--train", "--quiet", "--out", out, *options)
    assert code in (0, 130), err
    (folder,) = out.iterdir()
    return folder


def copy_of(folder: Path, tmp_path: Path) -> Path:
    copy = tmp_path / folder.name
    copy.mkdir()
    for path in folder.iterdir():
        (copy / path.name).write_bytes(path.read_bytes())
    return copy


@pytest.fixture(scope="module")
def seed_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train(tmp_path_factory.mktemp("seed"), *SHORT)


STOPPED = ["--set", "train.epochs=6", "--set", "data.train=64", "--set", "sgd.momentum=0.9"]


@pytest.fixture(scope="module")
def stopped(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A run interrupted after epoch 3 with its checkpoint, and the same run uninterrupted."""
    reference = train(tmp_path_factory.mktemp("reference"), *STOPPED)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MINIDL_CHECKPOINT_SECONDS", "0")
        done = checkpoint.Checkpoints.epoch_done

        def interrupt_after_three(self: checkpoint.Checkpoints, history: list) -> None:  # type: ignore[type-arg]
            done(self, history)
            if len(history) == 3:
                raise KeyboardInterrupt

        patch.setattr(checkpoint.Checkpoints, "epoch_done", interrupt_after_three)
        folder = train(tmp_path_factory.mktemp("stopped"), *STOPPED)
    assert (folder / CHECKPOINT).exists()
    return folder, reference


def test_an_undamaged_checkpoint_resumes_bit_identically(
    stopped: tuple[Path, Path], tmp_path: Path
) -> None:
    folder, reference = stopped
    copy = copy_of(folder, tmp_path)
    code, _, err = run(copy, "--resume", "--quiet")
    assert code == 0, err
    for name in ("weights.safetensors", "history.csv"):
        assert (copy / name).read_bytes() == (reference / name).read_bytes(), name


# -- damages ------------------------------------------------------------------------------


def edit_json(name: str, change: Callable[[dict], object]) -> Damage:  # type: ignore[type-arg]
    def damage(folder: Path) -> None:
        data = json.loads((folder / name).read_text())
        change(data)
        (folder / name).write_text(json.dumps(data))

    return damage


def nested(name: str, depth: int) -> Damage:
    def damage(folder: Path) -> None:
        text = (folder / name).read_text()
        deep = "[" * depth + "]" * depth
        (folder / name).write_text(text.replace("{", '{"deep": ' + deep + ",", 1))

    return damage


def edit_spec(change: Callable[[str], str]) -> Damage:
    def damage(folder: Path) -> None:
        (folder / "spec.mdl").write_text(change((folder / "spec.mdl").read_text()))

    return damage


def nan_weights(folder: Path) -> None:
    tensors = load_file(str(folder / "weights.safetensors"))
    tensors["0.weight"] = tensors["0.weight"] * float("nan")
    save_file(tensors, str(folder / "weights.safetensors"))


FOLDER_DAMAGES: dict[str, tuple[Damage, str]] = {
    "metrics-deep": (nested("metrics.json", 100_000), "metrics.json"),
    "data-deep": (nested("data.json", 100_000), "data.json"),
    "metrics-final-list": (edit_json("metrics.json", lambda d: d.update(final=[])), "metrics.json"),
    "metrics-epochs-text": (
        edit_json("metrics.json", lambda d: d.update(epochs_completed="3")),
        "metrics.json",
    ),
    "metrics-no-status": (edit_json("metrics.json", lambda d: d.pop("status")), "metrics.json"),
    "data-no-features": (edit_json("data.json", lambda d: d.update(features=[])), "data.json"),
    "data-no-classes": (edit_json("data.json", lambda d: d.update(classes=[])), "data.json"),
    "data-three-classes": (
        edit_json("data.json", lambda d: d.update(classes=[0, 1, 2])),
        "data.json",
    ),
    "data-source-not-text": (
        edit_json("data.json", lambda d: d.update(spec_source=7)),
        "data.json",
    ),
    "data-zero-scale": (
        edit_json(
            "data.json",
            lambda d: d.update(normalize={"kind": "standard", "shift": [0, 0], "scale": [1, 0]}),
        ),
        "data.json",
    ),
    "history-short": (
        lambda f: (f / "history.csv").write_text(
            "".join((f / "history.csv").read_text().splitlines(keepends=True)[:-1])
        ),
        "history.csv",
    ),
    "spec-sweep-added": (edit_spec(lambda t: t + "sweep sgd.lr=[0.1, 0.2];\n"), "spec.mdl"),
    "spec-fewer-epochs": (edit_spec(lambda t: t.replace("epochs=3", "epochs=2")), "spec.mdl"),
    "spec-cut-after-optimiser": (
        edit_spec(lambda t: t[: t.index("train ")]),
        "spec.mdl",
    ),
    "weights-nan": (nan_weights, "weights.safetensors"),
}
ACTIONS = [[], ["--predict", "x.csv"], ["--emit", "onnx"], ["--resume"]]


def assert_one_line(
    folder: Path, tmp_path: Path, action: list[str], named: str, code_wanted: int = 2
) -> None:
    (tmp_path / "x.csv").write_text("x1,x2\n0.5,0.5\n")
    action = [str(tmp_path / a) if a.endswith(".csv") else a for a in action]
    out_file = tmp_path / "written"
    writes = action and action[0] != "--resume"
    code, out, err = run(folder, *action, *(["--out", out_file] if writes else []))
    assert code == code_wanted, (out, err)
    assert len(err.strip().splitlines()) == 1 and named in err and "Traceback" not in err, err
    assert not out_file.exists() and not out


@pytest.mark.parametrize("damage", FOLDER_DAMAGES, ids=list(FOLDER_DAMAGES))
@pytest.mark.parametrize("action", ACTIONS, ids=["summary", "predict", "onnx", "resume"])
def test_a_damaged_file_is_one_line_naming_it(
    seed_run: Path, tmp_path: Path, damage: str, action: list[str]
) -> None:
    folder = copy_of(seed_run, tmp_path)
    hurt, named = FOLDER_DAMAGES[damage]
    hurt(folder)
    assert_one_line(folder, tmp_path, action, named)


def edit_checkpoint(change: Callable[[dict, dict], object]) -> Damage:  # type: ignore[type-arg]
    def damage(folder: Path) -> None:
        path = folder / CHECKPOINT
        with safe_open(str(path), framework="pt") as file:
            metadata = dict(file.metadata())
        tensors = load_file(str(path))
        change(tensors, metadata)
        save_file(tensors, str(path), metadata=metadata)

    return damage


def drop_optimizer(tensors: dict, metadata: dict) -> None:  # type: ignore[type-arg]
    assert any(k.startswith("optimizer/") for k in tensors)  # momentum has a buffer
    for key in [k for k in tensors if k.startswith("optimizer/")]:
        del tensors[key]


def nan_model(tensors: dict, metadata: dict) -> None:  # type: ignore[type-arg]
    tensors["model/0.weight"] = tensors["model/0.weight"] * float("nan")


CHECKPOINT_DAMAGES: dict[str, Damage] = {
    "history-emptied": edit_checkpoint(lambda t, m: m.update(history="[]")),
    "history-nested": edit_checkpoint(lambda t, m: m.update(history="[" * 10**5 + "]" * 10**5)),
    "epoch-text": edit_checkpoint(lambda t, m: m.update(epoch="three")),
    "optimizer-tensors-removed": edit_checkpoint(drop_optimizer),
    "nan-weights": edit_checkpoint(nan_model),
    "steps-changed": edit_checkpoint(
        lambda t, m: m.update(optimizer=json.dumps({**json.loads(m["optimizer"]), "step": 1}))
    ),
}


@pytest.mark.parametrize("damage", CHECKPOINT_DAMAGES, ids=list(CHECKPOINT_DAMAGES))
def test_a_checkpoint_that_is_not_whole_is_a_damaged_folder(
    stopped: tuple[Path, Path], tmp_path: Path, damage: str
) -> None:
    folder = copy_of(stopped[0], tmp_path)
    CHECKPOINT_DAMAGES[damage](folder)
    before = (folder / "weights.safetensors").read_bytes()
    assert_one_line(folder, tmp_path, ["--resume"], CHECKPOINT)
    assert (folder / "weights.safetensors").read_bytes() == before


def test_a_deleted_checkpoint_retrains_from_zero_to_the_same_result(
    stopped: tuple[Path, Path], tmp_path: Path
) -> None:
    folder, reference = stopped
    copy = copy_of(folder, tmp_path)
    (copy / CHECKPOINT).unlink()
    code, _, err = run(copy, "--resume", "--quiet")
    assert code == 0, err
    assert (copy / "weights.safetensors").read_bytes() == (
        reference / "weights.safetensors"
    ).read_bytes()


def test_json_nested_too_deep_is_refused_before_decoding() -> None:
    path = Path("metrics.json")
    deep = "[" * 10**6 + "]" * 10**6
    with pytest.raises(RunFolderError, match="nested deeper than"):
        bounded_json(deep, path)
    at_limit = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert bounded_json(at_limit, path) is not None
    with pytest.raises(RunFolderError, match="nested deeper than"):
        bounded_json("[" + at_limit + "]", path)
    # Brackets inside strings do not count.
    assert bounded_json(json.dumps({"a": "[" * 100}), path) == {"a": "[" * 100}


def test_keys_a_newer_minidl_adds_are_read_and_ignored(seed_run: Path, tmp_path: Path) -> None:
    folder = copy_of(seed_run, tmp_path)
    edit_json("metrics.json", lambda d: d.update(calibration=0.5, notes={"by": "a newer minidl"}))(
        folder
    )
    edit_json("data.json", lambda d: d.update(encoders={"island": ["a", "b"]}))(folder)
    code, out, err = run(folder)
    assert code == 0 and "status completed" in out, err


def test_a_spec_source_pointing_nowhere_still_summarises(seed_run: Path, tmp_path: Path) -> None:
    folder = copy_of(seed_run, tmp_path)
    edit_json("data.json", lambda d: d.update(spec_source="/nowhere/at/all.mdl"))(folder)
    code, out, err = run(folder)
    assert code == 0 and "status completed" in out and "Traceback" not in err, err


def test_a_csv_run_whose_data_moved_still_summarises(tmp_path: Path) -> None:
    rows = "".join(f"{i / 7:.3f},{i % 5},{'xyz'[i % 3]}\n" for i in range(60))
    (tmp_path / "d.csv").write_text("a,b,y\n" + rows)
    spec = tmp_path / "c.mdl"
    spec.write_text(
        "Linear ->8 | ReLU | Linear ->3;\nloss CrossEntropy;\nsgd lr=0.1 batch=8;\n"
        'train epochs=2;\ndata csv train="d.csv" split=0.8 target=y normalize=standard;\n'
    )
    folder = train(tmp_path / "runs", spec=spec)
    (tmp_path / "d.csv").unlink()
    code, out, err = run(folder)
    assert code == 0 and "status completed" in out and "Linear 2->8" in out, err


def test_a_regression_run_reads_and_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """v3 tables' figures (RMSE and R² instead of error rates) read through the same models."""
    rows = "".join(f"{i / 7:.3f},{i % 4},{i * 0.37:.3f}\n" for i in range(60))
    (tmp_path / "r.csv").write_text("a,b,v\n" + rows)
    spec = tmp_path / "r.mdl"
    spec.write_text(
        "Linear ->8 | ReLU | Linear ->1;\nloss MSE;\nsgd lr=0.01 batch=8 momentum=0.5;\n"
        'train epochs=6;\ndata csv train="r.csv" split=0.8 target=v normalize=standard;\n'
    )
    reference = train(tmp_path / "whole", spec=spec)
    monkeypatch.setenv("MINIDL_CHECKPOINT_SECONDS", "0")
    done = checkpoint.Checkpoints.epoch_done

    def interrupt_after_three(self: checkpoint.Checkpoints, history: list) -> None:  # type: ignore[type-arg]
        done(self, history)
        if len(history) == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(checkpoint.Checkpoints, "epoch_done", interrupt_after_three)
    folder = train(tmp_path / "stopped", spec=spec)
    monkeypatch.setattr(checkpoint.Checkpoints, "epoch_done", done)
    code, out, err = run(folder)
    assert code == 0 and "status interrupted" in out, err
    code, _, err = run(folder, "--resume", "--quiet")
    assert code == 0, err
    for name in ("weights.safetensors", "history.csv"):
        assert (folder / name).read_bytes() == (reference / name).read_bytes(), name
    code, out, err = run(folder)
    assert code == 0 and "rmse" in out, err


@pytest.fixture(scope="module")
def table_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A v3 table's run: a text column (its `encoding`), normalised inputs and targets."""
    folder = tmp_path_factory.mktemp("table")
    rows = "".join(f"{i / 7:.3f},{'xyz'[i % 3]},{i * 0.37:.3f}\n" for i in range(40))
    (folder / "t.csv").write_text("a,b,v\n" + rows)
    spec = folder / "t.mdl"
    spec.write_text(
        "Linear ->4 | ReLU | Linear ->1;\nloss MSE;\nsgd lr=0.01 batch=8;\ntrain epochs=2;\n"
        'data csv train="t.csv" split=0.8 target=v normalize=standard task=regress;\n'
    )
    return train(folder / "runs", spec=spec)


def _set(*path: object, value: object = None, drop: bool = False) -> Damage:
    """Set (or drop) the value at `path` inside data.json."""

    def change(data: dict) -> None:  # type: ignore[type-arg]
        *parents, last = path
        for key in parents:
            data = data[key]
        if drop:
            del data[last]
        else:
            data[last] = value

    return edit_json("data.json", change)


TABLE_DAMAGES: dict[str, Damage] = {
    "encoding-not-a-list": _set("encoding", value=7),
    "encoding-column-a-list": _set("encoding", 0, value=[[1]]),
    "encoding-column-a-number": _set("encoding", 1, value=100_000_000_000),
    "encoding-unknown-kind": _set("encoding", 0, "kind", value="text"),
    "encoding-mean-text": _set("encoding", 0, "mean", value="0.5"),
    "encoding-categories-text": _set("encoding", 1, "categories", value="xyz"),
    "encoding-renamed": _set("encoding", 0, "name", value="z"),
    "normalize-kind-removed": _set("normalize", "kind", drop=True),
    "normalize-kind-number": _set("normalize", "kind", value=0),
    "normalize-scale-null": _set("normalize", "scale", value=None),
    "normalize-scale-short": _set("normalize", "scale", value=[1.0]),
    "normalize-shift-text": _set("normalize", "shift", 0, value="text"),
    "targets-a-number": _set("targets", value=0),
    "targets-empty": _set("targets", value=[]),
    "targets-another": _set("targets", value=["a"]),
    "task-unknown": _set("task", value="both"),
    "target-normalize-list": _set("target_normalize", value=[]),
    "target-normalize-two": _set("target_normalize", "scale", value=[1.0, 2.0]),
}


@pytest.mark.parametrize("damage", TABLE_DAMAGES, ids=list(TABLE_DAMAGES))
@pytest.mark.parametrize("action", ACTIONS, ids=["summary", "predict", "onnx", "resume"])
def test_a_damaged_table_description_is_one_line_naming_it(
    table_run: Path, tmp_path: Path, damage: str, action: list[str]
) -> None:
    """Found by tests/fuzz/run_folder_faults.py: data.json's `encoding`, `normalize` (beside
    an encoding), `targets` and `target_normalize` were read unchecked (AttributeError)."""
    folder = copy_of(table_run, tmp_path)
    TABLE_DAMAGES[damage](folder)
    assert_one_line(folder, tmp_path, action, "data.json")


def test_an_undamaged_table_run_reads(table_run: Path) -> None:
    code, out, err = run(table_run)
    assert code == 0 and "status completed" in out, err
