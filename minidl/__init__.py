"""minidl: a small deep-learning framework whose every gradient is written by hand.

`from minidl import compile_spec` builds a checked MDL spec into a `Program`, and
`minidl.load(RUN_DIR)` the trained `Program` of a run folder. The framework lives in
`minidl.nn`, `minidl.optim`, `minidl.data` and `minidl.train`; the language in `minidl.lang`,
which never imports torch (nor does `import minidl`); run folders in `minidl.runs`. Neither
`import minidl` nor `load` imports the command line, `minidl.cli` (import-linter checks it).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["Ensemble", "Program", "__version__", "compile_ensemble", "compile_spec", "load"]

if TYPE_CHECKING:
    from minidl.compiler import Ensemble, Program, compile_ensemble, compile_spec


def load(run_dir: str | os.PathLike[str]) -> Program:
    """The `Program` of a run folder that `--train` wrote, with its trained weights, in
    evaluation mode; `program.predict(raw_features)` gives labels as `--predict` writes them.

    Raises `minidl.runs.run_folder.RunFolderError` (naming the file) for a damaged folder.
    """
    from minidl.runs.saved_run import load_program

    return load_program(os.fspath(run_dir))


def __getattr__(name: str) -> Any:
    # Lazy, so that parsing and the summary command never pay for `import torch`.
    if name in ("Ensemble", "Program", "compile_ensemble", "compile_spec"):
        from minidl import compiler

        return getattr(compiler, name)
    raise AttributeError(f"module 'minidl' has no attribute {name!r}")
