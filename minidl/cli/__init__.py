"""The command line and what it drives for the user: one run, a sweep, run folders, plots.

`main` (the `minidl` command) is a straight chain: read, parse and check the spec, then a
summary, an emitted form, or training (`one_run`, `sweep`), whose results go to a run
folder (`minidl.runs`, `plots`, `sweep_results`). Exit codes are in `exits`. A run folder's
`--predict`, `--resume` and `--emit onnx` (`minidl.export`) are served by `run_command`.
"""

__all__: list[str] = []
