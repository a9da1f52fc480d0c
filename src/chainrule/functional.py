"""``chainrule.functional`` (import as ``F``): activations and losses as functions.

>>> import chainrule.functional as F
>>> F.relu(cr.tensor([1.0, -2.0, 3.0, -1.0]))
tensor([1., 0., 3., 0.])
"""

from chainrule.ops.activation import (
    elu,
    leaky_relu,
    log_softmax,
    maxout,
    prelu,
    relu,
    sigmoid,
    softmax,
    tanh,
)
from chainrule.ops.dropout import dropout
from chainrule.ops.linalg import linear
from chainrule.ops.loss import cross_entropy, l2_loss, mse_loss, multiclass_hinge_loss

__all__ = [
    "cross_entropy",
    "dropout",
    "elu",
    "l2_loss",
    "leaky_relu",
    "linear",
    "log_softmax",
    "maxout",
    "mse_loss",
    "multiclass_hinge_loss",
    "prelu",
    "relu",
    "sigmoid",
    "softmax",
    "tanh",
]
