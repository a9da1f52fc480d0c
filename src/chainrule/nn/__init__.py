"""``chainrule.nn``: modules, layers, activations, losses, init and regularization.

>>> import chainrule as cr
>>> from chainrule import nn
>>> model = nn.MLP(2, [100], 3)                  # Linear(2, 100) -> ReLU -> Linear(100, 3)
>>> loss = nn.CrossEntropyLoss()(model(X), y) + nn.l2_penalty(model, 1e-3)
>>> loss.backward()
"""

from chainrule.nn import init
from chainrule.nn.activations import (
    ACTIVATION_ALIASES,
    ACTIVATIONS,
    ELU,
    LeakyReLU,
    MaxoutPool,
    PReLU,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
    activation,
)
from chainrule.nn.conv import Conv2d
from chainrule.nn.convnet import ConvNet, default_conv_spec, parse_conv_spec
from chainrule.nn.layers import Dropout, Dropout2d, Flatten, Identity, Linear, Maxout, Sequential
from chainrule.nn.losses import (
    LOSSES,
    CrossEntropyLoss,
    L2Loss,
    MSELoss,
    MulticlassHingeLoss,
    loss,
)
from chainrule.nn.mlp import MLP, build_model
from chainrule.nn.module import IncompatibleKeys, Module, Parameter, StateDictError
from chainrule.nn.normalization import BatchNorm1d, BatchNorm2d
from chainrule.nn.pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d
from chainrule.nn.regularization import l1_penalty, l2_penalty, regularized_parameters

__all__ = [
    "ACTIVATIONS",
    "ACTIVATION_ALIASES",
    "ELU",
    "LOSSES",
    "MLP",
    "AdaptiveAvgPool2d",
    "AvgPool2d",
    "BatchNorm1d",
    "BatchNorm2d",
    "Conv2d",
    "ConvNet",
    "CrossEntropyLoss",
    "Dropout",
    "Dropout2d",
    "Flatten",
    "Identity",
    "IncompatibleKeys",
    "L2Loss",
    "LeakyReLU",
    "Linear",
    "MSELoss",
    "MaxPool2d",
    "Maxout",
    "MaxoutPool",
    "Module",
    "MulticlassHingeLoss",
    "PReLU",
    "Parameter",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "StateDictError",
    "Tanh",
    "activation",
    "build_model",
    "default_conv_spec",
    "init",
    "l1_penalty",
    "l2_penalty",
    "loss",
    "parse_conv_spec",
    "regularized_parameters",
]
