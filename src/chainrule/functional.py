"""``chainrule.functional`` (import as ``F``): activations, losses and the layers' ops
(linear, convolution, pooling, batch norm, dropout) as functions.

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
from chainrule.ops.conv import conv2d
from chainrule.ops.dropout import dropout, dropout2d
from chainrule.ops.linalg import linear
from chainrule.ops.loss import cross_entropy, l2_loss, mse_loss, multiclass_hinge_loss
from chainrule.ops.normalization import batch_norm
from chainrule.ops.pooling import adaptive_avg_pool2d, avg_pool2d, max_pool2d

__all__ = [
    "adaptive_avg_pool2d",
    "avg_pool2d",
    "batch_norm",
    "conv2d",
    "cross_entropy",
    "dropout",
    "dropout2d",
    "elu",
    "l2_loss",
    "leaky_relu",
    "linear",
    "log_softmax",
    "max_pool2d",
    "maxout",
    "mse_loss",
    "multiclass_hinge_loss",
    "prelu",
    "relu",
    "sigmoid",
    "softmax",
    "tanh",
]
