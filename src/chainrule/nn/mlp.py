"""MLP: the lecture's fully-connected networks in one line, and ``build_model`` for configs.

``MLP(3072, [100], 10)`` is the 2-layer net ``f = W2 max(0, W1 x)`` (with biases) that
learns 100 templates instead of 10; ``MLP(3072, [100, 100], 10)`` the 3-layer net.

Layer order, per hidden layer, then one final ``Linear``::

    Linear -> [BatchNorm1d if batchnorm] -> activation -> [Dropout if dropout > 0]

``MLP`` is an ``nn.Sequential`` numbered in that order, so ``MLP(2, [100], 3)`` has
parameters ``0.weight`` (100, 2), ``0.bias``, ``2.weight`` (3, 100), ``2.bias`` and its
state dict loads into ``torch.nn.Sequential(Linear(2, 100), ReLU(), Linear(100, 3))``
(with ``batchnorm=True``: ``Linear, BatchNorm1d, ReLU, Linear`` and keys ``1.weight``,
``1.bias``, ``1.running_mean``, ``1.running_var``, ``1.num_batches_tracked``). A linear
activation still takes its slot (as ``Identity``) so the numbering never changes.
``activation='maxout'`` makes each hidden ``Linear`` produce ``pieces`` (default 2)
times the hidden width and follows it with ``MaxoutPool``: together, maxout units.
``activation`` may also name one activation per hidden layer
(``MLP(2, [8, 8, 4], 2, activation=["relu", "prelu", "maxout"])``, as ConvNetJS's layer
definitions do).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chainrule.nn.activations import activation as make_activation
from chainrule.nn.convnet import ConvNet, convnet_state_shapes
from chainrule.nn.layers import Dropout, Linear, Sequential
from chainrule.nn.module import Module
from chainrule.nn.normalization import BatchNorm1d

__all__ = ["MLP", "build_model", "state_shapes"]


class MLP(Sequential):
    """Fully-connected network: ``in_features -> hidden[0] -> ... -> out_features``.

    ``hidden=[]`` is a linear classifier (one ``Linear``). ``activation`` is a name
    accepted by :func:`chainrule.nn.activation`, or a list of one name per hidden layer,
    configured by ``activation_kwargs`` (e.g. ``{"negative_slope": 0.1}``, or
    ``{"pieces": 3}`` for maxout; with a list, only when every layer has the same one). ``dtype``
    and ``device`` go to every layer.

    >>> model = nn.MLP(2, [100], 3)            # the spiral's 2-layer net
    >>> model(cr.randn(5, 2)).shape
    (5, 3)
    >>> nn.build_model(model.config())        # the same architecture, new weights
    """

    def __init__(self, in_features: int, hidden: int | Sequence[int], out_features: int,
                 activation: str | Sequence[str] = "relu", dropout: float = 0.0,
                 batchnorm: bool = False,
                 *, activation_kwargs: dict[str, Any] | None = None, dtype: Any = None,
                 device: Any = None) -> None:
        hidden_sizes = [int(hidden)] if isinstance(hidden, int) else [int(h) for h in hidden]
        if any(h < 1 for h in hidden_sizes):
            raise ValueError(f"MLP: hidden sizes must be >= 1, got {hidden_sizes}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"MLP: dropout must be in [0, 1), got {dropout}")
        kwargs = dict(activation_kwargs or {})
        names = _layer_activations(activation, len(hidden_sizes), kwargs)
        for name in set(names):
            make_activation(name, **kwargs)  # validate the names before building anything
        layers: list[Module] = []
        for kind, size, name in _plan(in_features, hidden_sizes, out_features, names, kwargs,
                                      dropout, batchnorm):
            if kind == "linear":
                layers.append(Linear(*size, dtype=dtype, device=device))
            elif kind == "batchnorm":
                layers.append(BatchNorm1d(size[0], dtype=dtype, device=device))
            elif kind == "activation":
                act = make_activation(name, **kwargs)
                if dtype is not None or device is not None:
                    act.to(device=device, dtype=dtype)
                layers.append(act)
            else:
                layers.append(Dropout(dropout))
        super().__init__(*layers)
        self.in_features = int(in_features)
        self.hidden = hidden_sizes
        self.out_features = int(out_features)
        self.activation = activation if isinstance(activation, str) else list(names)
        self.activation_kwargs = kwargs
        self.dropout = float(dropout)
        self.batchnorm = bool(batchnorm)

    def config(self) -> dict[str, Any]:
        """The constructor's arguments as a JSON-able dict (``build_model`` inverts it)."""
        cfg: dict[str, Any] = {
            "type": "MLP",
            "in_features": self.in_features,
            "hidden": list(self.hidden),
            "out_features": self.out_features,
            "activation": self.activation,
            "dropout": self.dropout,
            "batchnorm": self.batchnorm,
        }
        if self.activation_kwargs:
            cfg["activation_kwargs"] = dict(self.activation_kwargs)
        return cfg


def _layer_activations(activation: str | Sequence[str], layers: int,
                       kwargs: dict[str, Any]) -> list[str]:
    """One activation name per hidden layer."""
    if isinstance(activation, str):
        return [activation] * layers
    names = [str(a) for a in activation]
    if len(names) != layers:
        raise ValueError(f"MLP: {len(names)} activations {names} for {layers} hidden layers")
    if kwargs and len(set(names)) > 1:
        raise ValueError(f"MLP: activation_kwargs {kwargs} need one activation for every "
                         f"layer, got {names}")
    return names


def _plan(in_features: int, hidden: list[int], out_features: int, names: list[str],
          activation_kwargs: dict[str, Any], dropout: float, batchnorm: bool
          ) -> list[tuple[str, tuple[int, ...], str]]:
    """The layers of an MLP in order, ``(kind, sizes, activation name)``: one place for
    building it and for its state's shapes."""
    plan: list[tuple[str, tuple[int, ...], str]] = []
    width = int(in_features)
    for h, name in zip(hidden, names):
        pieces = int(activation_kwargs.get("pieces", 2)) if name == "maxout" else 1
        plan.append(("linear", (width, h * pieces), name))
        if batchnorm:
            plan.append(("batchnorm", (h * pieces,), name))
        plan.append(("activation", (h * pieces,), name))
        if dropout > 0:
            plan.append(("dropout", (), name))
        width = h
    plan.append(("linear", (width, int(out_features)), ""))
    return plan


_MLP_KEYS = ("in_features", "hidden", "out_features", "activation", "dropout", "batchnorm",
             "activation_kwargs")


#: Model types ``build_model`` rebuilds: class, accepted keys, required keys.
_MODELS: dict[str, tuple[type, tuple[str, ...], tuple[str, ...]]] = {
    "MLP": (MLP, _MLP_KEYS, ("in_features", "hidden", "out_features")),
    "ConvNet": (ConvNet, ("in_channels", "num_classes", "blocks", "batchnorm", "dropout"),
                ("in_channels", "num_classes", "blocks")),
}


def _whole(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"MLP config: {name} must be a whole number >= 1, got {value!r}")
    return value


def state_shapes(config: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    """The state dict's names and shapes of ``build_model(config)``, allocating nothing.

    A checkpoint is untrusted input: its architecture is checked against the stored
    tensors with this before a model of that architecture is built.

    >>> state_shapes({"in_features": 4, "hidden": [8], "out_features": 3})
    {'0.weight': (8, 4), '0.bias': (8,), '2.weight': (3, 8), '2.bias': (3,)}
    """
    cls, args = _checked_config(config)
    if cls is ConvNet:
        return convnet_state_shapes(args)
    hidden = args["hidden"]
    hidden = [hidden] if isinstance(hidden, int) and not isinstance(hidden, bool) else hidden
    if not isinstance(hidden, list):
        raise ValueError(f"MLP config: hidden must be a list of sizes, got {hidden!r}")
    hidden = [_whole("each hidden size", h) for h in hidden]
    activation = args.get("activation", "relu")
    if not isinstance(activation, (str, list)):
        raise ValueError(f"MLP config: activation must be a name or a list of names, "
                         f"got {activation!r}")
    kwargs = args.get("activation_kwargs") or {}
    if not isinstance(kwargs, dict):
        raise ValueError(f"MLP config: activation_kwargs must be a dict, got {kwargs!r}")
    names = _layer_activations(activation, len(hidden), kwargs)
    if "maxout" in names:
        _whole("maxout pieces", kwargs.get("pieces", 2))
    shapes: dict[str, tuple[int, ...]] = {}
    plan = _plan(_whole("in_features", args["in_features"]), hidden,
                 _whole("out_features", args["out_features"]), names, kwargs,
                 args.get("dropout", 0.0) or 0.0, bool(args.get("batchnorm", False)))
    for i, (kind, size, name) in enumerate(plan):
        if kind == "linear":
            shapes[f"{i}.weight"], shapes[f"{i}.bias"] = (size[1], size[0]), (size[1],)
        elif kind == "batchnorm":
            for key in ("weight", "bias", "running_mean", "running_var"):
                shapes[f"{i}.{key}"] = size
            shapes[f"{i}.num_batches_tracked"] = ()
        elif kind == "activation" and name == "prelu":
            shapes[f"{i}.weight"] = (_whole("prelu num_parameters",
                                            kwargs.get("num_parameters", 1)),)
    return shapes


def build_model(config: dict[str, Any]) -> Module:
    """Rebuild a model from its ``config()`` (checkpoints store it beside the weights).

    ``{"type": "MLP", "in_features": 3072, "hidden": [100], "out_features": 10, ...}``
    (``"type"`` defaults to ``"MLP"``; ``"hidden": []`` gives a linear classifier) or
    ``{"type": "ConvNet", "in_channels": 3, "num_classes": 10, "blocks": [32, "pool"]}``.
    """
    cls, args = _checked_config(config)
    return cls(**args)


def _checked_config(config: Any) -> tuple[type, dict[str, Any]]:
    """The model class of ``config`` and its constructor's arguments, or an error naming
    what is wrong."""
    if not isinstance(config, dict):
        raise TypeError(f"build_model: config must be a dict, got {type(config).__name__}")
    kind = config.get("type", "MLP")
    if kind not in _MODELS:
        raise ValueError(f"build_model: unknown model type {kind!r} "
                         f"(known: {', '.join(repr(k) for k in _MODELS)})")
    cls, keys, required = _MODELS[kind]
    args = {k: v for k, v in config.items() if k != "type"}
    unknown = sorted(set(args) - set(keys))
    if unknown:
        raise ValueError(f"build_model: unknown {kind} config keys {unknown}; "
                         f"valid keys are {list(keys)}")
    missing = [k for k in required if k not in args]
    if missing:
        raise ValueError(f"build_model: {kind} config is missing {missing}")
    return cls, args
