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

There is one walk, :func:`backward_pass`. ``Tensor.backward``, :func:`grad` and the
explainer's step-by-step capture are thin users of it.
"""

from __future__ import annotations

import reprlib
import weakref
from collections.abc import Callable, Sequence
from typing import Any

from chainrule import backend
from chainrule._tensor import Tensor
from chainrule.errors import ShapeError
from chainrule.function import (
    Context,
    Function,
    as_gradient_tuple,
    enable_grad,
    freed_error,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)

__all__ = [
    "Context",
    "Function",
    "Observer",
    "as_gradient_tuple",
    "backward_pass",
    "enable_grad",
    "grad",
    "is_grad_enabled",
    "no_grad",
    "set_grad_enabled",
    "topological_order",
    "unbroadcast",
]

#: ``observer(node, upstream, downstream, sent)``, called by :func:`backward_pass` after
#: each node's backward: ``downstream`` is what backward returned (one entry per input),
#: ``sent`` what the engine passed on to each input (summed to its shape, cast to its
#: dtype; ``None`` where the input received nothing).
Observer = Callable[[Context, Any, tuple, list], None]


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
        grad = backend.sum(grad, axis=axes, keepdims=True)
    if lead:
        grad = backend.reshape(grad, shape)
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
    seen: set[Context] = set()
    for root in roots:
        node = root.grad_fn if isinstance(root, Tensor) else root
        if node is None or node in seen:
            continue
        seen.add(node)
        stack = [(node, iter(node.inputs))]
        while stack:
            node, inputs = stack[-1]
            for t in inputs:
                if type(t) is Tensor or isinstance(t, Tensor):
                    parent = t.grad_fn
                    if parent is not None and parent not in seen:
                        seen.add(parent)
                        stack.append((parent, iter(parent.inputs)))
                        break
            else:
                stack.pop()
                order.append(node)
    return order


def backward_pass(
    roots: Sequence[Tensor],
    upstreams: Sequence[Any],
    retain_graph: bool = False,
    create_graph: bool = False,
    collect: bool = False,
    observer: Observer | None = None,
) -> dict[int, Any] | None:
    """The backward walk: each node behind ``roots`` once, after all its consumers.

    At a node, ``upstream`` is the sum of what its consumers sent (the copy gate);
    its backward gives one gradient per input (``downstream = local x upstream``); each
    is summed back to its input's shape (:func:`unbroadcast`), cast to its dtype, and
    added to what that input has received so far. What differs between the users of
    the walk is chosen once, before it starts:

    * ``create_graph``: backward runs on Tensors, so the gradients are themselves a
      graph (second derivatives); otherwise on arrays;
    * ``collect``: leaf gradients are returned as ``{id(leaf): gradient}`` and no
      ``.grad`` is touched; otherwise they are added into ``.grad`` (as are those of
      tensors that called ``retain_grad()``), and None is returned;
    * ``observer``: see :data:`Observer` (the explainer records its steps with it).

    Unless ``retain_graph``, each node's saved values are freed once it has run.

    >>> x = cr.tensor(3.0, requires_grad=True)
    >>> float(backward_pass([x * x], [np.ones((), np.float32)], collect=True)[id(x)])
    6.0
    """
    run = _differentiable_backward if create_graph else _plain_backward
    collected = _LeafGradients() if collect else None
    if collected is not None:
        to_leaf = collected.add
    else:
        to_leaf = _accumulate_tensor_grad if create_graph else _accumulate_grad
    retain_grads = not collect
    grads: dict[Context, Any] = {}
    for root, up in zip(roots, upstreams):
        node = root.grad_fn
        if node is None:  # the root is itself a leaf: its gradient is the upstream
            to_leaf(root, up, False)
        elif node in grads:
            grads[node] = grads[node] + up
        else:
            grads[node] = up
    sent = None
    for node in reversed(topological_order(list(grads))):
        upstream = grads.pop(node, None)
        if upstream is None:  # no gradient reaches this node
            continue
        if node.out_ref is not None and retain_grads:
            _retain(node, upstream, to_leaf)
        if node.freed:
            raise freed_error(node)
        downstream = run(node, upstream)
        if type(downstream) is not tuple:  # as_gradient_tuple, inline on this hot path
            downstream = tuple(downstream) if isinstance(downstream, list) else (downstream,)
        inputs = node.inputs
        if len(downstream) != len(inputs):
            raise _count_error(node, downstream)
        if observer is not None:
            sent = []
        for t, raw in zip(inputs, downstream):
            if (raw is None or not (type(t) is Tensor or isinstance(t, Tensor))
                    or not t.requires_grad):
                if sent is not None:
                    sent.append(None)
                continue
            data = t.data
            try:  # free unless backward returned something that is not a gradient
                g = raw if raw.shape == data.shape else _to_input_shape(raw, upstream, data)
                # A Tensor's dtype (create_graph) is NumPy's name for it, an array's its own.
                if g.dtype != (t.dtype if create_graph else data.dtype):
                    g = backend.astype(g, data.dtype)
            except (AttributeError, TypeError, ValueError) as e:
                raise _gradient_error(node, downstream, raw, upstream, e) from None
            parent = t.grad_fn
            if parent is None:
                # The engine owns what it just made; backward's own results only if the
                # op declares them fresh (then never ``upstream`` itself).
                to_leaf(t, g, g is not raw or (raw is not upstream and node.fn.fresh_gradients))
            elif parent in grads:
                grads[parent] = grads[parent] + g
            else:
                grads[parent] = g
            if sent is not None:
                sent.append(g)
        if observer is not None:
            observer(node, upstream, downstream, sent)
        if not retain_graph:
            node.saved = ()
            node.freed = True
        del downstream, upstream  # drop the gradients before the next node's backward
    return collected


def _plain_backward(node: Context, upstream: Any) -> Any:
    return node.fn.backward(node, upstream)


def _differentiable_backward(node: Context, upstream: Any) -> Any:
    """Run a node's backward on Tensors so the gradient is itself part of a graph."""
    if not isinstance(upstream, Tensor):
        upstream = Tensor(upstream, dtype=upstream.dtype)
    if not node.fn.differentiable_backward:
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
        if id(a) in by_id:
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
    # Arrays among the gradients (constants) become Tensors, as the walk expects here.
    result = as_gradient_tuple(result)
    return tuple(g if g is None or isinstance(g, Tensor) else Tensor._from_op(g, None)
                 for g in result)


def _accumulate_grad(t: Tensor, g: Any, owned: bool) -> None:
    """Add ``g`` into ``t.grad``, which must own its memory (it is later updated in place).

    ``owned``: nobody else holds ``g``, so it becomes ``.grad`` without a copy.
    """
    if t.grad is None:
        if type(g) in backend.VIEW_TYPES:  # NumPy, CuPy: inline, it runs for every leaf
            t.grad = g if owned and g.base is None else g.copy(order="K")
        else:
            t.grad = backend.copy(g)
    elif getattr(t.grad, "shape", None) != t.data.shape:  # set by hand to something else
        raise _grad_attribute_error(t)
    else:
        t.grad += g


def _accumulate_tensor_grad(t: Tensor, g: Any, owned: bool) -> None:
    """:func:`_accumulate_grad` for a gradient that is a Tensor (``create_graph=True``):
    its values go into ``.grad``."""
    _accumulate_grad(t, g.data if isinstance(g, Tensor) else g, False)


def _grad_attribute_error(t: Tensor) -> ShapeError:
    """A ``.grad`` set by hand that gradients cannot be added into."""
    what = (f"an array of shape {tuple(t.grad.shape)}" if hasattr(t.grad, "shape")
            else f"a {type(t.grad).__name__}")
    name = f"{t.name!r} " if getattr(t, "name", None) else ""
    return ShapeError(f"backward: the tensor {name}of shape {t.data.shape} has a .grad that is "
                      f"{what}; it must be None or an array of the tensor's shape "
                      "(set .grad = None to start over)")


class _LeafGradients(dict):
    """Leaf gradients by ``id(leaf)``, summed over the leaf's uses; no ``.grad`` touched."""

    def add(self, t: Tensor, g: Any, owned: bool) -> None:
        key = id(t)
        self[key] = self[key] + g if key in self else g


def _retain(node: Context, upstream: Any, to_leaf: Callable[[Tensor, Any, bool], None]
            ) -> None:
    """``retain_grad()``: keep (and accumulate) an intermediate tensor's gradient."""
    out = node.out_ref()
    if out is not None:
        to_leaf(out, upstream, False)


def _to_input_shape(raw: Any, upstream: Any, data: Any) -> Any:
    """A gradient of the broadcast shape, summed back to the input's shape.

    Broadcasting expands an input along axes that the op's output has too, so every axis
    summed away must also be an axis of the upstream gradient, of the same size (aligned
    from the right). A gradient with any other extra axis is a mistake in the op's
    backward, not broadcasting: summing it would silently give a wrong gradient.
    """
    shape, gshape, ushape = data.shape, raw.shape, upstream.shape
    lead = len(gshape) - len(shape)
    for i, n in enumerate(gshape):
        own = i - lead
        if own >= 0 and shape[own] == n:
            continue
        at = i - len(gshape) + len(ushape)
        if at < 0 or ushape[at] != n:
            raise ValueError(f"shape {gshape} is not the input's shape {shape} broadcast "
                             f"to the output's shape {ushape}")
    return unbroadcast(raw, shape)


def _gradient_error(node: Context, downstream: tuple, raw: Any, upstream: Any,
                    cause: Exception) -> ShapeError:
    """What a backward returned that the engine cannot use as a gradient, in one line."""
    index = next(i for i, r in enumerate(downstream) if r is raw)
    want = tuple(node.inputs[index].shape)
    if not hasattr(raw, "shape") or not hasattr(raw, "dtype"):
        got, why = f"a {type(raw).__name__} ({reprlib.repr(raw)})", ""
    else:
        got, why = f"a gradient of shape {tuple(raw.shape)} and dtype {raw.dtype}", f": {cause}"
    return ShapeError(
        f"{node.fn.__name__}.backward returned {got} for input {index} of shape {want} "
        f"(upstream shape {tuple(getattr(upstream, 'shape', ()))}){why}; a backward returns "
        "one array per input, of that input's shape or broadcast to the output's, or None"
    )


def _count_error(node: Context, downstream: tuple) -> RuntimeError:
    return RuntimeError(
        f"{node.fn.__name__}.backward returned {len(downstream)} gradients "
        f"for {len(node.inputs)} inputs"
    )


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
    # An intermediate input's gradient is the upstream its node receives.
    wanted_nodes = {t.grad_fn: id(t) for t in ins if t.grad_fn is not None}
    at_nodes: dict[int, Any] = {}

    def watch(node: Context, upstream: Any, downstream: tuple, sent: list) -> None:
        if node in wanted_nodes:
            at_nodes[wanted_nodes[node]] = upstream

    found = backward_pass(outs, ups, retain_graph=retain_graph, create_graph=create_graph,
                          collect=True, observer=watch if wanted_nodes else None)
    found.update(at_nodes)
    out: list[Tensor | None] = []
    for t in ins:
        g = found.get(id(t))
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
            out.append(Tensor._from_op(g if g.dtype == t.data.dtype else
                                       backend.astype(g, t.data.dtype), None))
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
            ups.append(backend.namespace(o.data).ones_like(o.data))
        return ups
    seq = upstream if isinstance(upstream, (list, tuple)) and len(outs) > 1 else [upstream]
    ups = []
    for o, u in zip(outs, seq):
        if isinstance(u, Tensor):
            u = u.data
        if type(u) is not type(o.data) or u.dtype != o.data.dtype:
            u = backend.asarray(u, like=o.data, dtype=o.data.dtype)
        if u.shape != o.shape:
            # Only a single number may change its shape (a () upstream for a (1,) output);
            # reshaping anything else could pair gradients with the wrong elements.
            if u.size == 1 and o.data.size == 1:
                u = backend.reshape(u, o.shape)
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
        data = tensor.data
        ups = [backend.namespace(data).ones_like(data)]
    else:
        ups = _upstreams([tensor], upstream, "backward")
    backward_pass([tensor], ups, retain_graph or create_graph, create_graph)


def retain_grad_ref(t: Tensor) -> None:
    if t.grad_fn is not None:
        t.grad_fn.out_ref = weakref.ref(t)
