"""Damaged run folders and hostile specs, by hand (CI does not run this; the tests of each
fault class are in tests/test_run_files.py and tests/test_limits.py).

    python tests/fuzz/run_folder_faults.py [--quick] [--seed N]

Trains three small run folders (the disk, completed; the disk, interrupted with its
checkpoint; a CSV file with three classes and normalisation), then damages one file at a
time: truncation, bytes flipped, JSON edited (wrong types, empty lists, deep nesting,
removed fields, NaN statistics), `spec.mdl` edited or cut, the checkpoint altered (history
emptied or nested, optimiser tensors removed, NaN weights). On each copy it runs the summary,
`--predict`, `--emit onnx` and `--resume`, each in a forked child with a timeout. Then hostile
numbers, sizes and counts in specs and `--set`. It prints the cases, the exit codes, and
every traceback, hang, or exit 2 whose message is not one line naming a file.
Tracebacks and hangs must be 0.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

from safetensors.torch import load_file, save_file

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 120.0
Damage = Callable[[Path], None]


def child(argv: list[str], out: Path) -> int:
    """Run the command line in a forked child; 99 for an exception that escaped."""
    pid = os.fork()
    if pid == 0:
        code = 99
        try:
            with (
                (out / "stdout").open("w") as o,
                (out / "stderr").open("w") as e,
                contextlib.redirect_stdout(o),
                contextlib.redirect_stderr(e),
            ):
                from minidl.cli.main import main

                try:
                    code = main(argv)
                except SystemExit as caught:
                    code = caught.code if isinstance(caught.code, int) else 2
                except BaseException:
                    traceback.print_exc()
                    code = 99
        finally:
            os._exit(code)
    started = time.monotonic()
    while time.monotonic() - started < TIMEOUT_S:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.02)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return -1  # a hang


def train(spec: Path, out: Path, *options: str) -> Path:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "minidl",
            str(spec),
            "--train",
            "--quiet",
            "--out",
            str(out),
            *options,
        ],
        check=True,
        capture_output=True,
    )
    (folder,) = out.iterdir()
    return folder


def interrupted(spec: Path, out: Path) -> Path:
    """A run stopped by Ctrl-C after a few epochs, its checkpoint kept."""
    env = {**os.environ, "MINIDL_CHECKPOINT_SECONDS": "0"}
    argv = [sys.executable, "-m", "minidl", str(spec), "--train", "--quiet", "--out", str(out)]
    process = subprocess.Popen(
        [*argv, "--set", "train.epochs=2000", "--set", "data.train=64"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    while not list(out.glob("*/checkpoint.safetensors")):
        time.sleep(0.2)
    time.sleep(1.0)
    process.send_signal(signal.SIGINT)
    process.wait(60)
    (folder,) = out.iterdir()
    return folder


# -- damages ---------------------------------------------------------------------------------


def json_edits(
    name: str, value: object, path: tuple[str | int, ...] = ()
) -> Iterator[tuple[str, Damage]]:
    """Each key removed, or its value replaced by one of the wrong type, one at a time."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from json_edits(name, inner, (*path, key))
            yield (
                f"{name}:{'/'.join(map(str, (*path, key)))}:removed",
                edit(name, (*path, key), None, True),
            )
    if isinstance(value, list):
        for index, inner in enumerate(value[:2]):
            yield from json_edits(name, inner, (*path, index))
    if path:
        for replacement in ("text", [], {}, None, -1, 0, 1e308, True, 10**30, [[1]]):
            label = f"{name}:{'/'.join(map(str, path))}={json.dumps(replacement)[:12]}"
            yield label, edit(name, path, replacement)


def edit(
    name: str, path: tuple[str | int, ...], replacement: object, remove: bool = False
) -> Damage:
    def damage(folder: Path) -> None:
        data = json.loads((folder / name).read_text())
        holder = data
        for key in path[:-1]:
            holder = holder[key]
        if remove:
            del holder[path[-1]]
        else:
            holder[path[-1]] = replacement
        (folder / name).write_text(json.dumps(data))

    return damage


def deep(name: str, depth: int) -> Damage:
    def damage(folder: Path) -> None:
        text = (folder / name).read_text()
        (folder / name).write_text(
            text.replace(
                '"format_version": 1',
                '"x": ' + "[" * depth + "]" * depth + ', "format_version": 1',
                1,
            )
        )

    return damage


def cut(name: str, fraction: float) -> Damage:
    def damage(folder: Path) -> None:
        data = (folder / name).read_bytes()
        (folder / name).write_bytes(data[: int(len(data) * fraction)])

    return damage


def flip(name: str, seed: int) -> Damage:
    def damage(folder: Path) -> None:
        data = bytearray((folder / name).read_bytes())
        rng = random.Random(seed)
        for _ in range(3):
            at = rng.randrange(len(data))
            data[at] ^= 1 << rng.randrange(8)
        (folder / name).write_bytes(bytes(data))

    return damage


def spec_edits() -> Iterator[tuple[str, Damage]]:
    def rewrite(change: Callable[[str], str]) -> Damage:
        def damage(folder: Path) -> None:
            text = (folder / "spec.mdl").read_text()
            (folder / "spec.mdl").write_text(change(text))

        return damage

    yield "spec:sweep-added", rewrite(lambda t: t + "\nsweep sgd.lr=[0.1, 0.2];\n")
    yield (
        "spec:epochs-2",
        rewrite(
            lambda t: (
                t.replace("epochs=", "epochs=2 seed=0 x=", 1)
                .replace(" x=3", "")
                .replace(" x=100000", "")
            )
        ),
    )
    yield "spec:seed-changed", rewrite(lambda t: t.replace("seed=0", "seed=1"))
    yield "spec:dtype-changed", rewrite(lambda t: t.replace("dtype=float32", "dtype=float64"))
    yield "spec:wider", rewrite(lambda t: t.replace("->25", "->24", 1))
    yield "spec:empty", rewrite(lambda t: "")
    for statements in range(1, 6):
        yield (
            f"spec:cut-after-{statements}",
            rewrite(lambda t, n=statements: ";".join(t.split(";")[:n]) + ";"),
        )


def checkpoint_edits() -> Iterator[tuple[str, Damage]]:
    def rewrite(change: Callable[[dict, dict], None]) -> Damage:
        def damage(folder: Path) -> None:
            path = folder / "checkpoint.safetensors"
            from safetensors import safe_open

            with safe_open(str(path), framework="pt") as file:
                metadata = dict(file.metadata())
            tensors = load_file(str(path))
            change(tensors, metadata)
            save_file(tensors, str(path), metadata=metadata)

        return damage

    yield "ckpt:history-empty", rewrite(lambda t, m: m.update(history="[]"))
    yield "ckpt:history-deep", rewrite(lambda t, m: m.update(history="[" * 100000 + "]" * 100000))
    yield "ckpt:history-text", rewrite(lambda t, m: m.update(history='"x"'))
    yield "ckpt:epoch-text", rewrite(lambda t, m: m.update(epoch="three"))
    yield "ckpt:epoch-huge", rewrite(lambda t, m: m.update(epoch="9" * 5000))
    yield (
        "ckpt:optimizer-deep",
        rewrite(lambda t, m: m.update(optimizer="{" + '"a":{' * 50000 + "}" * 50001)),
    )
    yield "ckpt:no-metadata", rewrite(lambda t, m: m.clear())
    yield "ckpt:no-generator", rewrite(lambda t, m: t.pop("generator"))
    yield "ckpt:version-99", rewrite(lambda t, m: m.update(format_version="99"))

    def no_optimizer(tensors: dict, metadata: dict) -> None:
        for key in [k for k in tensors if k.startswith("optimizer/")]:
            tensors.pop(key)

    yield "ckpt:optimizer-tensors-removed", rewrite(no_optimizer)

    def nan_weights(tensors: dict, metadata: dict) -> None:
        for key in tensors:
            if key.startswith("model/"):
                tensors[key] = tensors[key] * float("nan")

    yield "ckpt:nan-weights", rewrite(nan_weights)
    yield (
        "ckpt:step-changed",
        rewrite(
            lambda t, m: m.update(optimizer=json.dumps({**json.loads(m["optimizer"]), "step": 1}))
        ),
    )
    yield "ckpt:truncated", cut("checkpoint.safetensors", 0.5)


def weight_edits() -> Iterator[tuple[str, Damage]]:
    def nan(folder: Path) -> None:
        tensors = load_file(str(folder / "weights.safetensors"))
        first = next(iter(tensors))
        tensors[first] = tensors[first] * float("nan")
        save_file(tensors, str(folder / "weights.safetensors"))

    yield "weights:nan", nan
    yield "weights:empty", cut("weights.safetensors", 0.0)


def damages(folder: Path, quick: bool) -> Iterator[tuple[str, Damage]]:
    for name in (
        "metrics.json",
        "data.json",
        "history.csv",
        "spec.mdl",
        "weights.safetensors",
        "checkpoint.safetensors",
    ):
        if not (folder / name).exists():
            continue
        for fraction in (0.0, 0.5, 0.99):
            yield f"{name}:cut-{fraction}", cut(name, fraction)
        for seed in range(2 if quick else 5):
            yield f"{name}:flip-{seed}", flip(name, seed)
    for name in ("metrics.json", "data.json"):
        yield f"{name}:deep", deep(name, 100_000)
        yield f"{name}:deep-20", deep(name, 20)
        yield f"{name}:list", lambda f, n=name: (f / n).write_text("[]")
        edits = list(json_edits(name, json.loads((folder / name).read_text())))
        yield from (edits[::7] if quick else edits)
    yield "data.json:nan-scale", edit("data.json", ("normalize", "scale", 0), 0.0)
    yield "data.json:three-classes", edit("data.json", ("classes",), [0, 1, 2])
    yield "data.json:spec_source-nowhere", edit("data.json", ("spec_source",), "/nowhere/spec.mdl")
    yield (
        "history.csv:short",
        lambda f: (f / "history.csv").write_text(
            "\n".join((f / "history.csv").read_text().splitlines()[:-1]) + "\n"
        ),
    )
    yield (
        "history.csv:text",
        lambda f: (f / "history.csv").write_text(
            (f / "history.csv").read_text().replace(",", ",x", 3)
        ),
    )
    yield from spec_edits()
    yield from weight_edits()
    if (folder / "checkpoint.safetensors").exists():
        yield from checkpoint_edits()


# -- hostile specs ------------------------------------------------------------------------------


def hostile_specs(tmp: Path) -> Iterator[tuple[str, list[str]]]:
    seed = str(ROOT / "specs" / "seed.mdl")
    small = "Linear 2->4 | ReLU | Linear ->1;\nloss MSE;\nsgd lr=0.1 batch={batch};\n"
    small += "train epochs=1;\ndata disk train=64 test=64;\n"

    def spec(name: str, text: str) -> str:
        (tmp / name).write_text(text)
        return str(tmp / name)

    for digits in (30, 31, 4300, 5000, 100_000):
        yield f"set-lr-{digits}-digits", [seed, "--set", "sgd.lr=" + "9" * digits]
        yield f"batch-{digits}-digits", [spec("b.mdl", small.format(batch="9" * digits))]
        yield f"width-{digits}-digits", [spec("w.mdl", "Linear 2->" + "9" * digits + ";")]
    for count in (1000, 10_000):
        text = small.format(batch=4) + "\n".join(f"bogus{i} x=1;" for i in range(count))
        yield f"{count}-errors", [spec("e.mdl", text)]
        stages = " | ".join(f"Relu{i}" for i in range(count))
        yield f"{count}-unknown-stages", [spec("u.mdl", f"Linear 2->4 | {stages} | Linear ->1;")]
    for rows in ("100", "100000", "10000000"):
        wide = "Linear 2->1000000 | ReLU | Linear ->1;\nloss MSE;\nsgd batch=16;\ntrain epochs=1;\n"
        yield (
            f"wide-{rows}-rows",
            [
                spec("m.mdl", wide + f"data disk train={rows} test=10;"),
                "--train",
                "--quiet",
                "--out",
                str(tmp / "runs"),
            ],
        )
    # Three features: the disk's two would add a decision-boundary plot of 40,000 points.
    (tmp / "d3.csv").write_text(
        "a,b,c,y\n" + "".join(f"{i},{i % 3},{i % 5},{i % 2}\n" for i in range(8))
    )
    deep = "(Linear ->2 | ReLU) * 10000 | Linear ->1;\nloss MSE;\nsgd lr=0.01 batch=4;\n"
    deep += 'train epochs=1;\ndata csv train="d3.csv" target=y;\n'
    yield "10000-layers", [spec("d.mdl", deep), "--train", "--quiet", "--out", str(tmp / "runs")]
    for backend in ("minidl", "torch"):
        for lr in ("1e308", "1e38", "1e-320"):
            yield (
                f"{backend}-lr-{lr}",
                [
                    seed,
                    "--train",
                    "--quiet",
                    "--out",
                    str(tmp / "runs"),
                    "--set",
                    f"train.backend={backend}",
                    "--set",
                    f"sgd.lr={lr}",
                    "--set",
                    "data.train=64",
                    "--set",
                    "train.epochs=2",
                ],
            )
    for key in ("train.epochs", "sgd.batch", "data.train", "train.seed", "sweep.runs"):
        for value in ("0", "-1", "1e999", "9" * 40, "nan", '"x"', "[]"):
            yield f"set-{key}={value[:8]}", [seed, "--set", f"{key}={value}"]


# -- the campaign -------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer JSON edits and flips")
    parser.add_argument("--only", default="disk,stopped,csv,hostile", help="phases to run")
    args = parser.parse_args()
    # Imported once here, so that each forked child starts at once.
    import minidl.cli.main
    import minidl.cli.one_run
    import minidl.cli.predict
    import minidl.cli.run_command
    import minidl.export.onnx_graph
    import minidl.runs.saved_run  # noqa: F401

    tmp = Path(tempfile.mkdtemp(prefix="minidl-faults-"))
    seed = ROOT / "specs" / "seed.mdl"
    (tmp / "d.csv").write_text(
        "a,b,y\n" + "".join(f"{i / 7:.3f},{i % 5},{'xyz'[i % 3]}\n" for i in range(60))
    )
    (tmp / "csv.mdl").write_text(
        "Linear ->8 | ReLU | Linear ->3;\nloss CrossEntropy;\nsgd lr=0.1 batch=8;\n"
        'train epochs=3;\ndata csv train="d.csv" split=0.8 target=y normalize=standard;\n'
    )
    (tmp / "x.csv").write_text("x1,x2,a,b\n0.5,0.5,0.1,2\n0.1,0.9,0.4,3\n")
    only = args.only.split(",")
    makers: dict[str, Callable[[], Path]] = {
        "disk": lambda: train(
            seed, tmp / "disk", "--set", "train.epochs=3", "--set", "data.train=200"
        ),
        "stopped": lambda: interrupted(seed, tmp / "stopped"),
        "csv": lambda: train(tmp / "csv.mdl", tmp / "csv"),
    }
    folders = {kind: make() for kind, make in makers.items() if kind in only}
    actions = {
        "summary": [],
        "predict": ["--predict", str(tmp / "x.csv"), "--out", str(tmp / "p.csv")],
        "onnx": ["--emit", "onnx", "--out", str(tmp / "m.onnx")],
        "resume": ["--resume"],
    }
    codes: collections.Counter[int] = collections.Counter()
    bad: list[str] = []
    cases = 0
    for kind, folder in folders.items():
        print(f"{kind}: {cases} commands so far, {len(bad)} bad", flush=True)
        for label, damage in damages(folder, args.quick):
            for action, options in actions.items():
                copy = tmp / "case"
                shutil.rmtree(copy, ignore_errors=True)
                shutil.copytree(folder, copy)
                try:
                    damage(copy)
                except Exception as caught:  # the damage does not apply to this folder
                    print(f"skip {kind} {label}: {caught!r}"[:200])
                    break
                out = tmp / "io"
                shutil.rmtree(out, ignore_errors=True)
                out.mkdir()
                code = child([str(copy), *options], out)
                cases += 1
                codes[code] += 1
                err = (out / "stderr").read_text(errors="replace")
                if code in (99, -1) or "Traceback" in err:
                    bad.append(f"{kind} {label} {action}: exit {code}: {err.strip()[-300:]}")
                elif code == 2 and (len(err.strip().splitlines()) != 1 and "error[" not in err):
                    bad.append(
                        f"{kind} {label} {action}: exit 2, not one line: {err.strip()[:300]}"
                    )
    for label, argv in hostile_specs(tmp) if "hostile" in only else iter(()):
        out = tmp / "io"
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir()
        started = time.monotonic()
        code = child(argv, out)
        cases += 1
        codes[code] += 1
        err = (out / "stderr").read_text(errors="replace")
        took = time.monotonic() - started
        if code in (99, -1) or "Traceback" in err:
            bad.append(f"hostile {label}: exit {code} after {took:.0f} s: {err.strip()[-300:]}")
        else:
            print(f"hostile {label}: exit {code} in {took:.1f} s", flush=True)
    print(f"\n{cases} commands; exit codes {dict(sorted(codes.items()))}")
    print(f"tracebacks {sum('exit 99' in b or 'Traceback' in b for b in bad)}, hangs {codes[-1]}")
    for line in bad:
        print("BAD", line)
    shutil.rmtree(tmp, ignore_errors=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
