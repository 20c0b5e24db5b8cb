"""A long fuzzing run of the command line, to start by hand (CI runs a short one).

    python tests/fuzz/run.py [CASES]      # default 20,000

Each case writes a spec, runs `main([spec, --set ..., --emit ...])` in this process and
checks that it returns 0 or 2 without an exception escaping, printing no traceback. Prints
the cases run, the failures (with the input) and the slowest case.
"""

from __future__ import annotations

import contextlib
import io
import sys
import tempfile
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings

sys.path.insert(0, str(Path(__file__).parent))
from cli_cases import cli_cases

from minidl.compile import main


def run(cases: int) -> None:
    stats = {"cases": 0, "failures": 0, "slowest": 0.0}
    folder = Path(tempfile.mkdtemp())

    @settings(
        max_examples=cases, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(cli_cases())
    def case(args: tuple[str, list[str], list[str]]) -> None:
        text, sets, options = args
        spec = folder / "fuzz.mdl"
        spec.write_text(text, encoding="utf-8", errors="surrogatepass")
        argv = [str(spec), *[f"--set={s}" for s in sets], *options]
        started = time.perf_counter()
        out, err = io.StringIO(), io.StringIO()
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = main(argv)
            allowed = (0, 1, 2) if "--train" in options else (0, 2)
            ok = code in allowed and "Traceback" not in err.getvalue()
        except BaseException as caught:
            ok, err = False, io.StringIO(repr(caught))
        stats["slowest"] = max(stats["slowest"], time.perf_counter() - started)
        stats["cases"] += 1
        if not ok:
            stats["failures"] += 1
            print(f"FAILURE: {argv!r}\n{text!r}\n{err.getvalue()[-2000:]}", file=sys.stderr)

    case()
    print(
        f"cases run: {stats['cases']}, failures: {stats['failures']}, "
        f"slowest case: {stats['slowest']:.3f} s"
    )


if __name__ == "__main__":
    run(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)
