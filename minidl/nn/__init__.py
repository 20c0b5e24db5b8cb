"""minidl's modules: layers with hand-written backward passes, and the losses."""

from minidl.nn.activation import GELU, Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from minidl.nn.batch_norm import BatchNorm
from minidl.nn.container import Sequential, stack
from minidl.nn.conv import Conv2d
from minidl.nn.dropout import Dropout
from minidl.nn.flat import FlatParameters, Parameters, flatten_parameters
from minidl.nn.graph import Branches, Concat, Sum
from minidl.nn.layer_norm import LayerNorm
from minidl.nn.linear import Linear
from minidl.nn.loss import Loss, LossBCE, LossCrossEntropy, LossHuber, LossL1, LossMSE, Reduction
from minidl.nn.module import Module, Parameter, StateDictError
from minidl.nn.pool import AvgPool2d, Flatten, MaxPool2d

__all__ = [
    "GELU",
    "AvgPool2d",
    "BatchNorm",
    "Branches",
    "Concat",
    "Conv2d",
    "Dropout",
    "FlatParameters",
    "Flatten",
    "Identity",
    "LayerNorm",
    "LeakyReLU",
    "Linear",
    "Loss",
    "LossBCE",
    "LossCrossEntropy",
    "LossHuber",
    "LossL1",
    "LossMSE",
    "MaxPool2d",
    "Module",
    "Parameter",
    "Parameters",
    "ReLU",
    "Reduction",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "StateDictError",
    "Sum",
    "Tanh",
    "flatten_parameters",
    "stack",
]
