"""minidl's modules: layers with hand-written backward passes, and the loss."""

from minidl.nn.activation import ReLU, Sigmoid, Tanh
from minidl.nn.container import Sequential, stack
from minidl.nn.flat import flat_view, flatten_parameters
from minidl.nn.linear import Linear
from minidl.nn.loss import LossMSE
from minidl.nn.module import Module, Parameter

__all__ = [
    "Linear",
    "LossMSE",
    "Module",
    "Parameter",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Tanh",
    "flat_view",
    "flatten_parameters",
    "stack",
]
