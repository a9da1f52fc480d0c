"""One playground tab: its data, its chainrule network, its optimizer and its training state.

A :class:`Session` is plain Python with no web in it: the server (``server.py``) owns one
per browser tab, feeds it the page's messages and sends back what :meth:`Session.frame`
returns. Everything here is bounded by :mod:`chainrule.playground.limits`.

The network is a real ``chainrule.nn.MLP``. The input features (X1, X2, X1^2, ..., the
lecture's polar r and theta) are a fixed transform of the 2D point in front of it::

    point (x1, x2) --features--> phi(x) in R^F --MLP--> scores in R^C (or a value in R)

Training is mini-batch gradient descent on the data loss plus the chosen regularization,
``L = 1/B sum_i L_i(f(phi(x_i)), y_i) + R(W)`` with ``R(W) = lambda sum |W|`` (L1) or the
library's ``nn.l2_penalty`` (L2), weights only (not biases).

Each frame runs ONE batched forward pass (under ``cr.no_grad``) over the 100x100 grid of the
input plane plus every data point; from it come the decision-boundary heat map, each
neuron's small heat map (every 4th grid point), the train/test loss and the accuracy.

>>> s = Session()
>>> s.step(5)
>>> f = s.frame()
>>> f["epoch"], f["train_loss"] > 0
(5, True)
"""

from __future__ import annotations

import base64
import math
import time
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np

import chainrule as cr
from chainrule.playground import limits
from chainrule.playground.limits import LimitError

__all__ = [
    "ACTIVATIONS",
    "CLASSIFICATION_DATASETS",
    "DATASETS",
    "FEATURES",
    "OPTIMIZERS",
    "REGRESSION_DATASETS",
    "Config",
    "Session",
    "feature_matrix",
    "make_dataset",
    "parse_csv",
]

#: Input features: name -> (label shown on the page, function of (x1, x2)).
FEATURES: dict[str, tuple[str, Any]] = {
    "x1": ("X1", lambda a, b: a),
    "x2": ("X2", lambda a, b: b),
    "x1sq": ("X1²", lambda a, b: a * a),
    "x2sq": ("X2²", lambda a, b: b * b),
    "x1x2": ("X1·X2", lambda a, b: a * b),
    "sinx1": ("sin X1", lambda a, b: np.sin(a)),
    "sinx2": ("sin X2", lambda a, b: np.sin(b)),
    "r": ("r", lambda a, b: np.sqrt(a * a + b * b)),
    "theta": ("θ", lambda a, b: np.arctan2(b, a)),
}
CLASSIFICATION_DATASETS = ("circle", "xor", "gauss", "spiral")
REGRESSION_DATASETS = ("plane", "multigauss")
DATASETS = (*CLASSIFICATION_DATASETS, *REGRESSION_DATASETS, "custom")
ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear", "leaky_relu", "elu")
OPTIMIZERS = ("sgd", "momentum", "rmsprop", "adam")
REGULARIZATIONS = ("none", "l1", "l2")
PROBLEMS = ("classification", "regression")
LOSSES = ("softmax", "svm")

# Which changes rebuild what: new data (and a new net), a new net, or nothing (live).
_DATA_KEYS = frozenset(
    {"dataset", "noise", "num_points", "train_ratio", "num_classes", "seed", "problem"}
)
_NET_KEYS = frozenset({"features", "hidden", "activation", "loss"})


@dataclass
class Config:
    """Everything that defines a playground setup (and what the page's URL carries).

    ``noise`` and ``train_ratio`` are percentages like the TensorFlow Playground's sliders;
    ``hidden`` lists the neurons of each hidden layer (``[]`` is a linear model).
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
    activation: str = "tanh"
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
        known = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise LimitError(f"config: unknown field(s) {', '.join(map(str, unknown))}")
        if changes.get("dataset") == "custom" and self.dataset != "custom":
            raise LimitError("dataset: 'custom' is what an uploaded CSV becomes; upload one")
        merged = {**self.to_dict(), **changes}
        return Config(**_validate(merged))


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
    out["activation"] = limits.check_choice("activation", c["activation"], ACTIVATIONS)
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


def feature_matrix(points: np.ndarray, features: list[str]) -> np.ndarray:
    """The input features of ``points`` ``(N, 2)``: ``(N, F)`` float32, columns in order.

    >>> feature_matrix(np.array([[1.0, 2.0]]), ["x1", "x1x2", "r"]).round(3)
    array([[1.   , 2.   , 2.236]], dtype=float32)
    """
    a = points[:, 0].astype(np.float64)
    b = points[:, 1].astype(np.float64)
    cols = [FEATURES[name][1](a, b) for name in features]
    return np.stack(cols, axis=1).astype(np.float32)


def make_dataset(
    name: str, n: int, noise: int, num_classes: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Points ``(n, 2)`` in the plane ``[-6, 6]^2`` and their labels (or regression targets).

    The classification sets come from :mod:`chainrule.data.toy` (``circle``: the two
    circles, ``xor``, ``gauss``: two Gaussian blobs, or ``num_classes`` blobs on a circle,
    ``spiral``: ``num_classes`` arms), scaled to the playground's plane. The regression
    sets are a tilted plane and a sum of signed Gaussian bumps, targets in ``[-1, 1]``.
    ``noise`` is a percentage (0-50) of each set's natural spread.

    >>> X, y = make_dataset("spiral", 300, 10, 3, seed=0)
    >>> X.shape, sorted(set(y.tolist()))
    ((300, 2), [0, 1, 2])
    """
    from chainrule.data import toy

    rng = np.random.default_rng(seed)
    level = noise / 100.0
    if name == "circle":
        X, y = toy.circles(n, noise=0.4 * level, factor=0.5, seed=seed)
        X = X * 4.0
    elif name == "xor":
        X, y = toy.xor(n, noise=0.4 * level, seed=seed)
        X = X * 5.0
    elif name == "gauss" and num_classes == 2:
        X, y = toy.gaussians(n, noise=0.25 + level, seed=seed)
        X = X * 2.5
    elif name == "gauss":
        y = np.arange(n) % num_classes
        angle = 2 * np.pi * y / num_classes
        centres = np.stack([np.cos(angle), np.sin(angle)], axis=1) * 3.5
        X = centres + rng.normal(0.0, 0.6 + 2.0 * level, size=(n, 2))
    elif name == "spiral":
        per_class = max(1, n // num_classes)
        X, y = toy.spiral(per_class, classes=num_classes, noise=1.0 * level, seed=seed)
        X = X * 5.0
    elif name in REGRESSION_DATASETS:
        X = rng.uniform(-5.0, 5.0, size=(n, 2))
        target = _regression_target(name, X)
        X = np.clip(X + rng.normal(0.0, 2.0 * level, size=X.shape), -5.0, 5.0)
        return X.astype(np.float32), target.astype(np.float32)
    else:
        raise LimitError(f"dataset: unknown data set {name!r}")
    X = np.clip(X, -limits.DOMAIN, limits.DOMAIN)
    return X.astype(np.float32), np.asarray(y, dtype=np.int64)


def _regression_target(name: str, X: np.ndarray) -> np.ndarray:
    if name == "plane":
        return np.clip((X[:, 0] + X[:, 1]) / 10.0, -1.0, 1.0)
    centers = np.array([[-2.5, -2.5, -1.0], [2.5, 2.5, -1.0], [-2.5, 2.5, 1.0], [2.5, -2.5, 1.0],
                        [0.0, 0.0, 0.6]])
    value = np.zeros(len(X))
    for cx, cy, sign in centers:
        value += sign * np.exp(-((X[:, 0] - cx) ** 2 + (X[:, 1] - cy) ** 2) / 4.0)
    return np.clip(value, -1.0, 1.0)


def parse_csv(text: str, problem: str) -> tuple[np.ndarray, np.ndarray]:
    """Points and labels from CSV text ``x1,x2,label`` (a header line is allowed).

    Classification labels are integers ``0..MAX_CLASSES-1``; regression targets are
    numbers in ``[-1, 1]``. Coordinates must lie in ``[-6, 6]``. Every problem is
    reported with its line number.

    >>> X, y = parse_csv("x1,x2,label\\n1,2,0\\n-1,0.5,1\\n", "classification")
    >>> X.shape, y.tolist()
    ((2, 2), [0, 1])
    """
    if not isinstance(text, str):
        raise LimitError("csv: expected the file's text")
    if len(text.encode("utf-8")) > limits.MAX_CSV_BYTES:
        raise LimitError(f"csv: the file is larger than {limits.MAX_CSV_BYTES} bytes")
    points: list[tuple[float, float]] = []
    labels: list[float] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        cells = [c.strip() for c in line.replace(";", ",").split(",")]
        if len(cells) != 3:
            raise LimitError(f"csv line {lineno}: expected 3 columns x1,x2,label, got {len(cells)}")
        try:
            x1, x2, lab = (float(c) for c in cells)
        except ValueError:
            if not points and lineno == 1:
                continue  # a header line
            raise LimitError(f"csv line {lineno}: not numbers: {line[:60]!r}") from None
        if not all(math.isfinite(v) for v in (x1, x2, lab)):
            raise LimitError(f"csv line {lineno}: values must be finite")
        if abs(x1) > limits.DOMAIN or abs(x2) > limits.DOMAIN:
            raise LimitError(
                f"csv line {lineno}: point ({x1}, {x2}) is outside [-{limits.DOMAIN:g}, "
                f"{limits.DOMAIN:g}]^2"
            )
        if problem == "classification":
            if lab != int(lab) or not 0 <= lab < limits.MAX_CLASSES:
                raise LimitError(
                    f"csv line {lineno}: label {lab:g} is not a class 0..{limits.MAX_CLASSES - 1}"
                )
        elif not -1.0 <= lab <= 1.0:
            raise LimitError(f"csv line {lineno}: target {lab:g} is outside [-1, 1]")
        points.append((x1, x2))
        labels.append(lab)
        if len(points) > limits.MAX_POINTS:
            raise LimitError(f"csv: more than {limits.MAX_POINTS} points")
    if len(points) < 2:
        raise LimitError("csv: need at least 2 points")
    X = np.asarray(points, dtype=np.float32)
    if problem == "classification":
        return X, np.asarray(labels, dtype=np.int64)
    return X, np.asarray(labels, dtype=np.float32)


def _b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a, dtype=np.uint8).tobytes()).decode("ascii")


def _unit_to_u8(v: np.ndarray) -> np.ndarray:
    """Values in [-1, 1] to bytes 0..255."""
    return np.round((np.clip(v, -1.0, 1.0) + 1.0) * 127.5).astype(np.uint8)


class Session:
    """A training session: data, model, optimizer, epoch counter, and what the page views.

    ``transform_view`` is ``None`` or ``(layer, i, j)``: then each frame also carries the
    plane as hidden layer ``layer`` sees it, neuron ``i`` against neuron ``j`` (ConvNetJS's
    view of how a layer warps the input space).
    """

    def __init__(self, config: Config | None = None) -> None:
        self.config = config or Config()
        self.resets = 0
        self.data_version = 0
        self.transform_view: tuple[int, int, int] | None = None
        self._compiled: dict[int, Any] | None = {}  # compiled training steps by batch size
        self._grid = self._make_grid()
        self.regenerate()

    # ---- data -------------------------------------------------------------------------
    def regenerate(self) -> None:
        """New points from the config (same seed: same points), a new split, a new net."""
        c = self.config
        if c.dataset == "custom" and hasattr(self, "X"):
            self._split()
        else:
            if c.dataset == "custom":
                self.config = c = Config(**{**c.to_dict(), "dataset": "circle"})
            self.X, self.y = make_dataset(c.dataset, c.num_points, c.noise, c.num_classes, c.seed)
            self._split()
        self.reset_net()

    def _split(self) -> None:
        rng = np.random.default_rng(self.config.seed + 7919)
        n = len(self.X)
        order = rng.permutation(n)
        n_train = max(1, min(n - 1, round(n * self.config.train_ratio / 100)))
        self.is_train = np.zeros(n, dtype=bool)
        self.is_train[order[:n_train]] = True
        self.data_version += 1

    def add_point(self, x: float, y: float, label: float) -> None:
        """Add a point of class (or target) ``label`` at ``(x, y)``; it joins the training set."""
        x = limits.check_float("x", x, -limits.DOMAIN, limits.DOMAIN)
        y = limits.check_float("y", y, -limits.DOMAIN, limits.DOMAIN)
        if len(self.X) >= limits.MAX_POINTS:
            raise LimitError(f"add_point: the data set already has {limits.MAX_POINTS} points")
        if self.config.problem == "classification":
            target: float = limits.check_int("label", label, 0, self.config.num_classes - 1)
        else:
            target = limits.check_float("label", label, -1.0, 1.0)
        self.X = np.concatenate([self.X, np.array([[x, y]], dtype=np.float32)])
        self.y = np.concatenate([self.y, np.array([target], dtype=self.y.dtype)])
        self.is_train = np.concatenate([self.is_train, [True]])
        self.data_version += 1

    def remove_point(self, x: float, y: float, radius: float = 0.3) -> bool:
        """Remove the point nearest ``(x, y)`` if it lies within ``radius``; True if one went."""
        x = limits.check_float("x", x, -limits.DOMAIN, limits.DOMAIN)
        y = limits.check_float("y", y, -limits.DOMAIN, limits.DOMAIN)
        if len(self.X) <= 2:
            return False
        d = np.hypot(self.X[:, 0] - x, self.X[:, 1] - y)
        i = int(np.argmin(d))
        if d[i] > radius:
            return False
        keep = np.arange(len(self.X)) != i
        self.X, self.y, self.is_train = self.X[keep], self.y[keep], self.is_train[keep]
        if not self.is_train.any():
            self.is_train[0] = True
        self.data_version += 1
        return True

    def load_csv(self, text: str) -> None:
        """Replace the data by an uploaded CSV (see :func:`parse_csv`); the net resets."""
        X, y = parse_csv(text, self.config.problem)
        num_classes = self.config.num_classes
        if self.config.problem == "classification":
            num_classes = max(2, int(y.max()) + 1)
        self.config = Config(**{**self.config.to_dict(), "dataset": "custom",
                                "num_classes": num_classes})
        self.X, self.y = X, y
        self._split()
        self.reset_net()

    def points(self) -> dict[str, Any]:
        """The data as the page draws it."""
        return {
            "type": "data",
            "version": self.data_version,
            "x": np.round(self.X, 4).tolist(),
            "y": self.y.tolist(),
            "train": self.is_train.astype(int).tolist(),
            "problem": self.config.problem,
            "num_classes": self.config.num_classes,
        }

    # ---- network ----------------------------------------------------------------------
    @property
    def num_outputs(self) -> int:
        return self.config.num_classes if self.config.problem == "classification" else 1

    def reset_net(self) -> None:
        """A freshly initialized net and optimizer (seeded: a reset is reproducible)."""
        from chainrule import nn
        from chainrule.tensor import get_rng_state, set_rng_state

        c = self.config
        state = get_rng_state()
        cr.manual_seed(c.seed * 1009 + self.resets)
        try:
            self.model = nn.MLP(len(c.features), list(c.hidden), self.num_outputs,
                                activation=c.activation)
        finally:
            set_rng_state(state)
        self.resets += 1
        self.linears = [m for m in self.model.modules() if isinstance(m, nn.Linear)]
        self.epoch = 0
        self.epoch_ms = 0.0
        self._rng = np.random.default_rng(c.seed + self.resets)
        self._build_optimizer()
        self._refresh_features()

    def _build_optimizer(self) -> None:
        from chainrule import optim

        self._compiled = {}
        c = self.config
        params = list(self.model.parameters())
        if c.optimizer == "sgd":
            self.optimizer = optim.SGD(params, lr=c.learning_rate)
        elif c.optimizer == "momentum":
            self.optimizer = optim.SGD(params, lr=c.learning_rate, momentum=0.9)
        elif c.optimizer == "rmsprop":
            self.optimizer = optim.RMSprop(params, lr=c.learning_rate)
        else:
            self.optimizer = optim.Adam(params, lr=c.learning_rate)

    def _refresh_features(self) -> None:
        self.phi = feature_matrix(self.X, self.config.features)
        self._grid_phi = feature_matrix(self._grid, self.config.features)

    def apply(self, changes: dict[str, Any]) -> str:
        """Apply config ``changes``; returns what was rebuilt: ``"data"``, ``"net"`` or ``"live"``.

        Data settings regenerate the points (and the net); architecture settings rebuild
        the net; the learning rate, optimizer, regularization and batch size change live,
        keeping the trained weights.
        """
        old = self.config
        new = old.updated(changes)
        changed = {k for k, v in new.to_dict().items() if old.to_dict()[k] != v}
        if new.dataset == "custom" and changed & {"problem", "num_classes"}:
            raise LimitError("config: an uploaded data set keeps its problem and classes")
        self.config = new
        if self._compiled is not None:
            self._compiled = {}  # the regularization or the loss may be part of the graph
        if changed & _DATA_KEYS:
            self.regenerate()
            return "data"
        if changed & _NET_KEYS:
            self.reset_net()
            return "net"
        if "optimizer" in changed:
            self._build_optimizer()
        elif "learning_rate" in changed:
            for group in self.optimizer.param_groups:
                group["lr"] = new.learning_rate
        return "live"

    def set_weight(self, layer: int, row: int, col: int, value: float) -> None:
        """Set weight ``W[row, col]`` of linear layer ``layer`` (``W`` is ``(out, in)``)."""
        lin = self._layer(layer)
        out_f, in_f = lin.weight.shape
        row = limits.check_int("row", row, 0, out_f - 1)
        col = limits.check_int("col", col, 0, in_f - 1)
        lin.weight.data[row, col] = limits.check_float("value", value, -100.0, 100.0)
        if self._compiled is not None:
            self._compiled = {}

    def set_bias(self, layer: int, row: int, value: float) -> None:
        """Set bias ``b[row]`` of linear layer ``layer``."""
        lin = self._layer(layer)
        row = limits.check_int("row", row, 0, lin.bias.shape[0] - 1)
        lin.bias.data[row] = limits.check_float("value", value, -100.0, 100.0)
        if self._compiled is not None:
            self._compiled = {}

    def _layer(self, layer: Any) -> Any:
        return self.linears[limits.check_int("layer", layer, 0, len(self.linears) - 1)]

    # ---- training ---------------------------------------------------------------------
    def _data_loss(self, scores: cr.Tensor, targets: np.ndarray) -> cr.Tensor:
        import chainrule.functional as F

        if self.config.problem == "regression":
            return F.mse_loss(scores, targets.reshape(-1, 1).astype(np.float32))
        if self.config.loss == "svm":
            return F.multiclass_hinge_loss(scores, targets)
        return F.cross_entropy(scores, targets)

    def _penalty(self) -> cr.Tensor | None:
        c = self.config
        if c.regularization == "none" or c.reg_rate == 0.0:
            return None
        if c.regularization == "l2":
            from chainrule import nn

            return nn.l2_penalty(self.model, c.reg_rate)
        total = None
        for lin in self.linears:
            term = cr.abs(lin.weight).sum()
            total = term if total is None else total + term
        return total * c.reg_rate if total is not None else None

    def objective(self, x: cr.Tensor, targets: Any) -> cr.Tensor:
        """The training objective on a batch: data loss + regularization ``R(W)``."""
        loss = self._data_loss(self.model(x), targets)
        penalty = self._penalty()
        return loss + penalty if penalty is not None else loss

    def loss_on(self, index: np.ndarray) -> cr.Tensor:
        """The training objective on the points ``index`` (an eager graph)."""
        return self.objective(cr.tensor(self.phi[index]), self.y[index])

    def step(self, epochs: int = 1) -> None:
        """Train ``epochs`` passes over the training points in shuffled mini-batches.

        Each mini-batch step is ``cr.compile``'d (traced once per batch size, then replayed
        with preallocated buffers: about 2x faster than building the graph every time on
        these tiny nets, same numbers to float rounding). Any change of the net, the
        optimizer, the loss or the regularization drops the compiled steps.
        """
        train_idx = np.flatnonzero(self.is_train)
        bs = self.config.batch_size
        started = time.perf_counter()
        for _ in range(epochs):
            order = self._rng.permutation(train_idx)
            for start in range(0, len(order), bs):
                self._train_batch(order[start:start + bs])
            self.epoch += 1
        if epochs > 0:
            self.epoch_ms = (time.perf_counter() - started) * 1000.0 / epochs

    def _train_batch(self, index: np.ndarray) -> None:
        if self._compiled is not None:
            step = self._compiled.get(len(index))
            if step is None:
                step = cr.compile(self.objective, self.optimizer, model=self.model)
                self._compiled[len(index)] = step
            try:
                step(cr.tensor(self.phi[index]), self.y[index])
                return
            except ValueError:  # a graph compile refuses to replay: train eagerly from now on
                self._compiled = None
        loss = self.loss_on(index)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()

    # ---- what the page sees -----------------------------------------------------------
    @staticmethod
    def _make_grid() -> np.ndarray:
        ticks = np.linspace(-limits.DOMAIN, limits.DOMAIN, limits.GRID, dtype=np.float32)
        gx, gy = np.meshgrid(ticks, ticks[::-1])  # row 0 is the top of the plane (y = +6)
        return np.stack([gx.ravel(), gy.ravel()], axis=1)

    def _forward_all(self) -> tuple[np.ndarray, list[np.ndarray]]:
        """One batched pass over grid + data: the output and every hidden layer's output.

        ``nn.MLP`` is a ``Sequential`` of ``Linear, activation, ..., Linear`` (a linear
        activation keeps its slot as ``Identity``), so each hidden layer's output is the
        value after each module that is not a ``Linear``.
        """
        from chainrule import nn

        h = cr.tensor(np.concatenate([self._grid_phi, self.phi]))
        hidden: list[np.ndarray] = []
        with cr.no_grad():
            for module in self.model.children():
                h = module(h)
                if not isinstance(module, nn.Linear):
                    hidden.append(h.data)
        return h.data, hidden

    def frame(self) -> dict[str, Any]:
        """The state the page draws: heat maps, losses, accuracy, weights (JSON-ready)."""
        out, hidden = self._forward_all()
        g = limits.GRID * limits.GRID
        grid_out, data_out = out[:g], out[g:]
        train, test = self.is_train, ~self.is_train
        c = self.config
        frame: dict[str, Any] = {"type": "frame", "epoch": self.epoch, "problem": c.problem}
        if c.problem == "classification":
            winner, p_winner = _softmax_winner(grid_out)
            k = grid_out.shape[1]
            conf = (p_winner - 1.0 / k) / (1.0 - 1.0 / k)
            frame["heat_class"] = _b64(winner)
            frame["heat_conf"] = _b64(np.round(np.clip(conf, 0, 1) * 255))
            pred = data_out.argmax(axis=1)
            frame["train_acc"] = _mean(pred[train] == self.y[train])
            frame["test_acc"] = _mean(pred[test] == self.y[test])
        else:
            frame["heat_value"] = _b64(_unit_to_u8(grid_out[:, 0]))
        frame["train_loss"] = self._loss_value(data_out[train], self.y[train])
        frame["test_loss"] = self._loss_value(data_out[test], self.y[test])
        frame["neurons"] = self._neuron_maps(hidden)
        frame["inputs"] = self._neuron_maps([self._grid_phi])[0]
        frame["weights"] = [np.round(lin.weight.data, 4).tolist() for lin in self.linears]
        frame["biases"] = [np.round(lin.bias.data, 4).tolist() for lin in self.linears]
        frame["epoch_ms"] = round(self.epoch_ms, 2)
        if self.transform_view is not None:
            frame["transform"] = self._transform(hidden, data_out)
        return frame

    def set_transform_view(self, layer: Any, i: Any, j: Any) -> None:
        """Show hidden layer ``layer`` as neuron ``i`` (horizontal) against neuron ``j``."""
        hidden = self.config.hidden
        if not hidden:
            raise LimitError("transform: the network has no hidden layer")
        layer = limits.check_int("layer", layer, 0, len(hidden) - 1)
        i = limits.check_int("x neuron", i, 0, hidden[layer] - 1)
        j = limits.check_int("y neuron", j, 0, hidden[layer] - 1)
        self.transform_view = (layer, i, j)

    def _transform(self, hidden: list[np.ndarray], data_out: np.ndarray) -> dict[str, Any] | None:
        """Grid lines of the plane and the data points, as two neurons of one layer see them."""
        assert self.transform_view is not None
        if not hidden:
            return None
        layer, i, j = self.transform_view
        layer = min(layer, len(hidden) - 1)  # the net may have shrunk under the view
        width = hidden[layer].shape[1]
        i, j = min(i, width - 1), min(j, width - 1)
        g = limits.GRID
        acts = hidden[layer]
        plane = acts[: g * g].reshape(g, g, -1)[:, :, [i, j]]
        every = np.linspace(0, g - 1, 11).round().astype(int)
        along = np.linspace(0, g - 1, 34).round().astype(int)
        rows = [plane[r, along] for r in every]  # lines of constant X2
        cols = [plane[along, c] for c in every]  # lines of constant X1
        points = acts[g * g:][:, [i, j]]
        return {
            "layer": layer, "x": i, "y": j,
            "lines": [np.round(line, 4).tolist() for line in rows + cols],
            "points": np.round(points, 4).tolist(),
        }

    def _loss_value(self, scores: np.ndarray, targets: np.ndarray) -> float | None:
        if len(targets) == 0:
            return None
        with cr.no_grad():
            value = float(self._data_loss(cr.tensor(scores), targets).item())
        return value if math.isfinite(value) else None

    @staticmethod
    def _neuron_maps(layers: list[np.ndarray]) -> list[list[str]]:
        """Each neuron's output on every 4th grid point, scaled by its largest magnitude."""
        step = limits.GRID // limits.NEURON_GRID
        g = limits.GRID
        maps = []
        for acts in layers:
            grid = acts[: g * g].reshape(g, g, -1)[::step, ::step]
            scale = np.abs(grid).max(axis=(0, 1))
            scale[scale == 0] = 1.0
            scaled = _unit_to_u8(grid / scale)
            maps.append([_b64(scaled[:, :, j]) for j in range(scaled.shape[2])])
        return maps

    def backprop_graph(self, index: int) -> dict[str, Any]:
        """The computational graph of the loss on point ``index`` with values and gradients.

        Uses the explainer (``chainrule.explain.trace`` / ``to_svg``), which runs its own
        reverse pass: the parameters' ``.grad`` is left alone, so training is not disturbed.
        """
        from chainrule.explain import trace
        from chainrule.explain.svg import to_svg

        index = limits.check_int("index", index, 0, len(self.X) - 1)
        x = cr.tensor(self.phi[index:index + 1])
        names: dict[str, cr.Tensor] = {"x": x}
        for i, lin in enumerate(self.linears, start=1):
            names[f"W{i}"] = lin.weight
            names[f"b{i}"] = lin.bias
        scores = self.model(x)
        loss = self._data_loss(scores, self.y[index:index + 1])
        penalty = self._penalty()
        if penalty is not None:
            loss = loss + penalty
        title = f"loss on point #{index} = {float(loss.item()):.4f}"
        svg = to_svg(trace(loss, names=names, title=title))
        point = self.X[index].tolist()
        return {"type": "backprop", "index": index, "point": point, "label": self.y[index].item(),
                "loss": float(loss.item()), "svg": svg}


def _softmax_winner(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row of ``scores`` ``(N, K)``: the winning class and its softmax probability.

    ``p_win = 1 / sum_k exp(s_k - s_max)``. Written as a loop over the few classes:
    NumPy's reductions along a short last axis are slow, and this runs every frame.
    """
    best = scores[:, 0].copy()
    winner = np.zeros(len(scores), dtype=np.uint8)
    for k in range(1, scores.shape[1]):
        better = scores[:, k] > best
        best[better] = scores[better, k]
        winner[better] = k
    total = np.zeros_like(best)
    for k in range(scores.shape[1]):
        total += np.exp(scores[:, k] - best)
    return winner, 1.0 / total


def _mean(mask: np.ndarray) -> float | None:
    return float(mask.mean()) if mask.size else None


