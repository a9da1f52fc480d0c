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
from chainrule.nn.convnet import ConvNet
from chainrule.nn.layers import Dropout, Linear, Sequential
from chainrule.nn.module import Module
from chainrule.nn.normalization import BatchNorm1d

__all__ = ["MLP", "build_model"]


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
        width = int(in_features)
        for h, name in zip(hidden_sizes, names):
            pieces = int(kwargs.get("pieces", 2)) if name == "maxout" else 1
            layers.append(Linear(width, h * pieces, dtype=dtype, device=device))
            if batchnorm:
                layers.append(BatchNorm1d(h * pieces, dtype=dtype, device=device))
            act = make_activation(name, **kwargs)
            if dtype is not None or device is not None:
                act.to(device=device, dtype=dtype)
            layers.append(act)
            if dropout > 0:
                layers.append(Dropout(dropout))
            width = h
        layers.append(Linear(width, int(out_features), dtype=dtype, device=device))
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


#: Model types ``build_model`` rebuilds: class, accepted keys, required keys.
_MODELS: dict[str, tuple[type, tuple[str, ...], tuple[str, ...]]] = {
    "MLP": (MLP, ("in_features", "hidden", "out_features", "activation", "dropout",
                  "batchnorm", "activation_kwargs"), ("in_features", "hidden", "out_features")),
    "ConvNet": (ConvNet, ("in_channels", "num_classes", "blocks", "batchnorm", "dropout"),
                ("in_channels", "num_classes", "blocks")),
}


def build_model(config: dict[str, Any]) -> Module:
    """Rebuild a model from its ``config()`` (checkpoints store it beside the weights).

    ``{"type": "MLP", "in_features": 3072, "hidden": [100], "out_features": 10, ...}``
    (``"type"`` defaults to ``"MLP"``; ``"hidden": []`` gives a linear classifier) or
    ``{"type": "ConvNet", "in_channels": 3, "num_classes": 10, "blocks": [32, "pool"]}``.
    """
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
    return cls(**args)
