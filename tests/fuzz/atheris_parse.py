"""Coverage-guided fuzzing of the MDL front end with atheris (libFuzzer), by hand.

    pip install atheris
    mkdir -p /tmp/mdl-corpus
    python tests/fuzz/atheris_parse.py -max_total_time=300 /tmp/mdl-corpus specs/

libFuzzer writes the inputs it finds into the first folder, so give a scratch folder first
and `specs/` (read only as seeds) second.

Any input must give a `Spec` or a `SpecError`, whose rendering must not leak parser
internals; a `--set` override is fuzzed from the same bytes. Anything else is a crash that
libFuzzer reports with the input that caused it.
"""

from __future__ import annotations

import contextlib
import sys

import atheris

with atheris.instrument_imports(include=["minidl"]):
    from minidl.lang import SpecError, format_spec, parse
    from minidl.lang.settings import apply_settings

SEED_SPEC = parse("Linear 2->25 | ReLU | Linear 25->1 | Tanh")


def one_input(data: bytes) -> None:
    text = data.decode("utf-8", errors="replace")
    try:
        spec = parse(text, filename="fuzz.mdl")
        assert parse(format_spec(spec)) == spec
    except SpecError as caught:
        rendered = str(caught)
        for internal in ("__ANON", "$END", "Token("):
            assert internal not in rendered or internal in text  # unless the user wrote it
    with contextlib.suppress(SpecError):
        apply_settings(SEED_SPEC, [text[:200]])


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
