"""minidl: a small deep-learning framework whose every gradient is written by hand.

`from minidl import compile_spec` builds a checked MDL spec into a `Program`. The framework
lives in `minidl.nn`, `minidl.optim`, `minidl.data` and `minidl.train`; the language in
`minidl.lang`, which never imports torch (nor does `import minidl`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["Ensemble", "Program", "__version__", "compile_ensemble", "compile_spec"]

if TYPE_CHECKING:
    from minidl.compiler import Ensemble, Program, compile_ensemble, compile_spec


def __getattr__(name: str) -> Any:
    # Lazy, so that parsing and the summary command never pay for `import torch`.
    if name in ("Ensemble", "Program", "compile_ensemble", "compile_spec"):
        from minidl import compiler

        return getattr(compiler, name)
    raise AttributeError(f"module 'minidl' has no attribute {name!r}")
