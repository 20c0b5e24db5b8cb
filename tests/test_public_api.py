"""Every public module declares `__all__`, and every name in it exists."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import minidl

MODULES = sorted(
    name
    for _, name, _ in pkgutil.walk_packages(minidl.__path__, "minidl.")
    if not name.split(".")[-1].startswith("_") and name != "minidl.grammar"
)


@pytest.mark.parametrize("name", ["minidl", *MODULES])
def test_all_names_exist(name: str) -> None:
    module = importlib.import_module(name)
    assert hasattr(module, "__all__"), f"{name} has no __all__"
    for attribute in module.__all__:
        assert getattr(module, attribute) is not None, f"{name}.{attribute}"


def test_the_contracts_imports() -> None:
    from minidl import compile_spec  # noqa: F401
    from minidl.lang import Spec, SpecError, format_spec, parse, parse_file  # noqa: F401
    from minidl.nn import Linear, LossMSE, Module, ReLU, Sequential, Sigmoid, Tanh  # noqa: F401
    from minidl.optim import SGD  # noqa: F401
