"""Module and Parameter: the containers every layer, loss and network is built from.

A :class:`Module` owns :class:`Parameter` tensors (learned), *buffers* (arrays that are
state but not learned, like BatchNorm's running statistics) and sub-modules.
``module.to('cuda')`` moves all of them (and an optimizer's state follows at its next
step); ``state_dict()`` always gives NumPy arrays in host memory. Assigning
one as an attribute registers it, as in PyTorch, so names are dotted paths
(``0.weight``, ``block.1.bias``) and a state dict of a chainrule network loads into the
equivalent ``torch.nn`` network and back.

>>> import chainrule as cr
>>> from chainrule import nn
>>> class TwoLayer(nn.Module):
...     def __init__(self):
...         super().__init__()
...         self.fc1 = nn.Linear(2, 8)
...         self.fc2 = nn.Linear(8, 3)
...     def forward(self, x):
...         return self.fc2(self.fc1(x).relu())
>>> [name for name, _ in TwoLayer().named_parameters()]
['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar, NamedTuple

from chainrule import backend
from chainrule._tensor import Tensor, _as_dtype
from chainrule.devices import is_device_name
from chainrule.errors import ChainruleError

__all__ = ["IncompatibleKeys", "Module", "Parameter", "StateDictError"]


class StateDictError(ChainruleError, RuntimeError, KeyError):
    """A state dict that does not fit the module: missing, unexpected or mis-shaped keys."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict(strict=False)`` could not match."""

    missing_keys: list[str]
    unexpected_keys: list[str]


class Parameter(Tensor):
    """A tensor that is a learned parameter of a module (``requires_grad=True``).

    The data is copied (on its device); a floating array keeps its dtype (float32 or
    float64), anything else becomes float32.

    >>> w = nn.Parameter(np.zeros((3, 2)))
    >>> w.requires_grad, w.dtype
    (True, dtype('float64'))
    """

    __slots__ = ()

    def __init__(self, data: Any, requires_grad: bool = True) -> None:
        arr = backend.asarray(data.data if isinstance(data, Tensor) else data)
        dtype = backend.numpy_dtype(arr.dtype)
        dtype = dtype if dtype.kind == "f" else backend.numpy_dtype("float32")
        super().__init__(backend.astype(arr, dtype, copy=True), dtype=dtype,
                         requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


def _as_state_array(value: Any, key: str) -> Any:
    """A state-dict value (NumPy array, Tensor, torch tensor, number) as an array."""
    if isinstance(value, Tensor):
        return value.data
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor
        return value.detach().cpu().numpy()
    try:
        return backend.asarray(value)
    except Exception as exc:  # pragma: no cover - exotic inputs
        raise StateDictError(f"load_state_dict: value for {key!r} is not an array ({exc})") from exc


def _writeable(buffer: Any) -> bool:
    """Whether a buffer may be written in place (NumPy's read-only arrays may not; a
    device array has no ``flags.writeable`` and always may)."""
    return getattr(getattr(buffer, "flags", None), "writeable", True)


class Module:
    """Base class of layers, losses and networks.

    Subclasses call ``super().__init__()`` first, assign parameters, buffers and
    sub-modules as attributes, and define ``forward``. Calling the module runs
    ``forward``; NumPy arrays given as inputs become tensors of the module's dtype, on
    its device.
    """

    training: bool

    #: What the module changes in Python on every call in training mode, outside any op
    #: (e.g. "its call counter"), or ``None``. A compiled step replays the recorded ops
    #: without running Python, so :func:`chainrule.compile` refuses a model that holds
    #: such a module in training mode. (Batch norm needs none: its op updates the running
    #: statistics itself.)
    updates_in_training: ClassVar[str | None] = None

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    # ------------------------------------------------------------- registration
    def _check_init(self, what: str) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"cannot assign {what} before {type(self).__name__}.__init__() called "
                "super().__init__()"
            )

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, Parameter):
            self._check_init("parameters")
            self._discard(name)
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._check_init("sub-modules")
            self._discard(name)
            self._modules[name] = value
        elif "_parameters" in self.__dict__ and name in self._parameters:
            if value is not None:
                raise TypeError(
                    f"cannot assign {type(value).__name__} as parameter {name!r} of "
                    f"{type(self).__name__} (expected nn.Parameter or None)"
                )
            self._parameters[name] = None
        elif "_modules" in self.__dict__ and name in self._modules:
            if value is not None:
                raise TypeError(
                    f"cannot assign {type(value).__name__} as sub-module {name!r} of "
                    f"{type(self).__name__} (expected nn.Module or None)"
                )
            self._modules[name] = None
        elif "_buffers" in self.__dict__ and name in self._buffers:
            self._buffers[name] = None if value is None else backend.asarray(
                value.data if isinstance(value, Tensor) else value)
        else:
            object.__setattr__(self, name, value)

    def _discard(self, name: str) -> None:
        for store in (self._parameters, self._buffers, self._modules):
            store.pop(name, None)
        self.__dict__.pop(name, None)

    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails: look in the registries.
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            if store in d and name in d[store]:
                return d[store][name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name: str) -> None:
        for store in (self._parameters, self._buffers, self._modules):
            if name in store:
                del store[name]
                self._non_persistent.discard(name)
                return
        object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add a parameter (or a ``None`` placeholder, e.g. a layer without bias)."""
        self._check_init("parameters")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: {name!r} must be a Parameter or None, "
                            f"got {type(param).__name__}")
        self._discard(name)
        self._parameters[name] = param

    def register_buffer(self, name: str, value: Any, persistent: bool = True) -> None:
        """Add a buffer: state that is saved in the state dict but not learned.

        Buffers are arrays (BatchNorm's ``running_mean``) on the module's device; ``None``
        registers a placeholder; ``persistent=False`` keeps it out of the state dict.
        """
        self._check_init("buffers")
        self._discard(name)
        self._buffers[name] = None if value is None else backend.asarray(
            value.data if isinstance(value, Tensor) else value)
        if persistent:
            self._non_persistent.discard(name)
        else:
            self._non_persistent.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Add a sub-module under ``name`` (what ``self.name = module`` does)."""
        self._check_init("sub-modules")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {name!r} must be a Module, got {type(module).__name__}")
        self._discard(name)
        self._modules[name] = module

    # ------------------------------------------------------------- calling
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def _input_like(self, args: tuple) -> Tensor | None:
        """Whose float dtype and device NumPy inputs take: the parameters', else a float
        Tensor argument's."""
        for p in self.parameters():
            return p
        for a in args:
            if isinstance(a, Tensor) and a.dtype.kind == "f":
                return a
        return None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if any(isinstance(a, backend.NUMPY_TYPES) for a in args):
            like = self._input_like(args)
            args = tuple(
                _array_to_tensor(a, like) if isinstance(a, backend.NUMPY_TYPES) else a
                for a in args
            )
        return self.forward(*args, **kwargs)

    # ------------------------------------------------------------- traversal
    def named_modules(self, prefix: str = "", memo: set | None = None
                      ) -> Iterator[tuple[str, Module]]:
        """This module and every sub-module, depth first, with dotted names."""
        memo = set() if memo is None else memo
        if id(self) in memo:
            return
        memo.add(id(self))
        yield prefix, self
        for name, child in self._modules.items():
            if child is None:
                continue
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name, memo)

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, Module]]:
        for name, child in self._modules.items():
            if child is not None:
                yield name, child

    def children(self) -> Iterator[Module]:
        for _, child in self.named_children():
            yield child

    def named_parameters(self, prefix: str = "", recurse: bool = True
                         ) -> Iterator[tuple[str, Parameter]]:
        """``(dotted name, Parameter)`` pairs; a shared parameter appears once."""
        seen: set[int] = set()
        mods = self.named_modules(prefix) if recurse else iter([(prefix, self)])
        for mod_prefix, mod in mods:
            for name, p in mod._parameters.items():
                if p is None or id(p) in seen:
                    continue
                seen.add(id(p))
                yield (f"{mod_prefix}.{name}" if mod_prefix else name), p

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True
                      ) -> Iterator[tuple[str, Any]]:
        mods = self.named_modules(prefix) if recurse else iter([(prefix, self)])
        for mod_prefix, mod in mods:
            for name, b in mod._buffers.items():
                if b is not None:
                    yield (f"{mod_prefix}.{name}" if mod_prefix else name), b

    def buffers(self, recurse: bool = True) -> Iterator[Any]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    # ------------------------------------------------------------- modes and grads
    def train(self, mode: bool = True) -> Module:
        """Training mode (Dropout drops, BatchNorm uses batch statistics); returns self."""
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self) -> Module:
        """Evaluation mode: ``train(False)``."""
        return self.train(False)

    def requires_grad_(self, flag: bool = True) -> Module:
        for p in self.parameters():
            p.requires_grad = bool(flag)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget every parameter's gradient (``None``, or zeros in place)."""
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad[...] = 0

    def to(self, *args: Any, device: Any = None, dtype: Any = None) -> Module:
        """Move parameters and buffers to ``device`` and/or convert the floating ones to
        ``dtype``, in place; returns the module.

        ``model.to('cuda')``, ``model.to('float64')``, ``model.to('cuda', 'float64')``.
        The parameters stay the same objects (an optimizer built over them keeps them,
        and moves its state at its next step); gradients move with them, and are
        dropped when the dtype changes.
        """
        for a in args:
            if is_device_name(a):
                device = a
            else:
                dtype = a
        dt = None if dtype is None else _as_dtype(dtype)
        if dt is not None and dt.kind != "f":
            raise TypeError(f"Module.to: dtype must be a floating type, got {dt}")
        for m in self.modules():
            for p in m._parameters.values():
                if p is None:
                    continue
                if device is not None:
                    p.data = backend.to_device(p.data, device)
                    if p.grad is not None:
                        p.grad = backend.to_device(p.grad, device)
                if dt is not None and p.dtype != dt:
                    p.data = backend.astype(p.data, dt)
                    p.grad = None
            for name, b in m._buffers.items():
                if b is None:
                    continue
                if device is not None:
                    b = backend.to_device(b, device)
                if dt is not None and backend.is_floating(b.dtype):
                    b = backend.astype(b, dt)
                m._buffers[name] = b
        return self

    def double(self) -> Module:
        return self.to("float64")

    def float(self) -> Module:
        return self.to("float32")

    def num_parameters(self) -> int:
        """How many learned numbers the module has."""
        return int(sum(p.size for p in self.parameters()))

    # ------------------------------------------------------------- state dict
    def _state_items(self) -> Iterator[tuple[str, Any, Module, str, str]]:
        """``(key, value, owner, local name, kind)`` in PyTorch's state-dict order."""
        for mod_prefix, mod in self.named_modules():
            for name, p in mod._parameters.items():
                if p is not None:
                    key = f"{mod_prefix}.{name}" if mod_prefix else name
                    yield key, p, mod, name, "parameter"
            for name, b in mod._buffers.items():
                if b is not None and name not in mod._non_persistent:
                    key = f"{mod_prefix}.{name}" if mod_prefix else name
                    yield key, b, mod, name, "buffer"

    def state_dict(self) -> OrderedDict[str, Any]:
        """Every parameter and persistent buffer as a NumPy array (a copy in host memory,
        whatever the device), by dotted name.

        Names and shapes follow PyTorch, so ``torch_model.load_state_dict(
        {k: torch.from_numpy(v) for k, v in model.state_dict().items()})`` works.
        """
        out: OrderedDict[str, Any] = OrderedDict()
        for key, value, *_ in self._state_items():
            out[key] = backend.to_numpy(value.data if isinstance(value, Tensor) else value,
                                        copy=True)
        return out

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True
                        ) -> IncompatibleKeys:
        """Copy values into the parameters and buffers (in place, keeping their dtype and
        device).

        Values may be NumPy arrays, chainrule Tensors or torch tensors. With
        ``strict=True`` missing or unexpected keys raise :class:`StateDictError`; a
        shape mismatch always raises. Returns the missing and unexpected keys.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"load_state_dict: expected a mapping of name -> array, "
                            f"got {type(state_dict).__name__}")
        own = {key: (value, mod, name, kind) for key, value, mod, name, kind in self._state_items()}
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        problems = []
        arrays = {}
        for key, (value, _mod, _name, _kind) in own.items():
            if key not in state_dict:
                continue
            arr = _as_state_array(state_dict[key], key)
            target = value.data if isinstance(value, Tensor) else value
            if arr.shape != target.shape:
                problems.append(f"size mismatch for {key!r}: the checkpoint has shape "
                                f"{arr.shape}, the model has shape {target.shape}")
            arrays[key] = arr
        if strict:
            if missing:
                problems.append("missing keys: " + ", ".join(repr(k) for k in missing))
            if unexpected:
                problems.append("unexpected keys: " + ", ".join(repr(k) for k in unexpected))
        if problems:
            raise StateDictError(
                f"error loading state dict into {type(self).__name__}: " + "; ".join(problems)
            )
        for key, arr in arrays.items():
            value, mod, name, kind = own[key]
            if kind == "parameter":
                backend.assign(value.data, arr)
            elif _writeable(value):  # in place, as PyTorch: a compiled step reads it
                backend.assign(value, arr)
            else:
                mod._buffers[name] = backend.asarray(arr, like=value, dtype=value.dtype,
                                                     copy=True)
        return IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------- printing
    def extra_repr(self) -> str:
        """The arguments shown inside ``Name(...)``; layers override it."""
        return ""

    def __repr__(self) -> str:
        extra = self.extra_repr()
        children = [(n, m) for n, m in self._modules.items() if m is not None]
        if not children:
            return f"{type(self).__name__}({extra})"
        lines = [extra] if extra else []
        for name, child in children:
            body = repr(child).replace("\n", "\n  ")
            lines.append(f"({name}): {body}")
        inner = "\n  ".join(lines)
        return f"{type(self).__name__}(\n  {inner}\n)"

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers)
                      | set(self._modules))


def _array_to_tensor(a: Any, like: Tensor | None) -> Tensor:
    """A NumPy input as a tensor on ``like``'s device; floating arrays take its dtype."""
    arr = backend.asarray(a)
    if like is None:
        return Tensor(arr)
    if backend.is_device_array(like.data):
        arr = backend.to_device(arr, like.device)
    if backend.is_floating(arr.dtype):
        return Tensor(arr, dtype=like.dtype)
    return Tensor(arr)
