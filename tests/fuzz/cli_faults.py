"""Faulty data and hostile specs thrown at the command line, as a user would (issues 19, 27).

    .venv/bin/python tests/fuzz/cli_faults.py [--jobs N] [--timeout S]

Not run by CI. Each case runs `python -m minidl ...` in a subprocess on a faulty train file,
test file, `--predict` input, spec or `--set` value, and the script counts tracebacks (there
must be none), exit codes, and hangs (past the timeout). A user's mistake must exit 2 and
name its place. Prints a table of counts, then every case that printed a traceback, hung, or
exited other than expected. (Damaged run folders and spec limits: tests/fuzz/run_folders.py
on another branch.)
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

HEADER = "a,b,y"
GOOD = ["0.1,0.2,0", "0.3,0.1,1", "0.5,0.9,1", "0.2,0.4,0", "0.8,0.7,1", "0.15,0.3,0"]
NETWORK = "Linear ->4 | ReLU | Linear ->1"


@dataclass(frozen=True)
class Case:
    """One command: its name, the files it needs (name -> bytes), its arguments (`{dir}` is
    the case's folder), and the exit codes a correct minidl may give."""

    name: str
    files: dict[str, bytes]
    argv: tuple[str, ...]
    expected: tuple[int, ...] = (2,)


def csv(*lines: str, end: str = "\n") -> bytes:
    return (end.join(lines) + end).encode()


def spec(data: str, network: str = NETWORK, extra: str = "") -> bytes:
    return f"{network};\nsgd lr=0.1 batch=2;\ntrain epochs=2;\n{data};\n{extra}".encode()


TRAIN_FAULTS: dict[str, bytes] = {
    "text cell": csv(HEADER, GOOD[0], "0.3,abc,1", *GOOD[2:]),
    "empty cell": csv(HEADER, GOOD[0], "0.3,,1", *GOOD[2:]),
    "nan": csv(HEADER, GOOD[0], "0.3,nan,1", *GOOD[2:]),
    "inf": csv(HEADER, GOOD[0], "0.3,-inf,1", *GOOD[2:]),
    "1e39": csv(HEADER, GOOD[0], "0.3,1e39,1", *GOOD[2:]),
    "1e400": csv(HEADER, GOOD[0], "0.3,1e400,1", *GOOD[2:]),
    "short row": csv(HEADER, GOOD[0], "0.3,1", *GOOD[2:]),
    "short row among text": csv(HEADER, "0.1,x,0", "0.3,y", "0.5,x,1", "0.2,y,0"),
    "long row": csv(HEADER, GOOD[0], "0.3,0.1,1,7", *GOOD[2:]),
    "trailing commas": csv(HEADER, *(row + "," for row in GOOD)),
    "semicolons": csv("a;b;y", *(row.replace(",", ";") for row in GOOD)),
    "tabs": csv("a\tb\ty", *(row.replace(",", "\t") for row in GOOD)),
    "empty file": b"",
    "blank lines only": b"\n\n\n",
    "header only": csv(HEADER),
    "no target column": csv("a,b,z", *GOOD),
    "target only": csv("y", "0", "1"),
    "duplicate column": csv("a,a,y", *GOOD),
    "unnamed column": csv("a,,y", *GOOD),
    "empty label": csv(HEADER, GOOD[0], "0.3,0.1,", *GOOD[2:]),
    "three classes": csv(HEADER, *GOOD, "0.4,0.4,2"),
    "one class": csv(HEADER, *(row[:-1] + "0" for row in GOOD)),
    "one row": csv(HEADER, GOOD[0]),
    "latin-1 early": csv(HEADER, GOOD[0]) + b"0.3,\xe9,1\n",
    "latin-1 late": csv(HEADER, *(GOOD * 12000)) + b"0.3,0.1,\xff\n",
    "binary": bytes(range(256)) * 40,
    "nul bytes": csv(HEADER, GOOD[0]) + b"0.3,0\x00.1,1\n",
    "unclosed quote": csv(HEADER, GOOD[0], '"0.3,0.1,1', *GOOD[2:]),
    "quoted newline in cell": csv(HEADER, GOOD[0], '"0.\n3",0.1,1', *GOOD[2:]),
    "cell of 140,000 characters": csv(HEADER, GOOD[0], "0.3," + "1" * 140_000 + ",1"),
    "name of 140,000 characters": csv("a,b" + "x" * 140_000 + ",y", *GOOD),
    "huge integer": csv(HEADER, GOOD[0], "0.3," + "9" * 400 + ",1", *GOOD[2:]),
    "hex number": csv(HEADER, GOOD[0], "0.3,0x10,1", *GOOD[2:]),
    "bom and crlf": b"\xef\xbb\xbf" + csv(HEADER, *GOOD, end="\r\n"),
    "lone cr line ends": csv(HEADER, *GOOD, end="\r"),
    "spaces around cells": csv(" a , b , y ", *(" " + r.replace(",", " , ") for r in GOOD)),
    "true/false cells": csv(HEADER, GOOD[0], "0.3,true,1", *GOOD[2:]),
    "text and numbers in the target": csv(HEADER, *GOOD, "0.4,0.4,cat"),
    "a folder": b"",  # replaced by a folder below
}
"""Train files: most are mistakes (exit 2); some are fine (BOM, spaces), exit 0 or 2."""

FINE_TRAIN = {"bom and crlf", "spaces around cells", "lone cr line ends",
              # valid since v3 tables: a text cell makes its column categorical, a gap or a
              # NaN is a missing cell (imputed), text labels are classes
              "text cell", "empty cell", "nan", "hex number", "true/false cells",
              "text and numbers in the target",
              # rows without a target are left out (W210); three numbers to predict with
              # the default MSE are a regression (task=auto); a NUL makes a text cell;
              # a quoted newline is one cell
              "empty label", "three classes", "nul bytes", "quoted newline in cell"}  # fmt: skip

TEST_FAULTS: dict[str, bytes] = {
    "test missing column": csv("a,y", "0.1,0", "0.9,1"),
    "test extra column": csv("a,b,c,y", "0.1,0.2,5,0", "0.9,0.4,6,1"),
    "test columns reordered": csv("y,b,a", "0,0.2,0.1", "1,0.4,0.9"),
    "test unseen label": csv(HEADER, "0.1,0.2,0", "0.9,0.4,7"),
    "test text cell": csv(HEADER, "0.1,0.2,0", "0.9,x,1"),
    "test header only": csv(HEADER),
    "test empty": b"",
    "test 1e39": csv(HEADER, "0.1,1e39,0", "0.9,0.4,1"),
    "test no target": csv("a,b", "0.1,0.2"),
    "test not utf-8": csv(HEADER) + b"0.1,\xe9,0\n",
}
FINE_TEST = {"test columns reordered"}

PREDICT_FAULTS: dict[str, bytes] = {
    "predict missing column": csv("a", "0.1"),
    "predict text cell": csv("a,b", "0.1,x"),
    "predict id column": csv("id,a,b", "r1,0.1,0.2", "r2,0.9,0.4"),
    "predict reordered": csv("b,a", "0.2,0.1"),
    "predict empty": b"",
    "predict header only": csv("a,b"),
    "predict nan": csv("a,b", "0.1,nan"),
    "predict 1e39": csv("a,b", "0.1,1e39"),
    "predict ragged": csv("a,b", "0.1,0.2,0.3"),
    "predict binary": bytes(range(256)) * 8,
    "predict latin-1": csv("a,b") + b"0.1,\xe9\n",
    "predict long cell": csv("a,b", "0.1," + "2" * 140_000),
    "predict duplicate column": csv("a,a,b", "0.1,0.1,0.2"),
    "predict with target": csv("a,b,y", "0.1,0.2,0"),
    "predict semicolons": csv("a;b", "0.1;0.2"),
}
# a NaN is a gap, imputed as in training, with a warning
FINE_PREDICT = {"predict id column", "predict reordered", "predict header only",
                "predict with target", "predict nan"}  # fmt: skip

HOSTILE_SPECS: dict[str, bytes] = {
    "huge width": b"Linear 2->99999999999999999999999 | Linear ->1;",
    "width over the limit": b"Linear 2->1000001 | Linear ->1;",
    "huge repetition": b"(Linear ->2 | ReLU) * 99999999999999999999 | Linear ->1;",
    "huge epochs": b"Linear 2->1;\ntrain epochs=999999999999999999999999;",
    "huge seed": b"Linear 2->1;\ntrain seed=99999999999999999999999999;",
    "huge batch": b"Linear 2->1;\nsgd lr=0.1 batch=999999999999999999999;",
    "lr -inf": b"Linear 2->1;\nsgd lr=-inf batch=2;",
    "lr 1e400": b"Linear 2->1;\nsgd lr=1e400 batch=2;",
    "lr nan": b"Linear 2->1;\nsgd lr=nan batch=2;",
    "escape \\q": b'Linear ->1;\ndata csv train="d\\q.csv" target=y;',
    "many errors": b"\n".join(b"Linaer 2->1 | relu | Linear 3->4;" for _ in range(2000)),
    "deep nesting": b"(" * 200 + b"Linear 2->1" + b")" * 200 + b";",
    "nul in spec": b"Linear 2->1;\x00",
    "not utf-8 spec": b"Linear 2->1; # \xe9\xff",
    "spec is binary": bytes(range(256)),
    "empty spec": b"",
    "nesterov without momentum": b"Linear 2->1;\nsgd lr=0.1 batch=2 nesterov=true;",
    "split 0": spec('data csv train="d.csv" split=0 target=y'),
    "split 1": spec('data csv train="d.csv" split=1 target=y'),
    "split 0.5 of two rows": spec('data csv train="two.csv" split=0.5 target=y'),
    "test and split": spec('data csv train="d.csv" test="d.csv" split=0.5 target=y'),
    "join at the start on csv": spec(
        'data csv train="d.csv" target=y', "(Linear ->8 | ReLU) & Identity | Linear ->1"
    ),
    "sweep nesterov": b"Linear 2->1;\ntrain epochs=1;\nsweep sgd.nesterov=[true];",
    "three targets two outputs": spec(
        'data csv train="three.csv" target=y', "Linear ->4 | ReLU | Linear ->2"
    ),
}
FINE_SPECS = {"join at the start on csv"}

HOSTILE_SETS: list[tuple[str, ...]] = [
    ("sgd.lr=-inf",), ("sgd.lr=inf",), ("sgd.lr=nan",), ("sgd.lr=1e400",), ("sgd.lr=",),
    ("sgd.batch=0",), ("sgd.batch=99999999999999999999999",), ("sgd.batch=-1",),
    ("train.epochs=99999999999999999999",), ("train.epochs=0",), ("train.seed=-1",),
    ("sgd.nesterov=true",), ("sgd.nesterov=yes",), ("sgd.momentum=2",), ("nope=1",),
    ("sgd.lr",), ("=1",), ("sgd.lr=1=2",), ("train.device=gpu",), ("train.dtype=float16",),
    ("data.train=0",), ("data.train=99999999999999999999",), ("data.radius=-1",),
    ("loss.name=CrossEntropy",), ("schedule.warmup=1000",), ("sweep.runs=0",),
    ("sgd.lr=[0.1, 0.2]",), ('sgd.lr="0.1"',), ("sgd.lr=0.1;train.epochs=2",),
    ("x" * 100_000 + "=1",), ("sgd.lr=" + "9" * 5000,), ("sgd.lr=1e-400",),
    ("train.backend=tensorflow",), ("data.split=0.5",), ("sgd.weight_decay=-1",),
]  # fmt: skip
FINE_SETS: set[tuple[str, ...]] = set()  # 1e-400 is 0 (E222); `sgd.lr=inf` is E131 (v3)

SUMMARY_BLIND = {"test unseen label", "split 0.5 of two rows"}
"""What the summary cannot see and training refuses: it does not compare a test file's labels
with the train file's, nor draw the seeded split (torch's generator); exit 0 or 2."""


def cases() -> list[Case]:
    """Every case, its files named relative to its own folder."""
    found: list[Case] = []
    for name, data in TRAIN_FAULTS.items():
        files = {"d.csv": data, "s.mdl": spec('data csv train="d.csv" target=y')}
        expected = (0, 2) if name in FINE_TRAIN else (2,)
        if name == "a folder":
            files = {"d.csv/x": b"", "s.mdl": files["s.mdl"]}
        for mode in ((), ("--train", "--quiet", "--out", "{dir}/runs")):
            found.append(Case(f"train file: {name} {' '.join(mode[:1])}", files,
                              ("{dir}/s.mdl", *mode), expected))  # fmt: skip
    for name, data in TEST_FAULTS.items():
        files = {"d.csv": csv(HEADER, *GOOD), "t.csv": data,
                 "s.mdl": spec('data csv train="d.csv" test="t.csv" target=y')}  # fmt: skip
        for mode in ((), ("--train", "--quiet", "--out", "{dir}/runs")):
            expected = (0,) if name in FINE_TEST else (2,)
            expected = (0, 2) if name in SUMMARY_BLIND and not mode else expected
            found.append(Case(f"{name} {' '.join(mode[:1])}", files, ("{dir}/s.mdl", *mode),
                              expected))  # fmt: skip
    for name, data in PREDICT_FAULTS.items():
        expected = (0,) if name in FINE_PREDICT else (2,)
        found.append(Case(name, {"p.csv": data}, ("{run}", "--predict", "{dir}/p.csv"), expected))
        found.append(Case(name + " --out", {"p.csv": data},
                          ("{run}", "--predict", "{dir}/p.csv", "--out", "{dir}/o.csv"),
                          expected))  # fmt: skip
    found.append(Case("predict a missing file", {}, ("{run}", "--predict", "{dir}/nope.csv")))
    found.append(Case("predict a folder", {"f/x": b""}, ("{run}", "--predict", "{dir}/f")))
    found.append(
        Case(
            "predict --out in the run",
            {"p.csv": csv("a,b", "0.1,0.2")},
            ("{run}", "--predict", "{dir}/p.csv", "--out", "{run}/metrics.json"),
        )
    )
    found.append(
        Case(
            "onnx --out in the run",
            {},
            ("{run}", "--emit", "onnx", "--out", "{run}/weights.safetensors"),
        )
    )
    found.append(
        Case(
            "predict --out a dangling link",
            {"p.csv": csv("a,b", "0.1,0.2")},
            ("{run}", "--predict", "{dir}/p.csv", "--out", "{dir}/dangling"),
        )
    )
    found.append(
        Case(
            "predict --out /dev/null",
            {"p.csv": csv("a,b", "0.1,0.2")},
            ("{run}", "--predict", "{dir}/p.csv", "--out", "/dev/null"),
            (0,),
        )
    )
    found.append(Case("newest run by prefix", {}, ("{runs}/d",), (0,)))
    found.append(Case("no run by prefix", {}, ("{runs}/nothing",)))
    data_files = {"d.csv": csv(HEADER, *GOOD), "two.csv": csv(HEADER, GOOD[0], GOOD[1]),
                  "three.csv": csv(HEADER, *GOOD, "0.4,0.4,2")}  # fmt: skip
    for name, text in HOSTILE_SPECS.items():
        files = {**data_files, "s.mdl": text}
        for mode in ((), ("--train", "--quiet", "--out", "{dir}/runs")):
            expected = (0,) if name in FINE_SPECS else (2,)
            expected = (0, 2) if name in SUMMARY_BLIND and not mode else expected
            found.append(Case(f"spec: {name} {' '.join(mode[:1])}", files,
                              ("{dir}/s.mdl", *mode), expected))  # fmt: skip
    seed = b"Linear 2->4 | ReLU | Linear ->1;\ntrain epochs=1;\ndata disk train=20 test=20;\n"
    for sets in HOSTILE_SETS:
        argv = ["{dir}/s.mdl", "--train", "--quiet", "--out", "{dir}/runs"]
        for assignment in sets:
            argv += ["--set", assignment]
        expected = (0,) if sets in FINE_SETS else (2,)
        found.append(Case(f"--set {sets[0][:40]}", {"s.mdl": seed}, tuple(argv), expected))
    return found


@dataclass
class Outcome:
    case: Case
    code: int | None  # None: it hung
    traceback: bool
    err: str


def run_case(case: Case, root: Path, number: int, run: Path, timeout: float) -> Outcome:
    folder = root / f"case{number:03d}"
    folder.mkdir()
    for name, data in case.files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    if "dangling" in " ".join(case.argv):
        (folder / "dangling").symlink_to("nowhere.csv")
    values = {"dir": str(folder), "run": str(run), "runs": str(run.parent)}
    argv = [a.format(**values) if "{" in a and len(a) < 300 else a for a in case.argv]
    try:
        done = subprocess.run([sys.executable, "-m", "minidl", *argv], capture_output=True,
                              text=True, errors="replace", timeout=timeout, cwd=folder)  # fmt: skip
    except subprocess.TimeoutExpired:
        print(f"case {number}: hang {case.name!r}", file=sys.stderr, flush=True)
        return Outcome(case, None, False, "")
    text = done.stdout + done.stderr
    traceback = "Traceback (most recent call last)" in text
    mark = "TRACEBACK " if traceback else ""
    print(f"case {number}: exit {done.returncode} {mark}{case.name!r}", file=sys.stderr, flush=True)
    return Outcome(case, done.returncode, traceback, done.stderr)


def trained_run(root: Path) -> Path:
    """A run folder trained on `a,b,y` data, for the `--predict` cases."""
    (root / "d.csv").write_bytes(csv(HEADER, *GOOD))
    (root / "d.mdl").write_bytes(spec('data csv train="d.csv" target=y'))
    runs = root / "runs"
    subprocess.run([sys.executable, "-m", "minidl", str(root / "d.mdl"), "--train", "--quiet",
                    "--out", str(runs)], check=True, capture_output=True)  # fmt: skip
    (folder,) = runs.iterdir()
    return folder


def main() -> int:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--jobs", type=int, default=4)
    options.add_argument("--timeout", type=float, default=120.0)
    args = options.parse_args()
    root = Path(tempfile.mkdtemp(prefix="minidl-cli-faults-"))
    run = trained_run(root)
    work = cases()
    with ThreadPoolExecutor(args.jobs) as pool:
        outcomes = list(pool.map(lambda pair: run_case(pair[1], root, pair[0], run, args.timeout),
                                 enumerate(work)))  # fmt: skip
    codes = Counter("hang" if o.code is None else str(o.code) for o in outcomes)
    tracebacks = [o for o in outcomes if o.traceback]
    unexpected = [o for o in outcomes if o.code is not None and o.code not in o.case.expected]
    print(f"cases {len(outcomes)}   tracebacks {len(tracebacks)}   hangs {codes['hang']}   "
          f"unexpected exit codes {len(unexpected)}")  # fmt: skip
    print("exit codes: " + ", ".join(f"{code}: {n}" for code, n in sorted(codes.items())))
    for outcome in tracebacks + unexpected + [o for o in outcomes if o.code is None]:
        last = outcome.err.strip().splitlines()[-1:] if outcome.err.strip() else [""]
        print(f"  {outcome.case.name!r}: exit {outcome.code} "
              f"(expected {outcome.case.expected}) {last[0][:150]}")  # fmt: skip
    return 1 if tracebacks or codes["hang"] else 0


if __name__ == "__main__":
    sys.exit(main())
