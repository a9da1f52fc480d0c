"""A playground setup: the :class:`Config` a page edits, its validation, and the choices offered.

A page sends changes as JSON; :meth:`Config.updated` checks every field against
:mod:`chainrule.playground.limits` and the choices below, so a session only ever sees a
valid setup. The activations, optimizers and losses offered are names of the library's
registries (``nn.ACTIVATIONS``, ``optim.OPTIMIZERS``, ``nn.LOSSES``), which build them.
Besides the fields, a change may carry ``network``: a typed definition of the layers
(:mod:`chainrule.playground.network`), which sets ``hidden``, ``activation`` and maybe
``loss``.

>>> Config().updated({"hidden": [8, 8], "activation": "relu"}).hidden
[8, 8]
>>> Config().updated({"network": "fc 8 relu\\nfc 4 maxout"}).activation
['relu', 'maxout']
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from chainrule import nn, optim
from chainrule.playground import limits
from chainrule.playground.datasets import CLASSIFICATION_DATASETS, FEATURES, REGRESSION_DATASETS
from chainrule.playground.limits import LimitError
from chainrule.playground.network import parse_network

__all__ = [
    "ACTIVATIONS",
    "DATA_FIELDS",
    "LOSSES",
    "NET_FIELDS",
    "OPTIMIZERS",
    "PROBLEMS",
    "REGULARIZATIONS",
    "Config",
]


def _offered(names: tuple[str, ...], registry: Mapping[str, Any], where: str) -> tuple[str, ...]:
    """``names`` (the page's choices, in its order), each a key of the library's ``registry``."""
    missing = [name for name in names if name not in registry]
    if missing:
        raise KeyError(f"playground: {', '.join(missing)} not in {where} ({', '.join(registry)})")
    return names


#: The activations the page offers: names of ``nn.ACTIVATIONS``, in the page's order.
ACTIVATIONS = _offered(("relu", "tanh", "sigmoid", "linear", "leaky_relu", "elu", "prelu",
                        "maxout"), nn.ACTIVATIONS, "nn.ACTIVATIONS")
#: The optimizers the page offers: names of ``optim.OPTIMIZERS``, in the page's order.
OPTIMIZERS = _offered(("sgd", "momentum", "rmsprop", "adam"), optim.OPTIMIZERS,
                      "optim.OPTIMIZERS")
#: The classification losses: every name of ``nn.LOSSES`` (softmax, SVM).
LOSSES = tuple(nn.LOSSES)
REGULARIZATIONS = ("none", "l1", "l2")
PROBLEMS = ("classification", "regression")

#: Fields whose change regenerates the data (and the net).
DATA_FIELDS = frozenset(
    {"dataset", "noise", "num_points", "train_ratio", "num_classes", "seed", "problem"}
)
#: Fields whose change rebuilds the net; every other field changes live.
NET_FIELDS = frozenset({"features", "hidden", "activation", "loss"})


@dataclass
class Config:
    """Everything that defines a playground setup (and what the page's URL carries).

    ``noise`` and ``train_ratio`` are percentages like the TensorFlow Playground's sliders;
    ``hidden`` lists the neurons of each hidden layer (``[]`` is a linear model);
    ``activation`` names one activation for every hidden layer, or a list of one per layer
    (a list whose names are all the same becomes that name).
    """

    dataset: str = "circle"
    problem: str = "classification"
    num_classes: int = 2
    noise: int = 10
    num_points: int = 400
    train_ratio: int = 50
    seed: int = 1
    batch_size: int = 10
    features: list[str] = field(default_factory=lambda: ["x1", "x2"])
    hidden: list[int] = field(default_factory=lambda: [4, 2])
    activation: str | list[str] = "tanh"
    learning_rate: float = 0.1
    optimizer: str = "sgd"
    regularization: str = "none"
    reg_rate: float = 0.0
    loss: str = "softmax"
    steps_per_frame: int = 1

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready copy."""
        return asdict(self)

    def updated(self, changes: dict[str, Any]) -> Config:
        """A validated copy with ``changes`` applied; a ``LimitError`` names any bad field."""
        if not isinstance(changes, dict):
            raise LimitError(f"config: expected an object, got {type(changes).__name__}")
        known = {f.name for f in fields(self)} | {"network"}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise LimitError(f"config: unknown field(s) {', '.join(map(str, unknown))}")
        if changes.get("dataset") == "custom" and self.dataset != "custom":
            raise LimitError("dataset: 'custom' is what an uploaded CSV becomes; upload one")
        changes = dict(changes)
        text = changes.pop("network", None)
        merged = {**self.to_dict(), **changes}
        if "activation" not in changes and "hidden" in changes:
            merged["activation"] = _resized(self.activation, changes["hidden"])
        if text is not None:
            if {"hidden", "activation"} & set(changes):
                raise LimitError("network: give the definition or hidden/activation, not both")
            merged = _validate(merged)  # the features, problem and classes it must match
            spec = parse_network(text, features=len(merged["features"]),
                                 problem=merged["problem"], num_classes=merged["num_classes"],
                                 activations=ACTIVATIONS)
            merged.update(hidden=spec.hidden, activation=spec.activation)
            if spec.loss is not None:
                merged["loss"] = spec.loss
        return Config(**_validate(merged))


def _resized(activation: str | list[str], hidden: Any) -> str | list[str]:
    """Per-layer activations after layers were added or removed: new layers take the last."""
    if isinstance(activation, str) or not isinstance(hidden, list) or not activation:
        return activation
    return (activation + [activation[-1]] * len(hidden))[:len(hidden)]


def _check_activation(value: Any, layers: int) -> str | list[str]:
    """One name, or one per hidden layer; a list of equal names becomes the name."""
    if isinstance(value, str):
        return limits.check_choice("activation", value, ACTIVATIONS)
    if not isinstance(value, list) or len(value) != layers:
        raise LimitError(f"activation: expected a name or a list of {layers} names (one per "
                         "hidden layer)")
    names = [limits.check_choice("activation", name, ACTIVATIONS) for name in value]
    return names[0] if len(set(names)) == 1 else names


def _validate(c: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    out["problem"] = limits.check_choice("problem", c["problem"], PROBLEMS)
    family = CLASSIFICATION_DATASETS if out["problem"] == "classification" else REGRESSION_DATASETS
    out["dataset"] = limits.check_choice("dataset", c["dataset"], (*family, "custom"))
    out["num_classes"] = limits.check_int("num_classes", c["num_classes"], 2, limits.MAX_CLASSES)
    if out["dataset"] in ("circle", "xor"):
        out["num_classes"] = 2
    out["noise"] = limits.check_int("noise", c["noise"], 0, 50)
    out["num_points"] = limits.check_int("num_points", c["num_points"], 20, limits.MAX_POINTS)
    out["train_ratio"] = limits.check_int("train_ratio", c["train_ratio"], 10, 90)
    out["seed"] = limits.check_int("seed", c["seed"], 0, 2**31 - 1)
    out["batch_size"] = limits.check_int("batch_size", c["batch_size"], 1, limits.MAX_BATCH)
    feats = c["features"]
    if not isinstance(feats, list) or not feats:
        raise LimitError("features: expected a non-empty list of feature names")
    for name in feats:
        limits.check_choice("features", name, tuple(FEATURES))
    out["features"] = [name for name in FEATURES if name in feats]
    hidden = c["hidden"]
    if not isinstance(hidden, list) or len(hidden) > limits.MAX_LAYERS:
        raise LimitError(f"hidden: expected a list of at most {limits.MAX_LAYERS} layer sizes")
    out["hidden"] = [limits.check_int("hidden", h, 1, limits.MAX_NEURONS) for h in hidden]
    out["activation"] = _check_activation(c["activation"], len(out["hidden"]))
    out["learning_rate"] = limits.check_float("learning_rate", c["learning_rate"], 1e-6, 10.0)
    out["optimizer"] = limits.check_choice("optimizer", c["optimizer"], OPTIMIZERS)
    out["regularization"] = limits.check_choice(
        "regularization", c["regularization"], REGULARIZATIONS
    )
    out["reg_rate"] = limits.check_float("reg_rate", c["reg_rate"], 0.0, 10.0)
    out["loss"] = limits.check_choice("loss", c["loss"], LOSSES)
    out["steps_per_frame"] = limits.check_int(
        "steps_per_frame", c["steps_per_frame"], 1, limits.MAX_STEPS_PER_FRAME
    )
    return out
