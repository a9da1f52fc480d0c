"""chainrule: neural networks and backpropagation as the lecture teaches them.

>>> import chainrule as cr
>>> x, y, z = (cr.tensor(v, requires_grad=True) for v in (-2.0, 5.0, -4.0))
>>> f = (x + y) * z        # the lecture's first example: f = -12
>>> f.backward()
>>> x.grad, y.grad, z.grad
(array(-4., dtype=float32), array(-4., dtype=float32), array(3., dtype=float32))
"""

from chainrule import backend, cuda, functional, ops
from chainrule._tensor import Tensor
from chainrule.autograd import (
    Context,
    Function,
    enable_grad,
    grad,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)
from chainrule.compiler import CompiledStep, CompileError, compile
from chainrule.creation import (
    arange,
    eye,
    full,
    full_like,
    linspace,
    ones,
    ones_like,
    rand,
    rand_like,
    randn,
    randn_like,
    tensor,
    zeros,
    zeros_like,
)
from chainrule.denormals import set_flush_denormal
from chainrule.devices import Device
from chainrule.dtypes import get_default_dtype, set_default_dtype
from chainrule.errors import (
    ChainruleError,
    ConfigError,
    DataError,
    DeviceError,
    DivergenceError,
    ShapeError,
)
from chainrule.gradient_check import (
    GradcheckError,
    gradcheck,
    jacobian,
    numerical_gradient,
    rel_error,
)
from chainrule.ops import (
    abs,
    argmax,
    argmin,
    broadcast_to,
    cat,
    clamp,
    clip,
    concatenate,
    cos,
    exp,
    expand,
    flatten,
    gather,
    linear,
    log,
    logsumexp,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    mm,
    permute,
    pow,
    reshape,
    sin,
    sort,
    sqrt,
    squeeze,
    stack,
    std,
    sum,
    topk,
    transpose,
    unsqueeze,
    var,
    where,
)
from chainrule.ops.activation import relu, sigmoid, softmax, tanh
from chainrule.random import get_rng, manual_seed

__version__ = "0.1.0"

# Sub-packages load on first use (``cr.nn``, ``cr.optim``, ...), keeping ``import chainrule`` fast.
_SUBPACKAGES = ("nn", "optim", "data", "features", "train", "explain", "playground",
                "distributed", "onnx", "sklearn")


def __getattr__(name: str) -> object:
    if name in _SUBPACKAGES:
        import importlib

        return importlib.import_module(f"chainrule.{name}")
    raise AttributeError(f"module 'chainrule' has no attribute {name!r}")


def _graph(self: Tensor, upstream: object = None, names: object = None,
           title: str | None = None) -> object:
    """The graph that computed this tensor, with every value and gradient: a trace.

    In a notebook it shows inline, the backward pass step by step (``_repr_html_``;
    ``_repr_svg_`` is the drawing alone). Nothing is done, and the explainer is not even
    imported, until it is asked for; call it before ``backward()`` frees the graph. See
    :func:`chainrule.explain.trace`.

    >>> f = (x + y) * z                 # doctest: +SKIP
    >>> f.graph()                       # doctest: +SKIP
    """
    return __getattr__("explain").trace(self, upstream=upstream, names=names, title=title)


# The engine never imports the explainer (a face above it): the package wires it in, and
# loads it on first use like the other sub-packages.
Tensor.graph = _graph

# Dtype names as PyTorch code writes them (``cr.float``, ``cr.long``): NumPy's names, so any
# ``dtype=`` takes them (:mod:`chainrule.dtypes`). Not in ``__all__``: a star import must not
# replace the builtins float and bool.
float32 = "float32"
float64 = "float64"
float = "float32"
double = "float64"
half = float16 = "float16"
long = int64 = "int64"
int32 = "int32"
uint8 = "uint8"
bool = "bool"

__all__ = [
    "ChainruleError",
    "CompileError",
    "CompiledStep",
    "ConfigError",
    "Context",
    "DataError",
    "Device",
    "DeviceError",
    "DivergenceError",
    "Function",
    "GradcheckError",
    "ShapeError",
    "Tensor",
    "__version__",
    "abs",
    "arange",
    "argmax",
    "argmin",
    "backend",
    "broadcast_to",
    "cat",
    "clamp",
    "clip",
    "compile",
    "concatenate",
    "cos",
    "cuda",
    "enable_grad",
    "exp",
    "expand",
    "eye",
    "flatten",
    "float32",
    "float64",
    "full",
    "full_like",
    "functional",
    "gather",
    "get_default_dtype",
    "get_rng",
    "grad",
    "gradcheck",
    "is_grad_enabled",
    "jacobian",
    "linear",
    "linspace",
    "log",
    "logsumexp",
    "manual_seed",
    "matmul",
    "max",
    "maximum",
    "mean",
    "min",
    "minimum",
    "mm",
    "no_grad",
    "numerical_gradient",
    "ones",
    "ones_like",
    "ops",
    "permute",
    "pow",
    "rand",
    "rand_like",
    "randn",
    "randn_like",
    "rel_error",
    "relu",
    "reshape",
    "set_default_dtype",
    "set_flush_denormal",
    "set_grad_enabled",
    "sigmoid",
    "sin",
    "softmax",
    "sort",
    "sqrt",
    "squeeze",
    "stack",
    "std",
    "sum",
    "tanh",
    "tensor",
    "topk",
    "transpose",
    "unsqueeze",
    "var",
    "where",
    "zeros",
    "zeros_like"
]
