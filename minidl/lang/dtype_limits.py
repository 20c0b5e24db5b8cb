"""Option values that the training dtype cannot hold: `lr=1e308` with float32.

Python floats are float64; torch's optimisers turn `lr` into the parameters' dtype, and a
float32 tops out near 3.4e38, so torch failed with "value cannot be converted to type float
without overflow". Such a value is the spec's mistake, at the option (E172).
"""

from __future__ import annotations

from minidl.lang import ir

__all__ = ["FLOAT_MAX", "overflowing_option"]

FLOAT_MAX = {"float32": 3.4028234663852886e38, "float64": 1.7976931348623157e308}
"""The largest finite value of each training dtype."""


def overflowing_option(optimizer: ir.Node, dtype: str) -> tuple[str, str, str] | None:
    """(option, message, help) for the first optimiser option too large for `dtype`."""
    limit = FLOAT_MAX.get(dtype, FLOAT_MAX["float64"])
    for name, value in optimizer.options().items():
        if isinstance(value, float) and abs(value) > limit:
            return (
                name,
                f"`{name}={value:g}` is too large for {dtype}, whose largest value is {limit:.4g}",
                f"use a smaller `{name}`" + (", or `train dtype=float64`" * (dtype != "float64")),
            )
    return None
