"""The `sweep` statement: `KEY=[V, ...]` lists, `KEY=uniform(A, B)` draws, `samples=`, `runs=`.

Each key is checked against the spec's other statements, each value as the file itself
could have written it (`minidl.lang.setting_values`).
"""

from __future__ import annotations

import math
from typing import Any

from minidl.lang import ir
from minidl.lang.errors import Reporter, did_you_mean
from minidl.lang.pydantic_errors import build_node, explain
from minidl.lang.registry import SHORT_KEYS, full_key, settable_keys
from minidl.lang.setting_values import check_setting, statements_of, validate_setting
from minidl.lang.statement_options import unexpected_values
from minidl.lang.syntax import Call, Distribution, Option

__all__ = [
    "check_runs",
    "check_samples",
    "check_sweep",
    "distributions_need_samples",
    "sweep_axis",
]


def check_sweep(reporter: Reporter, call: Call, fields: dict[str, Any]) -> ir.Sweep | None:
    """Check `sweep KEY=[V, ...] KEY=uniform(A, B) ... [samples=N] [runs=N]` against the
    spec's other statements."""
    current = statements_of(fields)
    keys = settable_keys(current)
    axes: list[ir.SweepAxis] = []
    runs: int | None = 1
    samples: int | None = None
    seen: set[str] = set()
    ok = not unexpected_values(reporter, call, call.args)
    for option in call.options:
        if option.key == "runs":
            runs = check_runs(reporter, option, call)
            continue
        if option.key == "samples":
            samples = check_samples(reporter, option, call)
            ok = ok and samples is not None
            continue
        key = full_key(option.key, current)
        if key in seen:
            reporter.error(
                "E223",
                f"`{key}` is swept twice",
                option.start,
                option.end,
                "merge the two lists into one",
            )
            ok = False
            continue
        seen.add(key)
        axis = sweep_axis(reporter, option, key, keys, fields)
        ok = ok and axis is not None
        if axis is not None:
            axes.append(axis)
    if ok and samples is None:
        ok = distributions_need_samples(reporter, call)
    if runs is None or not ok:
        return None
    span = reporter.span(call.start, call.end)
    return ir.Sweep(axes=tuple(axes), samples=samples, runs=runs, span=span)


def check_samples(reporter: Reporter, option: Option, call: Call) -> int | None:
    """`samples=N`: how many configurations a search draws."""
    plain = {"samples": option.value.plain()}
    swept = build_node(reporter, ir.Sweep, plain, call, {"samples": option})
    return swept.samples if isinstance(swept, ir.Sweep) else None


def check_runs(reporter: Reporter, option: Option, call: Call) -> int | None:
    """`runs=N`: how many times each configuration trains, with seeds S, S + 1, ..."""
    plain = {"runs": option.value.plain()}
    swept = build_node(reporter, ir.Sweep, plain, call, {"runs": option})
    return swept.runs if isinstance(swept, ir.Sweep) else None


def distributions_need_samples(reporter: Reporter, call: Call) -> bool:
    """Report each distribution of a sweep without `samples=N`; True if none."""
    drawn = [o for o in call.options if isinstance(o.value.value, Distribution)]
    for option in drawn:
        reporter.error(
            "E224",
            f"`{option.key}` is drawn from a distribution, which needs `samples=N`",
            option.value.start,
            option.value.end,
            "add `samples=20` to the sweep to draw 20 configurations",
        )
    return not drawn


def sweep_axis(
    reporter: Reporter, option: Option, key: str, keys: list[str], fields: dict[str, Any]
) -> ir.SweepAxis | None:
    """One swept key, `KEY=[V, ...]` or `KEY=uniform(A, B)`, its values checked."""
    written = option.key.removeprefix("sweep.")
    if key not in keys:
        guess = did_you_mean(written, keys + list(SHORT_KEYS))
        if guess is None and "." in written:
            guess = did_you_mean(written.split(".", 1)[1], [k.split(".", 1)[1] for k in keys])
            guess = next((k for k in keys if k.endswith(f".{guess}")), None) if guess else None
        help = f"did you mean `{guess}`?" if guess else "keys are dotted paths such as `sgd.lr`"
        fix = None if guess is None else option.key[: len(option.key) - len(written)] + guess
        message = f"unknown sweep key `{written}`"
        reporter.error("E220", message, option.start, option.key_end, help, replacement=fix)
        return None
    items = option.value.value
    if isinstance(items, Distribution):
        return _distribution_axis(reporter, option, key, items, fields)
    if not isinstance(items, tuple):
        reporter.error(
            "E131",
            f"a sweep takes a list of values for `{option.key}`",
            option.value.start,
            option.value.end,
            f"write `{option.key}=[{reporter.source(option.value)}]`",
        )
        return None
    if not items:
        reporter.error(
            "E221",
            f"the list for `{option.key}` is empty",
            option.value.start,
            option.value.end,
            "give at least one value",
        )
        return None
    values = [check_setting(reporter, key, item, fields) for item in items]
    if any(v is None for v in values):
        return None
    span = reporter.span(option.start, option.end)
    return ir.SweepAxis(key=key, values=tuple(v for v in values if v is not None), span=span)


def _distribution_axis(
    reporter: Reporter, option: Option, key: str, drawn: Distribution, fields: dict[str, Any]
) -> ir.SweepAxis | None:
    """`KEY=uniform(A, B)`, `loguniform(A, B)` or `randint(A, B)`, bounds checked."""
    where = option.value
    if drawn.name not in ir.DISTRIBUTIONS:
        guess = did_you_mean(drawn.name, ir.DISTRIBUTIONS)
        help = (
            f"did you mean `{guess}`?"
            if guess
            else "distributions: " + ", ".join(f"`{d}(A, B)`" for d in ir.DISTRIBUTIONS)
        )
        reporter.error(
            "E225",
            f"unknown distribution `{drawn.name}`",
            where.start,
            drawn.name_end,
            help,
            replacement=guess,
        )
        return None
    problem = _bounds_problem(drawn)
    if problem is not None:
        reporter.error("E225", problem, where.start, where.end, _BOUNDS_HELP[drawn.name])
        return None
    low, high = (bound.plain() for bound in drawn.args)
    assert isinstance(low, int | float) and isinstance(high, int | float)
    # Check the values the draw can reach against the key, as a list's values are.
    if drawn.name == "randint":
        reach: list[object] = [low, high]
    else:
        reach = [float(low), math.nextafter(float(high), -math.inf)]
    for value in reach:
        _, failure = validate_setting(key, value, fields)
        if failure is not None:
            message, advice, _ = explain(failure, key, reporter.source(where), "sweep")
            reporter.error("E222", message, where.start, where.end, advice)
            return None
    return ir.SweepAxis(
        key=key,
        distribution=drawn.name,  # type: ignore[arg-type]  # checked against the table
        low=low,
        high=high,
        span=reporter.span(option.start, option.end),
    )


_BOUNDS_HELP = {
    "uniform": "write `uniform(A, B)` with numbers A < B",
    "loguniform": "write `loguniform(A, B)` with 0 < A < B, such as `loguniform(1e-4, 0.1)`",
    "randint": "write `randint(A, B)` with integers A <= B; both ends can be drawn",
}


def _bounds_problem(drawn: Distribution) -> str | None:
    """What is wrong with a distribution's bounds, or None."""
    name = drawn.name
    if len(drawn.args) != 2:
        return f"`{name}` takes two bounds, got {len(drawn.args)}"
    low, high = (bound.value for bound in drawn.args)
    integral = name == "randint"
    for bound in (low, high):
        if isinstance(bound, bool) or not isinstance(bound, int | float):
            return f"the bounds of `{name}` must be numbers"
        if integral and not isinstance(bound, int):
            return f"the bounds of `{name}` must be integers, got {bound!r}"
        if not math.isfinite(bound):
            return f"the bounds of `{name}` must be finite"
    assert isinstance(low, int | float) and isinstance(high, int | float)
    if integral and low > high:
        return f"`randint({low}, {high})` is empty: its low bound is above its high bound"
    if not integral and low >= high:
        return f"`{name}({low!r}, {high!r})` is empty: A must be below B"
    if name == "loguniform" and low <= 0:
        return f"`loguniform` needs positive bounds, got {low!r}"
    return None
