"""``chainrule.compiler``: compiled training steps, traced once and replayed without a graph.

An eager step builds a new graph every time: Tensor objects, node contexts, a
topological sort. For a tiny network that bookkeeping costs more than the arithmetic.
``cr.compile`` (the function; this is its package, as ``torch.compile`` and
``torch.compiler``) traces a fixed-shape step once, keeps the node order and the
gradient routes, and writes the whole step (forward, backward, optimizer update) as one
straight-line Python function whose NumPy calls write into buffers allocated once::

    model = cr.nn.MLP(784, [512, 256], 10)
    opt = cr.optim.SGD(model.parameters(), lr=0.1)
    criterion = cr.nn.CrossEntropyLoss()
    step = cr.compile(lambda x, y: criterion(model(x), y), opt, model=model)
    for x, y in loader:
        loss = step(x, y)      # forward, loss, backward, optimizer.step()
    print(step.source)         # the generated function: every NumPy call of a step

The modules, from the top:

- ``step.py``: :class:`CompiledStep` (tracing, the plans per input signature, what is
  refused) and :func:`compile`.
- ``plan.py``: the :class:`~chainrule.compiler.plan.Plan` and the stages that turn a
  traced graph into it: argument sources, gradients, kernels, layouts, packing, routes,
  gradient buffers.
- ``kernel.py``: what a kernel is (:class:`~chainrule.compiler.kernel.Kernel`), the
  generic replay of any op's own ``forward``/``backward``, and how an op names its
  kernel (``Function.kernel``).
- ``kernels.py``: the built-in kernels, written inline as NumPy calls into preallocated
  buffers: Linear and the softmax loss, and what kernels share (layouts, label checks).
  Small layers run in the column layout of the lecture's ``h = W x + b``, with the bias
  folded into the product; a layer that narrows (``in >= out``, e.g. 3072 -> 100) keeps
  its weight stored transposed. Shapes never change, only strides.
- ``activation_kernels.py`` (every activation of the lecture, dropout),
  ``loss_kernels.py`` (the SVM loss), ``normalization_kernels.py`` (batch norm),
  ``penalty_kernels.py`` (L2/L1 folded into the gradients), ``arithmetic_kernels.py``
  (add): the other ops of a training step, each with its own buffers.
- ``arena.py``: one array per parameter group. When every parameter of the optimizer
  gets a gradient, the parameters of each group are packed into one flat array (each
  parameter's ``.data`` becomes a view of it) and so are their gradients; an optimizer
  whose rule is elementwise (``Optimizer.elementwise``) then runs its public
  ``update(group, param, state)`` once per group on the flat arrays. Others run their
  usual ``step()`` on the views.
- ``parallel.py``: a large packed group's elementwise update in parts, one per thread
  (``set_num_threads``).
- ``codegen.py``: the straight-line replay function: no loops, no lookups, no graph.
- ``fallback.py``: :class:`~chainrule.compiler.fallback.TrainStep`, compiled where it
  can be and eager where it must.

The replay runs the same arithmetic as the eager path, so results agree with it to
float rounding (the tests check it). A new input shape or dtype triggers a new trace,
and so does a parameter whose ``.data`` was replaced by another array.
Dropout works (its mask is drawn inside its op, so every replay draws a new one, from
the same random stream as the eager step), and so does batch norm (its running
statistics are updated inside its op). What cannot be replayed is refused with a clear
error rather than replayed wrongly: values that change from call to call outside any op
(a hand-made random mask), Python side effects of a module
(``Module.updates_in_training``), labels that are transformed before reaching the loss.
Labels are range-checked on every replay, as in the eager loss.
"""

from chainrule.compiler.parallel import get_num_threads, set_num_threads
from chainrule.compiler.step import CompiledStep, CompileError, compile

__all__ = ["CompileError", "CompiledStep", "compile", "get_num_threads", "set_num_threads"]
