"""A compiled training step: traced once per input signature, then replayed.

:class:`CompiledStep` keeps up to four plans (one per input shapes and dtypes, e.g. full
batches and a last short one), traces a new one when the inputs do not fit the current
one or a parameter's ``.data`` was replaced, and refuses what a replay would get wrong.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule import backend
from chainrule._tensor import Tensor
from chainrule.autograd import Context, topological_order
from chainrule.compiler.arena import Arena
from chainrule.compiler.codegen import MISS, Stale, generate
from chainrule.compiler.plan import CompileError, Plan, build_plan
from chainrule.function import restoring_state
from chainrule.random import get_rng_state, set_rng_state

__all__ = ["CompileError", "CompiledStep", "compile"]

#: Plans kept per step (one per input signature: e.g. full batches and a last short one).
_MAX_PLANS = 4


def _miss(*inputs: Any) -> Any:
    return MISS


class CompiledStep:
    """A training step traced once and replayed; see :func:`compile`."""

    def __init__(
        self,
        loss_fn: Callable[..., Tensor],
        optimizer: Any = None,
        *,
        model: Any = None,
        check: bool = True,
        gradient_hook: Callable[[tuple], None] | None = None,
    ) -> None:
        self.loss_fn = loss_fn
        self.optimizer = optimizer
        self.model = model
        self.check = check
        self.gradient_hook = gradient_hook
        self.plan: Plan | None = None
        self.plans: dict[tuple, Plan] = {}  # by input shapes and dtypes (a last short batch)
        self.traces = 0
        self._arena: Arena | None = None
        self._fast: Callable[..., Any] = _miss

    @property
    def source(self) -> str:
        """The Python source of the last replayed plan (empty before the first call).

        >>> print(step.source)      # every NumPy call one training step makes
        """
        return self.plan.source if self.plan is not None else ""

    # ------------------------------------------------------------------ public
    def __call__(self, *inputs: Any) -> Any:
        """One step: forward, loss, backward, ``optimizer.step()``; returns the loss.

        If the step function returns ``(loss, *extras)`` the step returns them too; the
        extras share the step's buffers, so read them before the next call.
        """
        try:
            result = self._fast(*inputs)  # the current plan, if the inputs fit it
        except Stale:  # a parameter's .data was replaced: every plan is out of date
            self.plans.clear()
            result = MISS
        if result is MISS:
            result = self._run_any(inputs)
        if type(result) is tuple:
            return tuple(Tensor._from_op(v, None) for v in result)
        return Tensor._from_op(result, None)

    def _run_any(self, inputs: tuple) -> Any:
        """Find (or trace) the plan for these inputs and run it."""
        self._check_numpy(inputs)
        arrays = [x.data if isinstance(x, Tensor) else np.asarray(x) for x in inputs]
        signature = tuple([(a.shape, a.dtype) for a in arrays])
        try:
            return self._plan_for(arrays, signature).run(*arrays)
        except Stale:
            self.plans.clear()
            return self._plan_for(arrays, signature).run(*arrays)

    def _plan_for(self, arrays: list, signature: tuple) -> Plan:
        plan = self.plans.get(signature)
        if plan is None:
            if len(self.plans) >= _MAX_PLANS:
                self.plans.clear()
            plan = self.plans[signature] = self._trace(arrays)
        self.plan = plan
        self._fast = plan.fast
        return plan

    # ------------------------------------------------------------------ tracing
    def _check_numpy(self, inputs: tuple) -> None:
        """Refuse a step on another device: the replay is generated NumPy code."""
        arrays = [x.data if isinstance(x, Tensor) else x for x in inputs]
        if self.optimizer is not None:
            arrays += [p.data for g in self.optimizer.param_groups for p in g["params"]]
        if self.model is not None:
            arrays += [p.data for p in self.model.parameters()]
        for a in arrays:
            if backend.is_device_array(a):
                raise CompileError(
                    f"compile: the step runs on {backend.device_of(a)}; the compiler writes "
                    "NumPy code for the CPU, so the step runs eagerly there"
                )

    def _check_model(self) -> None:
        if self.model is None:
            return
        for m in self.model.modules():
            updates = getattr(m, "updates_in_training", None)
            if updates and getattr(m, "training", False):
                raise CompileError(
                    f"compile: {type(m).__name__} in training mode cannot be replayed (it "
                    f"updates {updates} in Python on every call); use the eager step"
                )

    def _guards(self, plan: Plan) -> list[tuple[Any, str, Any]]:
        """What the model's replay depends on besides its parameters: each module's mode
        (``train()``/``eval()`` change the graph: dropout, batch norm) and the buffers
        the ops read or update (a buffer replaced by a new array must not be missed)."""
        if self.model is None:
            return []
        used = plan.constant_arrays()
        guards: list[tuple[Any, str, Any]] = []
        for m in self.model.modules():
            guards.append((m, "training", m.training))
            for name, buffer in m.named_buffers(recurse=False):
                if id(buffer) in used:
                    guards.append((m, name, buffer))
        return guards

    def _run_traced(self, arrays: list) -> tuple[Tensor, tuple, list]:
        traced = []
        for a in arrays:
            if a.dtype.kind == "f":
                # Recorded like a parameter, so everything computed from it is in the graph.
                traced.append(Tensor._from_op(a, None).requires_grad_(True))
            else:
                traced.append(Tensor._from_op(a, None))
        result = self.loss_fn(*traced)
        loss, extras = (result[0], tuple(result[1:])) if isinstance(result, tuple) else (result, ())
        if not isinstance(loss, Tensor) or loss.grad_fn is None:
            raise CompileError("compile: the step function must return a loss Tensor with a graph")
        if loss.data.size != 1:
            raise CompileError(f"compile: the loss must be a scalar, got shape {loss.shape}")
        return loss, extras, traced

    def _trace(self, arrays: list) -> Plan:
        self._check_model()
        # Tracing must not consume random numbers: the first replay then draws what an
        # eager step would have drawn (dropout masks), and resumed runs stay identical.
        # Nor may it move what ops update in place (batch norm's running statistics).
        rng_state = get_rng_state()
        with restoring_state():
            try:
                loss, extras, traced = self._run_traced(arrays)
                nodes = topological_order([loss])
                if self.check:
                    # Trace again: a constant that differs between two traces is a value
                    # drawn per call outside any op (a hand-made random mask), which a
                    # replay would freeze.
                    set_rng_state(rng_state)
                    loss2, _, _ = self._run_traced(arrays)
                    _compare_constants(nodes, topological_order([loss2]))
            finally:
                set_rng_state(rng_state)
        self.traces += 1
        plan = build_plan(Plan(nodes, arrays, traced, extras), self.optimizer, self._arena)
        self._arena = plan.arena
        plan.guards = self._guards(plan)
        generate(plan, self.optimizer, self.gradient_hook)
        plan.release_trace()
        return plan

def _compare_constants(first: list[Context], second: list[Context]) -> None:
    if len(first) != len(second):
        raise CompileError(
            "compile: the step builds a different graph on each call; it cannot be replayed"
        )
    for a, b in zip(first, second):
        if a.fn is not b.fn:
            raise CompileError(
                f"compile: the step builds a different graph on each call ({a.fn.__name__} "
                f"then {b.fn.__name__}); it cannot be replayed"
            )
        for x, y in zip(a.inputs, b.inputs):
            if isinstance(x, Tensor) and isinstance(y, Tensor):
                if x is y or x.grad_fn is not None or x.requires_grad:
                    continue  # a parameter, an input or a node: not frozen by a replay
                x, y = x.data, y.data  # a constant Tensor made inside the step function
            elif isinstance(x, Tensor) or isinstance(y, Tensor):
                continue
            if isinstance(x, np.ndarray) and (x.shape != y.shape or not np.array_equal(x, y)):
                raise CompileError(
                    f"compile: an input of {a.fn.__name__} changes between calls without coming "
                    "from the step's inputs or parameters (a random mask, e.g. dropout); "
                    "a replay would freeze it: use the eager step"
                )


def compile(
    loss_fn: Callable[..., Tensor],
    optimizer: Any = None,
    *,
    model: Any = None,
    check: bool = True,
    gradient_hook: Callable[[tuple], None] | None = None,
) -> CompiledStep:
    """Trace ``loss_fn(*inputs) -> loss`` once and replay it as a fast training step.

    Each call of the returned step runs forward, backward and (if given) the optimizer's
    update with preallocated buffers, and returns the loss. Gradients land in the
    parameters' ``.grad`` as in eager mode (no ``zero_grad`` needed: each step
    overwrites them). The optimizer's parameters may be packed into one array per group
    (their ``.data`` become views of it; see docs/compile.md). Pass ``model`` to have
    modules that update state in Python in training mode (``Module.updates_in_training``),
    which cannot be replayed, refused up front, and the step traced again when a module
    is switched between ``train()`` and ``eval()`` or a buffer it uses is replaced.
    State that ops update in place (batch norm's running statistics) is replayed with
    the op. The replay is NumPy code: a step on a GPU (CuPy arrays) raises
    :class:`CompileError`, and ``TrainStep`` (the Trainer's step) then runs it eagerly.

    ``gradient_hook(grads)``, when given, runs after the backward pass and before the
    update, and may change the gradients in place: it gets each packed parameter group's
    flat gradient array (one call per group) or, unpacked, every parameter's gradient in
    one call. Data-parallel training averages them over the ranks there
    (:class:`chainrule.distributed.GradientAllreduce`).

    >>> step = cr.compile(lambda x, y: F.cross_entropy(model(x), y), opt, model=model)
    >>> loss = step(x_batch, y_batch)
    >>> print(step.source)               # the NumPy calls of one step
    """
    return CompiledStep(loss_fn, optimizer, model=model, check=check,
                        gradient_hook=gradient_hook)
