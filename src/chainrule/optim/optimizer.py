"""Optimizer base: parameter groups, per-parameter state, and PyTorch-style state dicts.

An optimizer holds ``param_groups`` (each a dict with ``'params'`` and the
hyperparameters, so parts of a model can use different settings) and ``state`` (per
parameter: ``momentum_buffer``, ``exp_avg``, ...). ``step()`` updates every parameter
that has a gradient, in place, with the optimizer's rule ``update(group, param, state)``.
The state lives where its parameter lives: after ``model.to('cuda')`` the next ``step()``
moves it there too.

>>> opt = optim.SGD([
...     {"params": [layer.weight]},
...     {"params": [layer.bias], "weight_decay": 0.0},    # no decay on biases
... ], lr=0.1, weight_decay=1e-4)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from chainrule import backend
from chainrule._tensor import Tensor
from chainrule.autograd import enable_grad
from chainrule.checks import in_range

__all__ = ["Optimizer"]


class Optimizer:
    """Base class: subclasses define the rule ``update(group, param, state)``.

    ``state_dict()`` is PyTorch's layout: ``{'state': {index: {name: value}},
    'param_groups': [{..hyperparameters.., 'params': [index, ...]}]}`` where parameters
    are numbered in group order and arrays are NumPy copies (in host memory, whatever
    the device).

    A new optimizer is a constructor (its defaults) and an ``update``; with
    ``elementwise = True`` a compiled step runs it once per packed parameter group::

        class SignSGD(Optimizer):
            elementwise = True          # each element on its own: may run packed

            def __init__(self, params, lr=0.01):
                super().__init__(params, dict(lr=lr))

            def update(self, group, param, state):
                param.data -= group["lr"] * np.sign(param.grad)
    """

    #: Whether ``update`` treats every element on its own, with only the group's
    #: hyperparameters (no norms, no shapes): then one ``update`` of all of a group's
    #: parameters packed into one flat array (and its state in flat arrays) is the same
    #: step, and a compiled step (:mod:`chainrule.compiler`) runs it so, a large group
    #: as contiguous parts in threads at once (so ``update`` must change nothing but its
    #: arguments). A subclass that defines its own ``update`` must say so again
    #: (otherwise it is set to False).
    elementwise: bool = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "update" in cls.__dict__ and "elementwise" not in cls.__dict__:
            cls.elementwise = False  # a new rule is not assumed to be elementwise

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]) -> None:
        self.defaults = dict(defaults)
        self.state: dict[Tensor, dict[str, Any]] = {}
        self.param_groups: list[dict[str, Any]] = []
        self._scratch: dict[int, list[Any]] = {}
        self._placed: dict[int, type] = {}  # by id(param): its array type at the last step
        if isinstance(params, Tensor):
            raise TypeError(
                f"{type(self).__name__}: params must be an iterable of Tensors or of dicts, "
                "got a single Tensor (wrap it in a list)"
            )
        groups = list(params)
        if not groups:
            raise ValueError(f"{type(self).__name__} got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for g in groups:
            self.add_param_group(g)

    # ------------------------------------------------------------- groups
    def _validate(self, group: dict[str, Any]) -> None:
        """Check hyperparameters; subclasses extend it."""
        lr = group.get("lr")
        if not in_range(lr, low=0.0):
            raise ValueError(f"{type(self).__name__}: invalid learning rate {lr!r} "
                             "(must be a number >= 0)")
        wd = group.get("weight_decay", 0.0)
        if not in_range(wd, low=0.0):
            raise ValueError(f"{type(self).__name__}: invalid weight_decay {wd} (must be >= 0)")

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own hyperparameters (missing ones: defaults)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"add_param_group: expected a dict, got {type(param_group).__name__}")
        params = param_group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"{type(self).__name__} can only optimize Tensors, "
                                f"got {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(f"{type(self).__name__} can't optimize a non-leaf Tensor "
                                 "(one computed by an op); optimize the leaves it came from")
            if p.dtype.kind != "f":
                raise TypeError(f"{type(self).__name__}: parameters must be floating, "
                                f"got {p.dtype}")
        ids = {id(p) for p in params}
        if len(ids) != len(params):
            raise ValueError(f"{type(self).__name__}: a parameter appears twice in one group")
        for g in self.param_groups:
            if ids & {id(p) for p in g["params"]}:
                raise ValueError(f"{type(self).__name__}: some parameters appear in more "
                                 "than one parameter group")
        group = dict(param_group)
        group["params"] = params
        for k, v in self.defaults.items():
            group.setdefault(k, v)
        self._validate(group)
        self.param_groups.append(group)

    # ------------------------------------------------------------- gradients
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients: ``None`` (the default, like PyTorch) or zeros in place."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none or p.grad is None:
                    p.grad = None
                else:
                    p.grad[...] = 0

    # ------------------------------------------------------------- stepping
    def _temp(self, p: Tensor, count: int) -> list[Any]:
        """Scratch arrays of ``p``'s shape (and device), allocated on the first step and
        then reused."""
        data = p.data
        bufs = self._scratch.get(id(p))
        fits = (bufs is not None and type(bufs[0]) is type(data)
                and bufs[0].shape == data.shape and bufs[0].dtype == data.dtype)
        if fits and len(bufs) >= count:
            return bufs  # the per-step path: no allocation, no property lookups
        if not fits:
            bufs = []
            self._scratch[id(p)] = bufs
        xp = backend.namespace(data)
        while len(bufs) < count:
            bufs.append(xp.empty_like(data))
        return bufs

    def _follow(self, p: Tensor, state: dict[str, Any]) -> None:
        """Move ``p``'s state arrays to ``p``'s device (after ``model.to(device)``)."""
        device = backend.device_of(p.data)
        for k, v in state.items():
            if backend.is_array(v) and backend.device_of(v) != device:
                state[k] = backend.to_device(v, device)

    def update(self, group: dict[str, Any], param: Tensor, state: dict[str, Any]) -> None:
        """The rule: update ``param.data`` in place from ``param.grad``, the group's
        hyperparameters and the parameter's ``state`` dict (empty on the first step).

        ``param`` is one parameter, or (compiled, ``elementwise`` rules only) a Tensor
        holding all of a group's parameters and gradients packed into flat arrays,
        with ``state`` their packed state.
        """
        raise NotImplementedError(f"{type(self).__name__} does not define update()")

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; returns ``closure()``'s loss if given."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if getattr(p.grad, "shape", None) != p.data.shape:
                    got = getattr(p.grad, "shape", type(p.grad).__name__)
                    raise ValueError(f"{type(self).__name__}: gradient of shape {got} "
                                     f"does not match its parameter's shape {p.data.shape}")
                state = self.state.get(p)
                if state is None:
                    state = self.state[p] = {}
                kind = type(p.data)
                if self._placed.get(id(p)) is not kind:
                    self._placed[id(p)] = kind
                    self._follow(p, state)
                self.update(group, p, state)
        return loss

    # ------------------------------------------------------------- state dict
    def state_dict(self) -> dict[str, Any]:
        """``{'state': {index: {...}}, 'param_groups': [...]}`` with NumPy copies."""
        index: dict[int, int] = {}
        groups = []
        for g in self.param_groups:
            packed = {k: v for k, v in g.items() if k != "params"}
            ids = []
            for p in g["params"]:
                index.setdefault(id(p), len(index))
                ids.append(index[id(p)])
            packed["params"] = ids
            groups.append(packed)
        state = {}
        for g in self.param_groups:
            for p in g["params"]:
                if p in self.state:
                    state[index[id(p)]] = {
                        k: (backend.to_numpy(v, copy=True) if backend.is_array(v) else v)
                        for k, v in self.state[p].items()
                    }
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore hyperparameters and per-parameter state saved by ``state_dict()``.

        The optimizer must have been built over the same parameters, grouped the same
        way; arrays are copied, cast to each parameter's dtype and put on its device.
        """
        groups = state_dict.get("param_groups")
        saved_state = state_dict.get("state")
        if not isinstance(groups, list) or not isinstance(saved_state, dict):
            raise ValueError("load_state_dict: expected a dict with 'state' and 'param_groups'")
        if len(groups) != len(self.param_groups):
            raise ValueError(f"load_state_dict: the saved state has {len(groups)} parameter "
                             f"groups, this optimizer has {len(self.param_groups)}")
        for i, (saved, own) in enumerate(zip(groups, self.param_groups)):
            if len(saved["params"]) != len(own["params"]):
                raise ValueError(
                    f"load_state_dict: parameter group {i} has {len(saved['params'])} "
                    f"parameters in the saved state and {len(own['params'])} here"
                )
        new_state: dict[Tensor, dict[str, Any]] = {}
        for saved, own in zip(groups, self.param_groups):
            for idx, p in zip(saved["params"], own["params"]):
                entry = saved_state.get(idx, saved_state.get(str(idx)))
                if entry is None:
                    continue
                restored = {}
                for k, v in entry.items():
                    if isinstance(v, Tensor):
                        v = v.data
                    if backend.is_array(v):
                        if v.ndim == 0:
                            v = backend.to_numpy(v).item()
                        elif v.shape != p.shape:
                            raise ValueError(f"load_state_dict: state {k!r} has shape "
                                             f"{v.shape}, its parameter {p.shape}")
                        else:
                            v = backend.asarray(v, like=p.data, dtype=p.dtype, copy=True)
                    restored[k] = v
                new_state[p] = restored
        self.state = new_state
        for saved, own in zip(groups, self.param_groups):
            for k, v in saved.items():
                if k != "params":
                    own[k] = v

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for k in sorted(g):
                if k != "params":
                    lines.append(f"    {k}: {g[k]}")
        lines.append(")")
        return "\n".join(lines)
