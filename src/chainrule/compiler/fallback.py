"""A training step that runs compiled where it can and eagerly where it must."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chainrule._tensor import Tensor
from chainrule.compiler.step import CompiledStep, CompileError

__all__ = ["TrainStep"]


class TrainStep:
    """``loss_fn(*inputs)``, backward and ``optimizer.step()`` as one call.

    The step is :func:`chainrule.compile`'d; if the compiler refuses it (a
    :class:`CompileError`: e.g. a graph that changes from call to call), this and every
    later call run the eager step instead, and ``fallback_reason`` says why. Both return
    what ``loss_fn`` returns (the loss, or ``(loss, *extras)``). ``gradient_hook(grads)``
    runs between backward and the update (see :func:`chainrule.compile`; eagerly it gets
    every gradient of the optimizer's parameters in one call).

    >>> step = TrainStep(lambda x, y: criterion(model(x), y), opt, model=model)
    >>> loss = step(x_batch, y_batch)
    """

    def __init__(self, loss_fn: Callable[..., Any], optimizer: Any, *, model: Any = None,
                 compiled: bool = True, gradient_hook: Callable[[tuple], None] | None = None,
                 ) -> None:
        self.loss_fn = loss_fn
        self.optimizer = optimizer
        self.model = model
        self.gradient_hook = gradient_hook
        self.fallback_reason: str | None = None
        self.compiled_step = (CompiledStep(loss_fn, optimizer, model=model,
                                           gradient_hook=gradient_hook) if compiled else None)

    @property
    def compiled(self) -> bool:
        """Whether calls still run the compiled step."""
        return self.compiled_step is not None

    def __call__(self, *inputs: Any) -> Any:
        if self.compiled_step is not None:
            try:
                return self.compiled_step(*inputs)
            except CompileError as e:
                self.compiled_step = None
                self.fallback_reason = str(e)
        result = self.loss_fn(*inputs)
        loss: Tensor = result[0] if isinstance(result, tuple) else result
        self.optimizer.zero_grad()
        loss.backward()
        if self.gradient_hook is not None:
            self.gradient_hook(tuple(p.grad for group in self.optimizer.param_groups
                                     for p in group["params"] if p.grad is not None))
        self.optimizer.step()
        return result
