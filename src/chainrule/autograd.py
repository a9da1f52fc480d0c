"""The engine: Function nodes, their context, and the backward pass.

A computation is recorded as a graph of *nodes*. Each node is the context of one
``Function`` call: it remembers the Function, its input tensors and whatever the
forward pass saved. The backward pass walks the nodes in reverse topological order
and applies the chain rule at each one::

    downstream gradient = local gradient x upstream gradient

Three mechanics live here, once, so that op authors never write them:

* **broadcast reduction**: a gradient for an input that was broadcast is summed back
  to the input's shape (``unbroadcast``);
* **accumulation at branches** (the lecture's "copy gate"): a tensor used twice gets
  the sum of the gradients flowing back along each use;
* **topological order without recursion**, so graphs 100,000 nodes deep work.
"""

from __future__ import annotations

import functools
import sys
import weakref
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from chainrule.errors import ShapeError
from chainrule.tensor import Tensor

__all__ = [
    "Context",
    "Function",
    "enable_grad",
    "grad",
    "is_grad_enabled",
    "no_grad",
    "set_grad_enabled",
    "topological_order",
    "unbroadcast",
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
            raise RuntimeError(
                f"{self.fn.__name__}: trying to backward through the graph a second time; "
                "its saved values were freed after the first backward(). "
                "Pass retain_graph=True to the first backward() to keep them."
            )
        return self.saved

    @property
    def name(self) -> str:
        return self.fn.__name__

    def __repr__(self) -> str:
        return f"<{self.fn.__name__}Backward>"


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
    given) and returns one array. ``backward`` returns one gradient per argument of
    forward (``None`` where there is none, always for non-Tensor arguments). Gradients of
    broadcast inputs may keep the broadcast shape: the engine sums them back.
    Every built-in op of chainrule is such a Function.
    """

    #: Symbol used by the explainer when drawing this node as a gate (e.g. ``"+"``).
    symbol: str | None = None

    #: The compiler's kernel for this op (a kernel class, or ``"module:Name"`` naming one,
    #: resolved on first use); ``None``: a compiled step replays ``forward``/``backward``.
    kernel: Any = None

    @staticmethod
    def forward(ctx: Context, *args: Any) -> np.ndarray:
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Context, upstream: Any) -> Any:
        raise NotImplementedError

    @classmethod
    def apply(cls, *args: Any) -> Tensor:
        """Run forward on the arguments and, if any needs a gradient, record a node."""
        ctx = Context()
        datas = []
        needs = []
        record = False
        for a in args:
            if isinstance(a, Tensor):
                datas.append(a.data)
                rg = a.requires_grad
                needs.append(rg)
                record = record or rg
            else:
                datas.append(a)
                needs.append(False)
        ctx.needs_input_grad = needs
        try:
            out = cls.forward(ctx, *datas)
        except ValueError as e:  # zero cost unless raised: name the op and the shapes
            raise _broadcast_error(cls, datas, e) from None
        if record and _grad_enabled:
            ctx.fn = cls
            ctx.inputs = args
            ctx.out = out
            return Tensor._from_op(out, ctx)
        return Tensor._from_op(out, None)


def _broadcast_error(fn: type, datas: list, error: ValueError) -> ValueError:
    """Turn NumPy's broadcasting ValueError into a ShapeError naming the op and shapes."""
    if "broadcast" not in str(error) or isinstance(error, ShapeError):
        return error
    shapes = [str(np.shape(d)) for d in datas if isinstance(d, (np.ndarray, np.generic))]
    listed = ", ".join(shapes[:-1]) + " and " + shapes[-1] if len(shapes) > 1 else "".join(shapes)
    return ShapeError(f"{fn.__name__.lower()}: operands of shapes {listed} do not broadcast")


def unbroadcast(grad: Any, shape: tuple) -> Any:
    """Sum a gradient back to ``shape`` after NumPy broadcasting expanded it.

    Broadcasting copies a value along new leading axes and along axes of size 1; the
    copy gate's rule (gradients add) says to sum over exactly those axes.
    Works on arrays and, for differentiable backward passes, on Tensors.
    """
    gshape = grad.shape
    if gshape == shape:
        return grad
    ndim = len(shape)
    lead = len(gshape) - ndim
    if lead < 0:
        # A gradient smaller than its input: a broadcasting bug in an op's backward.
        raise ValueError(f"gradient of shape {gshape} cannot be reduced to input shape {shape}")
    axes = tuple(range(lead)) + tuple(
        i + lead for i, n in enumerate(shape) if n == 1 and gshape[i + lead] != 1
    )
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    if lead:
        grad = grad.reshape(shape)
    elif grad.shape != shape:
        raise ValueError(f"gradient of shape {gshape} does not match input shape {shape}")
    return grad


def topological_order(roots: Sequence[Any]) -> list[Context]:
    """The graph nodes behind ``roots``, every node after the nodes of its inputs.

    ``roots`` are Tensors (their ``grad_fn``) or nodes. The order is the depth-first
    post-order, inputs visited left to right: the order a reader evaluates the formula
    in. Iterative, so graphs 100,000 nodes deep work.

    >>> x = cr.tensor(2.0, requires_grad=True)
    >>> [n.name for n in topological_order([(x * x).exp()])]
    ['Mul', 'Exp']
    """
    order: list[Context] = []
    seen: set[int] = set()
    for root in roots:
        node = root.grad_fn if isinstance(root, Tensor) else root
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        stack: list[tuple[Context, int]] = [(node, 0)]
        while stack:
            node, i = stack.pop()
            inputs = node.inputs
            while i < len(inputs):
                t = inputs[i]
                i += 1
                parent = t.grad_fn if isinstance(t, Tensor) else None
                if parent is not None and id(parent) not in seen:
                    seen.add(id(parent))
                    stack.append((node, i))
                    stack.append((parent, 0))
                    break
            else:
                order.append(node)
    return order


def _topological_nodes(roots: Sequence[Context]) -> dict[Context, int]:
    """Count, for every node reachable from ``roots``, how many graph edges lead to it.

    A node may run its backward only when all its consumers have sent their gradient,
    i.e. when this count has dropped to zero (Kahn's algorithm, iterative).
    """
    pending: dict[Context, int] = {}
    stack = []
    for r in roots:
        if r not in pending:
            pending[r] = 0
            stack.append(r)
    while stack:
        node = stack.pop()
        for t in node.inputs:
            if type(t) is not Tensor and not isinstance(t, Tensor):
                continue
            parent = t.grad_fn
            if parent is None:
                continue
            if parent in pending:
                pending[parent] += 1
            else:
                pending[parent] = 1
                stack.append(parent)
    return pending


# How many references a freshly computed gradient array has inside ``_run_backward``
# when nothing else holds it (measured once; used to take the array over without a copy).
_FRESH_REFCOUNT = 0


def _take(grad: np.ndarray) -> np.ndarray:
    """Return ``grad`` itself if nobody else holds it, otherwise a copy.

    A leaf's ``.grad`` is later updated in place (accumulation, optimizers), so it must
    own its memory. Most gradients are fresh arrays (a matmul result): those are kept
    as they are, saving a parameter-sized copy per step.
    """
    if type(grad) is not np.ndarray:  # a NumPy scalar from an op on 0-d arrays
        return np.array(grad)
    if grad.base is None and grad.flags.writeable and sys.getrefcount(grad) <= _FRESH_REFCOUNT:
        return grad
    return grad.copy()


def _measure_fresh_refcount() -> int:
    """Reproduce the call path backward -> _accumulate_leaf -> _take and count references.

    If a fresh array and a shared one cannot be told apart on this interpreter, return 0:
    gradients are then always copied (correct, a little slower).
    """

    def leaf(g: np.ndarray) -> int:
        return take(g)

    def take(g: np.ndarray) -> int:
        return sys.getrefcount(g)

    def run(downstream: tuple) -> int:
        for _t, g in zip((None,), downstream):
            return leaf(g)
        return 0

    fresh = run((np.zeros(1),))
    shared_array = np.zeros(1)
    shared = run((shared_array,))
    return fresh if shared > fresh else 0


_FRESH_REFCOUNT = _measure_fresh_refcount()


def _run_backward(
    roots: Sequence[Tensor],
    upstreams: Sequence[Any],
    retain_graph: bool,
    create_graph: bool,
    inputs: Sequence[Tensor] | None = None,
) -> list | None:
    """The general backward pass: ``cr.grad`` and ``create_graph=True``.

    With ``inputs`` given, gradients for those tensors are returned (``cr.grad``) and no
    ``.grad`` attribute is touched; otherwise leaves accumulate into ``.grad``. The plain
    first-order ``backward()`` takes :func:`_backprop`, the same walk without these branches.
    """
    grads: dict[Context, Any] = {}
    root_nodes = []
    leaf_grads: dict[int, Any] = {}
    wanted: dict[int, int] = {}
    if inputs is not None:
        wanted = {id(t): i for i, t in enumerate(inputs)}
    wanted_nodes = {t.grad_fn: id(t) for t in inputs if t.grad_fn is not None} if inputs else {}

    for root, up in zip(roots, upstreams):
        node = root.grad_fn
        if node is None:
            # The root itself is a leaf: its gradient is the upstream.
            if inputs is None:
                _accumulate_leaf(root, up, create_graph)
            elif id(root) in wanted:
                _add_into(leaf_grads, id(root), up)
            continue
        if node in grads:
            grads[node] = grads[node] + up
        else:
            grads[node] = up
            root_nodes.append(node)

    pending = _topological_nodes(root_nodes)
    ready = [n for n in root_nodes if pending[n] == 0]
    while ready:
        node = ready.pop()
        upstream = grads.pop(node)
        if node in wanted_nodes:
            _add_into(leaf_grads, wanted_nodes[node], upstream)
        if node.out_ref is not None and inputs is None:
            _retain(node, upstream)
        if node.freed:
            raise _freed_error(node)
        if create_graph:
            downstream = _differentiable_backward(node, upstream)
        else:
            downstream = node.fn.backward(node, upstream)
        if type(downstream) is not tuple:
            downstream = (downstream,)
        node_inputs = node.inputs
        if len(downstream) != len(node_inputs):
            raise _count_error(node, downstream)
        for t, g in zip(node_inputs, downstream):
            if g is None or not isinstance(t, Tensor) or not t.requires_grad:
                continue
            if g.shape != t.data.shape:
                g = unbroadcast(g, t.data.shape)
            if not create_graph and g.dtype != t.data.dtype:
                g = g.astype(t.data.dtype)
            parent = t.grad_fn
            if parent is None:
                if inputs is None:
                    _accumulate_leaf(t, g, create_graph)
                elif id(t) in wanted:
                    _add_into(leaf_grads, id(t), g)
                continue
            if parent in grads:
                grads[parent] = grads[parent] + g
            else:
                grads[parent] = g
            left = pending[parent] - 1
            pending[parent] = left
            if left == 0:
                ready.append(parent)
        if not retain_graph:
            node.saved = ()
            node.freed = True
        del downstream, upstream
    if inputs is None:
        return None
    return [leaf_grads.get(id(t)) for t in inputs]


def _backprop(roots: Sequence[Tensor], upstreams: Sequence[Any], retain_graph: bool) -> None:
    """The first-order backward pass into ``.grad``: ``_run_backward``'s hot path.

    Same walk (Kahn's order, accumulation at branches, central unbroadcast), without
    the branches that ``cr.grad`` and ``create_graph`` need.
    """
    grads: dict[Context, Any] = {}
    root_nodes = []
    for root, up in zip(roots, upstreams):
        node = root.grad_fn
        if node is None:  # the root is itself a leaf: its gradient is the upstream
            _accumulate_leaf(root, up, False)
        elif node in grads:
            grads[node] = grads[node] + up
        else:
            grads[node] = up
            root_nodes.append(node)
    pending = _topological_nodes(root_nodes)
    ready = [n for n in root_nodes if pending[n] == 0]
    while ready:
        node = ready.pop()
        upstream = grads.pop(node)
        if node.out_ref is not None:
            _retain(node, upstream)
        if node.freed:
            raise _freed_error(node)
        downstream = node.fn.backward(node, upstream)
        if type(downstream) is not tuple:
            downstream = (downstream,)
        node_inputs = node.inputs
        if len(downstream) != len(node_inputs):
            raise _count_error(node, downstream)
        for t, g in zip(node_inputs, downstream):
            if g is None or not (type(t) is Tensor or isinstance(t, Tensor)) or not t.requires_grad:
                continue
            data = t.data
            if g.shape != data.shape:
                g = unbroadcast(g, data.shape)
            if g.dtype != data.dtype:
                g = g.astype(data.dtype)
            parent = t.grad_fn
            if parent is None:
                _accumulate_leaf(t, g, False)
                continue
            if parent in grads:
                grads[parent] = grads[parent] + g
            else:
                grads[parent] = g
            left = pending[parent] - 1
            pending[parent] = left
            if left == 0:
                ready.append(parent)
        if not retain_graph:
            node.saved = ()
            node.freed = True
        del downstream, upstream


def _retain(node: Context, upstream: Any) -> None:
    """``retain_grad()``: keep (and accumulate) an intermediate tensor's gradient."""
    out = node.out_ref()
    if out is not None:
        g = upstream.data if isinstance(upstream, Tensor) else upstream
        out.grad = np.array(g) if out.grad is None else out.grad + g


def _freed_error(node: Context) -> RuntimeError:
    return RuntimeError(
        f"{node.fn.__name__}: trying to backward through the graph a second time; "
        "its saved values were freed after the first backward(). "
        "Pass retain_graph=True to the first backward() to keep them."
    )


def _count_error(node: Context, downstream: tuple) -> RuntimeError:
    return RuntimeError(
        f"{node.fn.__name__}.backward returned {len(downstream)} gradients "
        f"for {len(node.inputs)} inputs"
    )


def _add_into(store: dict, key: int, g: Any) -> None:
    store[key] = store[key] + g if key in store else g


def _accumulate_leaf(t: Tensor, g: Any, create_graph: bool) -> None:
    if isinstance(g, Tensor):
        g = g.data
    if t.grad is None:
        t.grad = _take(g)
    elif create_graph:
        t.grad = t.grad + g
    else:
        np.add(t.grad, g, out=t.grad)


def _differentiable_backward(node: Context, upstream: Any) -> Any:
    """Run a node's backward on Tensors so the gradient is itself part of a graph."""
    if not isinstance(upstream, Tensor):
        upstream = Tensor(upstream, dtype=upstream.dtype)
    if not getattr(node.fn, "differentiable_backward", False):
        raise RuntimeError(
            f"{node.fn.__name__} does not support create_graph=True (its backward is written "
            "on raw arrays only); second derivatives through it are not available"
        )
    # Saved arrays that are an input's data or the output become those Tensors, so the
    # backward's arithmetic is recorded; any other saved array is a constant.
    by_id = {id(t.data): t for t in node.inputs if isinstance(t, Tensor)}
    out_data = node.out
    saved = []
    for a in node.saved:
        if isinstance(a, np.ndarray) and id(a) in by_id:
            saved.append(by_id[id(a)])
        elif out_data is not None and a is out_data:
            saved.append(Tensor._from_op(a, node))
        else:
            saved.append(a)
    keep = node.saved
    node.saved = tuple(saved)
    node.create_graph = True
    try:
        with set_grad_enabled(True):
            result = node.fn.backward(node, upstream)
    finally:
        node.saved = keep
        node.create_graph = False
    return result


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    upstream: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> list[Tensor | None]:
    """Gradients of ``outputs`` with respect to ``inputs``, returned as Tensors.

    Unlike ``backward()`` this leaves every ``.grad`` untouched. With
    ``create_graph=True`` the returned gradients are part of a graph themselves, so they
    can be differentiated again (second derivatives, Hessian-vector products).

    >>> x = cr.tensor([3.0], requires_grad=True)
    >>> (g,) = cr.grad((x ** 3).sum(), x, create_graph=True)
    >>> cr.grad(g.sum(), x)[0]   # d2/dx2 x^3 = 6x = 18
    """
    outs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    ins = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    for t in ins:
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise ValueError("grad: every input must be a Tensor with requires_grad=True")
    ups = _upstreams(outs, upstream, "grad")
    if retain_graph is None:
        retain_graph = create_graph
    result = _run_backward(outs, ups, retain_graph, create_graph, inputs=ins)
    assert result is not None
    out: list[Tensor | None] = []
    for t, g in zip(ins, result):
        if g is None:
            if not allow_unused:
                raise RuntimeError(
                    "grad: one of the inputs was not used to compute the outputs; "
                    "pass allow_unused=True to get None for it"
                )
            out.append(None)
        elif isinstance(g, Tensor):
            out.append(g)
        else:
            out.append(Tensor._from_op(np.asarray(g, dtype=t.dtype), None))
    return out


def _upstreams(outs: list[Tensor], upstream: Any, where: str) -> list[Any]:
    if upstream is None:
        ups = []
        for o in outs:
            if o.data.size != 1:
                raise RuntimeError(
                    f"{where}: the output has shape {o.shape}, not a scalar, so the upstream "
                    f"gradient is ambiguous: pass upstream=<array of shape {o.shape}> "
                    "(dLoss/dOutput), e.g. cr.ones_like(output) to sum the outputs"
                )
            ups.append(np.ones_like(o.data))
        return ups
    seq = upstream if isinstance(upstream, (list, tuple)) and len(outs) > 1 else [upstream]
    ups = []
    for o, u in zip(outs, seq):
        if isinstance(u, Tensor):
            u = u.data
        u = np.asarray(u, dtype=o.data.dtype)
        if u.shape != o.shape:
            # Only a single number may change its shape (a () upstream for a (1,) output);
            # reshaping anything else could pair gradients with the wrong elements.
            if u.size == 1 and o.data.size == 1:
                u = u.reshape(o.shape)
            else:
                raise ShapeError(
                    f"{where}: upstream gradient of shape {u.shape} does not match "
                    f"the output's shape {o.shape}"
                )
        ups.append(u)
    return ups


def backward(
    tensor: Tensor, upstream: Any = None, retain_graph: bool = False, create_graph: bool = False
) -> None:
    """Backpropagate from ``tensor``: add ``d tensor / d leaf`` into every leaf's ``.grad``."""
    if not tensor.requires_grad:
        raise RuntimeError(
            "backward: this tensor does not require grad and has no grad_fn "
            "(create the inputs with requires_grad=True, outside cr.no_grad())"
        )
    if upstream is None and tensor.data.size == 1:  # the usual loss.backward()
        ups = [np.ones_like(tensor.data)]
    else:
        ups = _upstreams([tensor], upstream, "backward")
    if create_graph:
        _run_backward([tensor], ups, True, True)
    else:
        _backprop([tensor], ups, retain_graph)


def retain_grad_ref(t: Tensor) -> None:
    if t.grad_fn is not None:
        t.grad_fn.out_ref = weakref.ref(t)
