"""The compiler: a checked spec to minidl objects (or torch ones for `backend=torch`).

`program` builds the data, model, loss, optimiser and schedule of a spec; `words` maps each
IR word to the minidl class (and its torch twin) behind it; `torch_backend` trains the same
network with torch autograd; `python_script` writes a spec as a standalone script.
"""

from minidl.compiler.program import (
    Ensemble,
    Program,
    compile_ensemble,
    compile_spec,
    with_run_seed,
)

__all__ = ["Ensemble", "Program", "compile_ensemble", "compile_spec", "with_run_seed"]
