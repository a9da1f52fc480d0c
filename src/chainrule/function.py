"""Function and Context: how an op is recorded as a graph node, and what it says about itself.

A ``Function`` subclass is one kind of gate: ``forward`` computes the output from raw
arrays, ``backward`` turns the upstream gradient into one gradient per input. Calling
``Fn.apply(...)`` runs forward and, while recording is on (see :class:`no_grad`),
records a :class:`Context` node that the backward pass (:mod:`chainrule.autograd`)
walks later.

Besides the two methods, a Function describes itself with a few class attributes and
classmethods (symbol, pattern, operands...), so the explainer and the compiler need
no table of op names: a user's Function is a first-class op everywhere.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from chainrule import backend
from chainrule.errors import DeviceError, GraphFreedError, ShapeError

__all__ = [
    "Context",
    "Function",
    "as_gradient_tuple",
    "enable_grad",
    "is_grad_enabled",
    "no_grad",
    "restoring_state",
    "set_grad_enabled",
    "updates_state",
]

_grad_enabled = True


def is_grad_enabled() -> bool:
    """Whether new operations are being recorded into a graph."""
    return _grad_enabled


class set_grad_enabled:
    """Context manager (and decorator) that turns graph recording on or off."""

    __slots__ = ("mode", "prev")

    def __init__(self, mode: bool) -> None:
        self.mode = bool(mode)
        self.prev = True

    def __enter__(self) -> None:
        global _grad_enabled
        self.prev = _grad_enabled
        _grad_enabled = self.mode

    def __exit__(self, *exc: object) -> None:
        global _grad_enabled
        _grad_enabled = self.prev

    def __call__(self, fn: Callable) -> Callable:
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)

        return wrapper


class no_grad(set_grad_enabled):
    """``with cr.no_grad():`` (or ``@cr.no_grad()``) records no graph: inference, updates."""

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__(False)


class enable_grad(set_grad_enabled):
    """Turn recording back on inside a ``no_grad`` block."""

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__(True)


#: While a :class:`restoring_state` block runs: ``(array, its value before)`` per array an
#: op announced with :func:`updates_state`; otherwise None.
_state_log: list[tuple[Any, Any]] | None = None


def updates_state(*arrays: Any) -> None:
    """Announce that the running op's ``forward`` is about to change ``arrays`` in place.

    Ops whose forward updates state (batch norm's running statistics) call this before
    writing, so that a tracer (``cr.compile``, which runs a step's forward to record it)
    can put the arrays back with :class:`restoring_state`: recording a step must not count
    as taking it. Outside such a block it costs one global lookup.
    """
    if _state_log is not None:
        _state_log.extend((a, a.copy()) for a in arrays)


class restoring_state:
    """Context manager: arrays that ops change in place inside it (:func:`updates_state`)
    get their old values back on exit.

    >>> with restoring_state():
    ...     model(x)                  # batch norm's running statistics move ...
    >>> # ... and are back where they were
    """

    __slots__ = ("prev",)

    def __enter__(self) -> None:
        global _state_log
        self.prev = _state_log
        _state_log = []

    def __exit__(self, *exc: object) -> None:
        global _state_log
        log, _state_log = _state_log, self.prev
        for array, before in reversed(log or []):
            array[...] = before


class Context:
    """One node of the graph: what a Function call needs to run its backward pass.

    ``forward(ctx, ...)`` stores arrays with ``ctx.save_for_backward(...)`` and any other
    value as an attribute (``ctx.axis = 1``); ``backward(ctx, upstream)`` reads them back.
    ``ctx.needs_input_grad`` tells, per input, whether a gradient is wanted, so backward
    can skip work. ``ctx.create_graph`` is True while a differentiable backward runs
    (``cr.grad(..., create_graph=True)``): then upstream and saved values are Tensors.
    """

    __slots__ = (
        "__dict__",
        "create_graph",
        "fn",
        "freed",
        "inputs",
        "needs_input_grad",
        "out",
        "out_ref",
        "saved",
    )

    def __init__(self) -> None:
        self.saved: tuple = ()
        self.create_graph = False
        self.freed = False
        self.out_ref = None

    def save_for_backward(self, *arrays: Any) -> None:
        """Keep what backward needs (raw arrays, usually inputs or the output)."""
        self.saved = arrays

    @property
    def saved_tensors(self) -> tuple:
        if self.freed:
            raise freed_error(self)
        return self.saved

    @property
    def name(self) -> str:
        return self.fn.__name__

    def __repr__(self) -> str:
        return f"<{self.fn.__name__}Backward>"


def freed_error(node: Context) -> GraphFreedError:
    """The error for a node whose saved values a backward pass has already freed."""
    return GraphFreedError(
        f"{node.fn.__name__}: trying to backward through the graph a second time; its saved "
        "values were freed by backward() the first time. "
        "Pass retain_graph=True to the first backward() to keep them."
    )


def as_gradient_tuple(result: Any) -> tuple:
    """What ``backward`` returned as one gradient per input.

    A tuple is taken as it is, a list (the lecture's gates return lists) as a tuple, and
    anything else as the only gradient of a one-input op.
    """
    if type(result) is tuple:
        return result
    return tuple(result) if isinstance(result, list) else (result,)


class Function:
    """A node type of the graph: ``forward`` on raw arrays, ``backward`` from upstream.

    Subclass it and define two static methods, exactly as in PyTorch::

        class Mul(cr.Function):
            @staticmethod
            def forward(ctx, x, y):
                ctx.save_for_backward(x, y)
                return x * y
            @staticmethod
            def backward(ctx, upstream):
                x, y = ctx.saved_tensors
                return upstream * y, upstream * x   # one gradient per input

        z = Mul.apply(a, b)

    ``forward`` receives the ``.data`` arrays of Tensor arguments (other arguments as
    given) and returns one array, computed with the arrays' own namespace
    (``xp = chainrule.backend.namespace(x)``), so the op runs on every device; Tensor
    arguments on different devices are refused before forward runs. ``backward``
    returns one gradient per argument of forward, as a tuple or a list (``None`` where
    there is none, always for non-Tensor arguments), or the gradient itself when forward
    has one argument. Gradients of broadcast inputs may keep the broadcast shape: the
    engine sums them back.
    Every built-in op of chainrule is such a Function.

    **What an op says about itself.** The class attributes and classmethods below are
    optional; their defaults fit any op. The explainer (``chainrule.explain``) reads them
    to draw and step through a graph, the engine and the compiler read the last three.
    A Function that sets them is explained exactly like the built-in op it mirrors::

        class Times(cr.Function):
            symbol = "*"                  # the gate reads "*" (default: the class name)
            infix = True                  # written "x * y", not "*(x, y)"
            elementwise = True            # backward(ones) gives the local derivative
            operands = ("x", "y")         # a number given for y is part of the formula
            pattern = "mul gate: swap multiplier"
            ...                           # forward and backward as above

    (The built-in Mul also overrides :meth:`gate_label`, to draw ``x * 2`` as a ``*2``
    gate.)

    Attributes: ``symbol``, ``infix``, ``elementwise``, ``operands``, ``parameters``,
    ``pattern``, ``differentiable_backward``, ``fresh_gradients``, ``kernel`` (each
    documented where it is defined). Classmethods, to override where the default text
    does not fit: :meth:`gate_label`, :meth:`formula`, :meth:`local_rule`.

    How arguments are drawn: a Tensor argument is an input wire, wherever it stands; a
    number or array at a position named in ``operands`` is a constant of the formula (a
    scalar is folded into the gate's label, an array becomes a constant node); any other
    argument is a parameter, named by ``parameters`` (the positions after the operands)
    or ``arg<position>``.
    """

    #: The text of this op's gate when drawn (e.g. ``"+"``); ``None``: the class name.
    symbol: str | None = None

    #: Written between its two operands with its symbol (``x + y``), not as ``f(x, y)``.
    infix: bool = False

    #: Each output element depends only on the same element of each operand (broadcasting
    #: aside), so backward with an upstream of ones gives every local derivative.
    elementwise: bool = False

    #: Names of forward's leading arguments that are values of the formula (``("x", "y")``).
    operands: tuple[str, ...] = ()

    #: Names of forward's arguments after the operands that configure the op
    #: (``("axis", "keepdims")``).
    parameters: tuple[str, ...] = ()

    #: The lecture's name for how this gate routes the gradient
    #: (``"add gate: gradient distributor"``); ``None`` if it names none.
    pattern: str | None = None

    #: ``backward`` also works on Tensors (with ``ctx.create_graph`` True), so gradients
    #: through this op can be differentiated again (``create_graph=True``).
    differentiable_backward: bool = False

    #: Every array ``backward`` returns, other than ``upstream`` itself and views, is
    #: newly made by that call and returned once. The engine then keeps it as a leaf's
    #: ``.grad`` without copying; by default it copies (an array backward also keeps
    #: somewhere, say a saved one, would otherwise be changed by later accumulation).
    fresh_gradients: bool = False

    #: The compiler's kernel for this op (a kernel class, or ``"module:Name"`` naming one,
    #: resolved on first use); ``None``: a compiled step replays ``forward``/``backward``.
    kernel: Any = None

    @staticmethod
    def forward(ctx: Context, *args: Any) -> Any:
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Context, upstream: Any) -> Any:
        raise NotImplementedError

    @classmethod
    def gate_label(cls, constants: Mapping[int, float]) -> str:
        """The text in this op's gate. ``constants``: operand position -> number given there.

        The built-in ops fold a single constant into the label (``x + 1`` draws ``+1``,
        ``1 / x`` draws ``1/x``); by default the label is the symbol.
        """
        return cls.symbol or cls.__name__

    @classmethod
    def formula(cls, args: Sequence[str]) -> str:
        """How this op applied to ``args`` (names or numbers, in order) is written.

        ``symbol(x, y)`` by default; ``x + y`` for an infix op.

        >>> cr.ops.arithmetic.Add.formula(["x", "2"])
        'x + 2'
        """
        if cls.infix and len(args) == 2:
            return f"{args[0]} {cls.symbol} {args[1]}"
        return f"{cls.symbol or cls.__name__}({', '.join(args)})"

    @classmethod
    def local_rule(cls, k: int, inputs: Sequence[Any], output: Any) -> str:
        """The local gradient d(output)/d(input ``k``) in words, where it is not a number.

        ``inputs`` and ``output`` are the gate's values as the explainer holds them (each
        with ``.name``, ``.value`` and ``.shape``). Elementwise ops are shown with the
        numbers backward gives; this text is used where those do not fit (broadcasting,
        matrices), e.g. MatMul's ``"upstream @ W^T"``.
        """
        if cls.elementwise:
            return "elementwise, summed over the broadcast axes"
        return f"{cls.__name__}.backward(ctx, upstream)"

    @classmethod
    def apply(cls, *args: Any) -> Tensor:
        """Run forward on the arguments and, if any needs a gradient, record a node."""
        ctx = Context()
        datas = []
        needs = []
        record = False
        kind = None  # the array type of the Tensor arguments: one library per op
        for a in args:
            if isinstance(a, Tensor):
                data = a.data
                datas.append(data)
                rg = a.requires_grad
                needs.append(rg)
                record = record or rg
                if kind is not type(data):  # another array type: another device?
                    if kind is not None and len(_devices(args)) > 1:
                        raise _device_error(cls, args)
                    kind = type(data)
            else:
                datas.append(a)
                needs.append(False)
        ctx.needs_input_grad = needs
        try:
            out = cls.forward(ctx, *datas)
        except ValueError as e:  # zero cost unless raised: name the op, shapes or devices
            raise _forward_error(cls, args, datas, e) from None
        if record and _grad_enabled:
            ctx.fn = cls
            ctx.inputs = args
            ctx.out = out
            return Tensor._from_op(out, ctx)
        return Tensor._from_op(out, None)


def _devices(args: tuple) -> list[str]:
    """The devices of the Tensor arguments, each once, in order."""
    return list(dict.fromkeys(str(backend.device_of(a.data)) for a in args
                              if isinstance(a, Tensor)))


def _device_error(fn: type, args: tuple) -> DeviceError:
    """The error for Tensor arguments on different devices, naming the op and the devices.

    Arrays of different libraries (a NumPy and a CuPy array) are on different devices
    however they are compared; two CuPy arrays may be on different GPUs.
    """
    devices = _devices(args)
    listed = " and ".join(devices) if len(devices) > 1 else f"{devices[0]} (two libraries)"
    return DeviceError(
        f"{fn.__name__.lower()}: operands are on different devices, {listed}; move them to "
        "one device first (t.to(device))"
    )


def _forward_error(fn: type, args: tuple, datas: list, error: ValueError) -> Exception:
    """A forward's ValueError as the error users should see: a DeviceError naming the op
    and both devices, a ShapeError naming the op and the shapes, or the error itself."""
    if len(_devices(args)) > 1:  # e.g. two GPUs: the library's own error, named
        return _device_error(fn, args)
    if "broadcast" not in str(error) or isinstance(error, ShapeError):
        return error
    shapes = [str(tuple(d.shape)) for d in datas if backend.is_array(d) or hasattr(d, "dtype")]
    listed = ", ".join(shapes[:-1]) + " and " + shapes[-1] if len(shapes) > 1 else "".join(shapes)
    return ShapeError(f"{fn.__name__.lower()}: operands of shapes {listed} do not broadcast")


# At the end: tensor.py needs the engine, which needs this module's classes first.
from chainrule._tensor import Tensor  # noqa: E402
