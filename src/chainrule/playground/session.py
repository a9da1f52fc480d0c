"""One playground tab: its data, its chainrule network, its optimizer and its training state.

A :class:`Session` is plain Python with no web in it: the server (``server.py``) owns one
per browser tab, feeds it the page's messages and sends back what :meth:`Session.frame`
returns. Everything here is bounded by :mod:`chainrule.playground.limits`; the setup is a
validated :class:`~chainrule.playground.config.Config`, the points come from
:mod:`chainrule.playground.datasets` and the pictures of a frame from
:mod:`chainrule.playground.frames`.

The network is a real ``chainrule.nn.MLP``. The input features (X1, X2, X1^2, ..., the
lecture's polar r and theta) are a fixed transform of the 2D point in front of it::

    point (x1, x2) --features--> phi(x) in R^F --MLP--> scores in R^C (or a value in R)

Training is mini-batch gradient descent on the data loss plus the chosen regularization,
``L = 1/B sum_i L_i(f(phi(x_i)), y_i) + R(W)`` with the library's ``nn.l1_penalty``
(``lambda sum |W|``) or ``nn.l2_penalty`` (``lambda sum W^2``), weights only (not biases).

Training can diverge (a learning rate of 10 on a regression): once a weight is NaN or
infinite the session is :attr:`Session.diverged`; its frames still draw (the non-finite
values as 0) and say ``"diverged": true`` so the page shows the loss as NaN, and training
stays stopped until Reset or a new setting (either rebuilds the net).

>>> s = Session()
>>> s.step(5)
>>> f = s.frame()
>>> f["epoch"], f["train_loss"] > 0
(5, True)
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

import chainrule as cr
import chainrule.functional as F
from chainrule import nn, optim
from chainrule.compiler.fallback import TrainStep
from chainrule.playground import frames, limits
from chainrule.playground.config import DATA_FIELDS, NET_FIELDS, Config
from chainrule.playground.datasets import feature_matrix, make_dataset, parse_csv
from chainrule.playground.limits import LimitError
from chainrule.random import get_rng_state, set_rng_state

__all__ = ["Session"]


class Session:
    """A training session: data, model, optimizer, epoch counter, and what the page views.

    ``transform_view`` is ``None`` or ``(layer, i, j)``: then each frame also carries the
    plane as hidden layer ``layer`` sees it, neuron ``i`` against neuron ``j`` (ConvNetJS's
    view of how a layer warps the input space). ``compile_steps``: train with compiled
    steps (the default) or eagerly.
    """

    def __init__(self, config: Config | None = None) -> None:
        self.config = config or Config()
        self.resets = 0
        self.data_version = 0
        self.transform_view: tuple[int, int, int] | None = None
        self.compile_steps = True
        self.diverged = False
        self._train_step: TrainStep | None = None
        self._grid = frames.plane_grid()
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
        self._points_edited()

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
        self._points_edited()
        return True

    def _points_edited(self) -> None:
        """A point was added or removed: its features follow, the page gets a new version."""
        self.phi = feature_matrix(self.X, self.config.features)
        self.data_version += 1

    def load_csv(self, text: str) -> None:
        """Replace the data by an uploaded CSV (see :func:`.datasets.parse_csv`); the net resets."""
        X, y = parse_csv(text, self.config.problem)
        num_classes = self.config.num_classes
        if self.config.problem == "classification":
            if len(np.unique(y)) < 2:  # 100% accuracy whatever the net learns: meaningless
                raise LimitError(f"csv: every point is of class {int(y[0])}; a classifier "
                                 "needs points of at least 2 classes")
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
        self.criterion = nn.loss(c.loss)
        self.epoch = 0
        self.epoch_ms = 0.0
        self.diverged = False
        self._rng = np.random.default_rng(c.seed + self.resets)
        self._build_optimizer()
        self._refresh_features()

    def _build_optimizer(self) -> None:
        c = self.config
        self.optimizer = optim.make_optimizer(c.optimizer, list(self.model.parameters()),
                                              c.learning_rate)
        self._train_step = None

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
        self._train_step = None  # the regularization or the loss may be part of its graph
        if changed & DATA_FIELDS:
            self.regenerate()
            return "data"
        if changed & NET_FIELDS or (changed and self.diverged):
            self.reset_net()  # a diverged net's NaN weights cannot learn again: start anew
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
        self._train_step = None  # a compiled step may hold packed copies of the weights
        self.diverged = not self._finite()

    def set_bias(self, layer: int, row: int, value: float) -> None:
        """Set bias ``b[row]`` of linear layer ``layer``."""
        lin = self._layer(layer)
        row = limits.check_int("row", row, 0, lin.bias.shape[0] - 1)
        lin.bias.data[row] = limits.check_float("value", value, -100.0, 100.0)
        self._train_step = None
        self.diverged = not self._finite()

    def _layer(self, layer: Any) -> Any:
        return self.linears[limits.check_int("layer", layer, 0, len(self.linears) - 1)]

    # ---- training ---------------------------------------------------------------------
    def _data_loss(self, scores: cr.Tensor, targets: np.ndarray) -> cr.Tensor:
        if self.config.problem == "regression":
            return F.mse_loss(scores, targets.reshape(-1, 1).astype(np.float32))
        return self.criterion(scores, targets)

    def _penalty(self) -> cr.Tensor | None:
        c = self.config
        if c.regularization == "none" or c.reg_rate == 0.0:
            return None
        if c.regularization == "l2":
            return nn.l2_penalty(self.model, c.reg_rate)
        return nn.l1_penalty(self.model, c.reg_rate)

    def objective(self, x: cr.Tensor, targets: Any) -> cr.Tensor:
        """The training objective on a batch: data loss + regularization ``R(W)``."""
        loss = self._data_loss(self.model(x), targets)
        penalty = self._penalty()
        return loss + penalty if penalty is not None else loss

    def step(self, epochs: int = 1) -> None:
        """Train ``epochs`` passes over the training points in shuffled mini-batches.

        Each mini-batch step is ``cr.compile``'d (traced once per batch size, then replayed
        with preallocated buffers: about 2x faster than building the graph every time on
        these tiny nets, same numbers to float rounding), through a
        :class:`~chainrule.compiler.fallback.TrainStep` that trains eagerly if the compiler
        refuses. Any change of the net, the optimizer, the loss, the regularization or a
        weight drops the step; the next batch builds a new one.
        """
        if self.diverged:
            raise LimitError("the network diverged (its loss is NaN): press Reset or change a "
                             "setting (a lower learning rate) to start again")
        train_idx = np.flatnonzero(self.is_train)
        bs = self.config.batch_size
        started = time.perf_counter()
        done = 0
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            while done < epochs and not self.diverged:
                order = self._rng.permutation(train_idx)
                for start in range(0, len(order), bs):
                    self._train_batch(order[start:start + bs])
                self.epoch += 1
                done += 1
                self.diverged = not self._finite()
        if done > 0:
            self.epoch_ms = (time.perf_counter() - started) * 1000.0 / done

    def _finite(self) -> bool:
        """Whether every weight and bias is a finite number (checked after each epoch)."""
        return all(np.isfinite(p.data).all() for p in self.model.parameters())

    def _train_batch(self, index: np.ndarray) -> None:
        if self._train_step is None:
            self._train_step = TrainStep(self.objective, self.optimizer, model=self.model,
                                         compiled=self.compile_steps)
        self._train_step(cr.tensor(self.phi[index]), self.y[index])

    # ---- what the page sees -----------------------------------------------------------
    def frame(self) -> dict[str, Any]:
        """The state the page draws: heat maps, losses, accuracy, weights (JSON-ready).

        One batched forward pass over the grid of the plane and every data point.
        """
        with np.errstate(over="ignore", invalid="ignore"):
            out, hidden = frames.forward_all(self.model,
                                             np.concatenate([self._grid_phi, self.phi]))
        g = limits.GRID * limits.GRID
        raw_data_out = out[g:]
        if self.diverged:  # draw what is left; the page shows the loss as NaN
            out, hidden = _finite(out), [_finite(h) for h in hidden]
        grid_out, data_out = out[:g], out[g:]
        train, test = self.is_train, ~self.is_train
        c = self.config
        frame: dict[str, Any] = {"type": "frame", "epoch": self.epoch, "problem": c.problem}
        frame.update(frames.heat_maps(grid_out, c.problem))
        if c.problem == "classification":
            pred = data_out.argmax(axis=1)
            frame["train_acc"] = frames.accuracy(pred[train] == self.y[train])
            frame["test_acc"] = frames.accuracy(pred[test] == self.y[test])
        frame["train_loss"] = self._loss_value(raw_data_out[train], self.y[train])
        frame["test_loss"] = self._loss_value(raw_data_out[test], self.y[test])
        frame["neurons"] = frames.neuron_maps(hidden)
        frame["inputs"] = frames.neuron_maps([self._grid_phi])[0]
        frame["weights"] = [np.round(_finite(lin.weight.data), 4).tolist() for lin in self.linears]
        frame["biases"] = [np.round(_finite(lin.bias.data), 4).tolist() for lin in self.linears]
        frame["epoch_ms"] = round(self.epoch_ms, 2)
        frame["diverged"] = self.diverged
        if self.transform_view is not None:
            frame["transform"] = frames.transform_lines(hidden, self.transform_view)
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

    def _loss_value(self, scores: np.ndarray, targets: np.ndarray) -> float | None:
        if len(targets) == 0:
            return None
        with cr.no_grad(), np.errstate(over="ignore", invalid="ignore"):
            value = float(self._data_loss(cr.tensor(scores), targets).item())
        return value if math.isfinite(value) else None

    def backprop_graph(self, index: int) -> dict[str, Any]:
        """The computational graph of the loss on point ``index`` with values and gradients.

        Uses the explainer (``chainrule.explain.trace`` / ``to_svg``), which collects the
        gradients instead of accumulating them: the parameters' ``.grad`` is left alone, so
        training is not disturbed.
        """
        from chainrule.explain import trace
        from chainrule.explain.svg import to_svg

        index = limits.check_int("index", index, 0, len(self.X) - 1)
        x = cr.tensor(self.phi[index:index + 1])
        names: dict[str, cr.Tensor] = {"x": x}
        for i, lin in enumerate(self.linears, start=1):
            names[f"W{i}"] = lin.weight
            names[f"b{i}"] = lin.bias
        loss = self.objective(x, self.y[index:index + 1])
        title = f"loss on point #{index} = {float(loss.item()):.4f}"
        svg = to_svg(trace(loss, names=names, title=title))
        point = self.X[index].tolist()
        return {"type": "backprop", "index": index, "point": point, "label": self.y[index].item(),
                "loss": float(loss.item()), "svg": svg}


def _finite(a: np.ndarray) -> np.ndarray:
    """``a`` with NaN and infinities as 0 (what a diverged net's frame can still draw)."""
    return a if np.isfinite(a).all() else np.nan_to_num(a, nan=0.0, posinf=0.0, neginf=0.0)
