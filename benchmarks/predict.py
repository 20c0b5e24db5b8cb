"""Predicting 1,000,000 rows through the seed network: minidl (chunked) against torch.

minidl: `Program.predict`'s path (`network_outputs`, 65,536 rows a chunk, eval mode);
torch: the same weights in torch.nn (the compiler's torch twins) under `no_grad`, all rows
at once. Also the whole `--predict` path, CSV in and out, on a 1,000,000-row file. Prints a
table; the peak memory of the process is its ru_maxrss.

    python benchmarks/predict.py [--rows 1000000] [--csv]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

import minidl
from minidl.cli.main import main
from minidl.compiler.predictions import network_outputs
from minidl.compiler.words import LAYERS

ROOT = Path(__file__).resolve().parent.parent


def best_of(repeats: int, call: object) -> float:
    assert callable(call)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return min(times)


def main_(rows: int, with_csv: bool) -> None:
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch)
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            assert (
                main(
                    [
                        str(ROOT / "specs/seed.mdl"),
                        "--train",
                        "--quiet",
                        "--out",
                        str(out / "runs"),
                        "--set",
                        "train.epochs=5",
                    ]
                )
                == 0
            )
        (folder,) = (out / "runs").iterdir()
        program = minidl.load(folder)
        x = np.random.default_rng(0).uniform(0, 1, size=(rows, 2))
        twin = torch.nn.Sequential(*(LAYERS[type(m).__name__].torch(m) for m in program.model))
        twin.eval()

        def with_torch() -> torch.Tensor:
            with torch.no_grad():
                result: torch.Tensor = twin(torch.from_numpy(x).float())
            return result

        expected = with_torch().double()
        got = network_outputs(program, x)
        assert torch.equal(got, expected), float((got - expected).abs().max())
        table = [
            ("minidl predict (chunked)", best_of(3, lambda: network_outputs(program, x))),
            ("torch no_grad (one batch)", best_of(3, with_torch)),
        ]
        if with_csv:
            data = out / "rows.csv"
            np.savetxt(data, x, delimiter=",", header="x1,x2", comments="", fmt="%.17g")
            code = [0]

            def whole() -> None:
                code[0] = main([str(folder), "--predict", str(data), "--out", str(out / "p.csv")])

            table.append(("minidl --predict, CSV to CSV", best_of(1, whole)))
            assert code[0] == 0
    print(f"{rows:,} rows, seed network, 1 thread")
    for name, seconds in table:
        print(f"  {name:<30} {seconds:8.3f} s  {rows / seconds / 1e6:7.2f} M rows/s")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak memory (ru_maxrss)        {peak:8.0f} MiB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--csv", action="store_true", help="also time the whole --predict path")
    args = parser.parse_args()
    main_(args.rows, args.csv)
