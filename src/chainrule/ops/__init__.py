"""The gates of the computational graph, one ``Function`` each.

Grouped as the lecture groups them: arithmetic, elementwise, reductions, linear
algebra, shape, selection (gather, sort, topk), activations, losses and weight
penalties; then the layers of a ConvNet: convolution, pooling and batch
normalization (dropout: ``chainrule.ops.dropout``).
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
from chainrule.ops.arithmetic import add, div, mul, neg, pow, sub
from chainrule.ops.conv import conv2d
from chainrule.ops.elementwise import (
    abs,
    cast,
    clamp,
    clip,
    cos,
    exp,
    log,
    maximum,
    minimum,
    sin,
    sqrt,
    where,
)
from chainrule.ops.linalg import linear, matmul, mm
from chainrule.ops.loss import cross_entropy, l2_loss, mse_loss, multiclass_hinge_loss
from chainrule.ops.normalization import batch_norm
from chainrule.ops.penalty import l1_penalty, l2_penalty
from chainrule.ops.pooling import adaptive_avg_pool2d, avg_pool2d, max_pool2d
from chainrule.ops.reduce import logsumexp, max, mean, min, std, sum, var
from chainrule.ops.selection import ValuesIndices, argmax, argmin, gather, sort, topk
from chainrule.ops.shape import (
    broadcast_to,
    cat,
    concatenate,
    expand,
    flatten,
    getitem,
    permute,
    reshape,
    squeeze,
    stack,
    transpose,
    unsqueeze,
)

__all__ = [
    "ValuesIndices", "abs", "adaptive_avg_pool2d", "add", "argmax", "argmin", "avg_pool2d",
    "batch_norm", "broadcast_to", "cast", "cat", "clamp", "clip", "concatenate", "conv2d",
    "cos", "cross_entropy", "div", "elu", "exp", "expand", "flatten", "gather", "getitem",
    "l1_penalty", "l2_loss", "l2_penalty", "leaky_relu", "linear", "log", "log_softmax",
    "logsumexp", "matmul", "max", "max_pool2d", "maximum", "maxout", "mean", "min", "minimum",
    "mm", "mse_loss", "mul", "multiclass_hinge_loss", "neg", "permute", "pow", "prelu", "relu",
    "reshape", "sigmoid", "sin", "softmax", "sort", "sqrt", "squeeze", "stack", "std", "sub",
    "sum", "tanh", "topk", "transpose", "unsqueeze", "var", "where",
]
