"""The training loop: minibatch SGD over epochs, with validation, early stopping and keep-best.

One step is the lecture's loop: scores = model(x); L = data loss + lambda * R(W);
``L.backward()``; ``optimizer.step()``. An epoch is one pass over the shuffled training set.
After each epoch the trainer measures validation accuracy, steps the learning-rate schedule,
records a row of :class:`History` and calls the callbacks.

>>> import chainrule as cr
>>> model = cr.nn.MLP(64, [100], 10)
>>> trainer = Trainer(model, cr.nn.CrossEntropyLoss(), cr.optim.Adam(model.parameters(), lr=1e-3))
>>> history = trainer.fit((X_train, y_train), (X_val, y_val), epochs=10)   # doctest: +SKIP
>>> history.val_acc[-1]                                                    # doctest: +SKIP
0.975
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np

from chainrule import backend
from chainrule.compiler.fallback import TrainStep
from chainrule.denormals import flushing_denormals
from chainrule.errors import DataError, DivergenceError
from chainrule.train.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from chainrule.train.history import History
from chainrule.train.metrics import as_arrays, evaluate, model_dtype, predict_scores, r2_score
from chainrule.train.progress import progress_bar

__all__ = ["Callback", "Trainer"]


class Callback:
    """Hooks the trainer calls; override the ones you need.

    ``logs`` of ``on_epoch_end`` holds the epoch's row (``epoch``, ``train_loss``,
    ``train_acc``, ``val_acc``, ``lr``, ``seconds``). Set ``trainer.stop_training = True`` to
    end the run after the current epoch. A plain function ``f(trainer, epoch, logs)`` given as
    a callback is called as ``on_epoch_end``.
    """

    def on_train_begin(self, trainer: Trainer) -> None:
        """Before the first epoch of :meth:`Trainer.fit`."""

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict) -> None:
        """After epoch ``epoch`` (1-based) was measured and recorded."""

    def on_batch_end(self, trainer: Trainer, step: int, logs: dict) -> None:
        """After each optimizer step; ``logs`` has the batch's ``loss`` and ``batch_size``."""

    def on_train_end(self, trainer: Trainer) -> None:
        """After the last epoch (and after keep-best restored the best weights)."""


class _FunctionCallback(Callback):
    def __init__(self, fn: Callable[[Trainer, int, dict], Any]) -> None:
        self.fn = fn

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict) -> None:
        self.fn(trainer, epoch, logs)


def _weights(model: Any) -> dict[str, np.ndarray]:
    return {k: np.array(getattr(v, "data", v), copy=True) for k, v in model.state_dict().items()}


def _current_lr(optimizer: Any) -> float:
    groups = getattr(optimizer, "param_groups", None)
    if groups:
        return float(groups[0]["lr"])
    return float(getattr(optimizer, "lr", math.nan))


class Trainer:
    """Train ``model`` with ``loss`` and ``optimizer`` (and an optional lr ``scheduler``).

    Parameters
    ----------
    batch_size, seed:
        Minibatch size and the seed of the shuffling when ``fit`` gets arrays.
    reg:
        L2 strength ``lambda``: the loss is ``data loss + lambda * sum W^2`` over the
        weight matrices (biases are not regularized), the lecture's ``R(W)``.
    early_stopping:
        Patience in epochs: stop when validation accuracy did not improve for that many
        epochs (``None``: never stop early). Needs validation data.
    keep_best:
        At the end, put back the weights of the epoch with the best validation accuracy
        (without validation data the last epoch's weights stay).
    callbacks:
        :class:`Callback` objects or functions ``f(trainer, epoch, logs)``.
    progress:
        Show a progress bar per epoch (rich) and one summary line per epoch.
    scheduler_interval:
        ``'epoch'`` (default) steps the scheduler after each epoch, ``'step'`` after each
        optimizer step (for schedules whose ``T`` counts iterations).
    compile:
        Run each training step through :func:`chainrule.compile` (traced once, replayed
        with preallocated buffers). Steps that cannot be replayed (a module with Python
        side effects, ``Module.updates_in_training``; a model on a GPU) fall back to the
        eager step by themselves; ``False`` always uses the eager step.
    device:
        Move the model there first (``'cuda'``; its optimizer's state follows). Batches
        always go to the model's device; checkpoints are written from host memory, so
        one written on a GPU loads on a CPU.
    task:
        ``'classification'`` (integer labels; the validation score is accuracy) or
        ``'regression'`` (real-valued targets ``(N,)`` or ``(N, k)``; the validation score,
        kept in ``history.val_acc``, is R² and ``train_acc`` is ``nan``). Keep-best and
        early stopping maximize the validation score.

    Inputs given as arrays are fed in the model's floating type (its parameters' dtype:
    float32 unless the model was made in float64), whatever the arrays' own dtype.
    distributed:
        Data-parallel training over the ranks of :mod:`chainrule.distributed` (``None``,
        the default: when :func:`~chainrule.distributed.init` found more than one rank).
        ``batch_size`` is then per rank (the global batch is K x ``batch_size``; nothing is
        scaled), the data given as arrays is sharded, gradients are averaged, the epoch's
        metrics are summed over the ranks, only rank 0 shows progress and writes
        checkpoints; see :mod:`chainrule.distributed.training` and docs/distributed.md.
    flush_denormal:
        Flush subnormal floats to zero while ``fit`` runs, as ``torch.set_flush_denormal``
        (x86 computes with them ~20x slower; :mod:`chainrule.denormals`).
    """

    def __init__(
        self,
        model: Any,
        loss: Callable[..., Any],
        optimizer: Any,
        scheduler: Any = None,
        *,
        batch_size: int = 128,
        seed: int = 0,
        reg: float = 0.0,
        early_stopping: int | None = None,
        keep_best: bool = True,
        callbacks: Iterable[Callback | Callable[..., Any]] = (),
        progress: bool = True,
        scheduler_interval: str = "epoch",
        console: Any = None,
        compile: bool = True,
        device: Any = None,
        task: str = "classification",
        distributed: bool | None = None,
        flush_denormal: bool = True,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"Trainer: batch_size must be >= 1, got {batch_size}")
        if reg < 0:
            raise ValueError(f"Trainer: reg (L2 strength) must be >= 0, got {reg}")
        if early_stopping is not None and early_stopping < 1:
            raise ValueError(f"Trainer: early_stopping is a patience in epochs (>= 1), "
                             f"got {early_stopping}")
        if task not in ("classification", "regression"):
            raise ValueError(f"Trainer: task must be 'classification' or 'regression', "
                             f"got {task!r}")
        if scheduler_interval not in ("epoch", "step"):
            raise ValueError(f"Trainer: scheduler_interval must be 'epoch' or 'step', "
                             f"got {scheduler_interval!r}")
        if device is not None:
            model.to(backend.require_device(device))
        self.model = model
        self.loss = loss
        self.optimizer = optimizer
        self.scheduler = scheduler
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self.reg = float(reg)
        self.early_stopping = early_stopping
        self.keep_best = keep_best
        self.callbacks: list[Callback] = [
            c if isinstance(c, Callback) else _FunctionCallback(c) for c in callbacks
        ]
        self.progress = progress
        self.scheduler_interval = scheduler_interval
        self.console = console
        self.task = task
        self.history = History()
        self.epoch = 0  # epochs completed
        self.step_count = 0
        self.best_val_acc = -math.inf
        self.best_epoch: int | None = None
        self.best_state: dict[str, np.ndarray] | None = None
        self.epochs_without_improvement = 0
        self.stop_training = False
        self.loader: Any = None
        self._train_arg: Any = None
        self._last_state: dict[str, np.ndarray] | None = None
        self._pending_loader_state: dict | None = None
        self._parallel = _data_parallel(distributed)
        if self._parallel is not None:
            self.progress = progress and self._parallel.rank == 0
        # The training step (compiled unless compile=False): made on first use.
        self._compile = bool(compile)
        self._compiled: TrainStep | None = None
        self.flush_denormal = bool(flush_denormal)

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict:
        """Counters and early-stopping bookkeeping (the weights are saved separately)."""
        return {
            "epoch": self.epoch,
            "step_count": self.step_count,
            "best_val_acc": None if math.isinf(self.best_val_acc) else self.best_val_acc,
            "best_epoch": self.best_epoch,
            "epochs_without_improvement": self.epochs_without_improvement,
            "history": self.history.to_dict(),
        }

    def load_state_dict(self, state: dict) -> None:
        self.epoch = int(state["epoch"])
        self.step_count = int(state.get("step_count", 0))
        best = state.get("best_val_acc")
        self.best_val_acc = -math.inf if best is None else float(best)
        self.best_epoch = state.get("best_epoch")
        self.epochs_without_improvement = int(state.get("epochs_without_improvement", 0))
        self.history = History.from_dict(state.get("history"))

    def inference_weights(self) -> dict[str, np.ndarray]:
        """The weights to predict with now: the best epoch's under keep-best, else the current."""
        if self.keep_best and self.best_state is not None:
            return self.best_state
        return _weights(self.model)

    def save_checkpoint(self, path: Any, **extra: Any) -> Any:
        """Save model, optimizer, scheduler, RNG, loader and trainer state in one file.

        The stored model weights are :meth:`inference_weights`; when those are not the current
        weights, the current ones go along as resume weights, so :meth:`resume` continues
        exactly where training stopped. On K ranks every rank must call it (each one's
        RNG state goes into the file) and rank 0 writes. ``extra`` is passed to
        :func:`~chainrule.train.save_checkpoint` (config, normalization, class names, ...).
        """
        weights = self.inference_weights()
        current = self._last_state if self._last_state is not None else _weights(self.model)
        same = all(np.array_equal(weights[k], current[k]) for k in current)
        loader_state = self.loader.state_dict() if self.loader is not None else None
        trainer_state = self.state_dict()
        if self._parallel is not None:  # every rank's RNG; only rank 0 writes
            trainer_state["distributed"] = self._parallel.state()
            if self._parallel.rank != 0:
                return _checkpoint_path(path)
        return save_checkpoint(
            path, self.model, weights=weights, resume_weights=None if same else current,
            optimizer=self.optimizer, scheduler=self.scheduler, history=self.history,
            epoch=self.epoch, loader_state=loader_state, trainer_state=trainer_state,
            **extra,
        )

    def resume(self, checkpoint: Any) -> None:
        """Restore a :class:`~chainrule.train.Checkpoint` (or a path to one) to continue fit.

        Weights, optimizer and scheduler states, chainrule's RNG, the shuffling state of the
        training loader and the trainer's counters are restored, so continuing gives the same
        numbers as a run that never stopped.
        """
        from chainrule.random import set_rng_state

        ckpt = checkpoint if isinstance(checkpoint, Checkpoint) else load_checkpoint(
            checkpoint, build_model=False)
        current = ckpt.resume_state_dict or ckpt.state_dict
        self.model.load_state_dict(current)
        if ckpt.optimizer_state is not None:
            self.optimizer.load_state_dict(ckpt.optimizer_state)
        if self.scheduler is not None and ckpt.scheduler_state is not None:
            self.scheduler.load_state_dict(ckpt.scheduler_state)
        if ckpt.rng_state is not None:
            set_rng_state(ckpt.rng_state)
        saved_world = (ckpt.trainer_state or {}).get("distributed")
        if self._parallel is not None or saved_world:
            from chainrule.distributed.training import DataParallel

            (self._parallel or DataParallel()).restore(saved_world)
        if ckpt.trainer_state is not None:
            self.load_state_dict(ckpt.trainer_state)
        else:
            self.epoch = int(ckpt.epoch or 0)
            self.history = History.from_dict(ckpt.history)
        self.best_state = ({k: v.copy() for k, v in ckpt.state_dict.items()}
                           if self.best_epoch is not None else None)
        self._pending_loader_state = ckpt.loader_state
        if self.loader is not None and ckpt.loader_state is not None:
            self.loader.load_state_dict(ckpt.loader_state)
            self._pending_loader_state = None

    # ------------------------------------------------------------------ loop
    def _make_loader(self, data: Any, shuffle: bool) -> Any:
        if isinstance(data, tuple) and len(data) == 2:
            from chainrule.data import DataLoader

            X, y = data
            if len(X) != len(y):
                raise ValueError(f"Trainer.fit: {len(X)} inputs but {len(y)} labels")
            if len(X) == 0:
                raise ValueError("Trainer.fit: no training examples")
            dtype = model_dtype(self.model)
            X = np.asarray(X, dtype=dtype)
            if not np.isfinite(X).all():  # would train to NaN and blame the learning rate
                row = int(np.argwhere(~np.isfinite(X))[0][0])
                raise DataError(f"Trainer.fit: the training inputs hold NaN or inf "
                                f"(first in row {row})")
            labels = np.asarray(y, dtype=dtype if self.task == "regression" else np.int64)
            options = {"dtype": dtype}
            if self.task == "regression":
                options["targets"] = "values"
            if self._parallel is not None:
                return self._parallel.loader(X, labels, self.batch_size, self.seed, **options)
            return DataLoader(X, labels, batch_size=self.batch_size, shuffle=shuffle,
                              seed=self.seed, device=self.device, **options)
        return data

    @property
    def device(self) -> Any:
        """Where the model's parameters are (the CPU for a model without any)."""
        for p in getattr(self.model, "parameters", lambda: ())():
            return p.device
        return backend.device_of(None)

    def _objective(self, scores: Any, labels: Any) -> Any:
        data_loss = self.loss(scores, labels)
        if self.reg > 0:
            from chainrule import nn

            return data_loss + nn.l2_penalty(self.model, self.reg)
        return data_loss

    def fit(self, train: Any, val: Any = None, epochs: int = 10) -> History:
        """Train until ``epochs`` epochs in total are done (counting resumed ones).

        ``train`` and ``val`` are ``(X, y)`` NumPy pairs (X float (N, D), y int (N,)) or
        DataLoaders yielding ``(Tensor, Tensor)`` batches; ``val`` may be ``None``.
        Returns :attr:`history` (all epochs, resumed ones included). On K ranks (see
        ``distributed``) arrays are sharded; a DataLoader is used as given (shard it with
        ``num_replicas`` and ``rank``), and ``val`` is evaluated sharded.
        """
        if epochs < 0:
            raise ValueError(f"Trainer.fit: epochs must be >= 0, got {epochs}")
        backend.reuse_freed_memory()  # every step allocates the same large arrays again
        if self.loader is None or not _same_data(train, self._train_arg):
            self.loader = self._make_loader(train, shuffle=True)
            self._train_arg = train
        if self._pending_loader_state is not None:
            self.loader.load_state_dict(self._pending_loader_state)
            self._pending_loader_state = None
        val_data = None
        if val is not None:
            val_data = as_arrays(val, None)
        self.stop_training = False
        if self._last_state is not None:  # fit again after keep-best: go on from the last epoch
            self.model.load_state_dict(self._last_state)
            self._last_state = None
        if self._parallel is not None:
            self._parallel.start(self.model, self.loader)
        for cb in self.callbacks:
            cb.on_train_begin(self)
        # Overflow on the way to a NaN loss is reported once, as a DivergenceError that says
        # what to lower, not as NumPy warnings from deep inside a step.
        with progress_bar(self.progress, self.console, self.task == "regression") as bar, \
                np.errstate(over="ignore", invalid="ignore", divide="ignore"), \
                (flushing_denormals() if self.flush_denormal else nullcontext()):
            while self.epoch < epochs and not self.stop_training:
                self._run_epoch(val_data, epochs, bar)
        if self.keep_best and self.best_state is not None:
            self._last_state = _weights(self.model)  # what training would continue from
            self.model.load_state_dict(self.best_state)
        for cb in self.callbacks:
            cb.on_train_end(self)
        return self.history

    def _run_epoch(self, val_data: tuple | None, epochs: int, bar: Any) -> None:
        import chainrule as cr

        epoch = self.epoch + 1
        lr = _current_lr(self.optimizer)
        start = time.perf_counter()
        self.model.train()
        total_loss, correct, seen = 0.0, 0, 0
        task = bar.start(epoch, epochs, len(self.loader)) if bar else None
        classify = self.task == "classification"
        device = self.device
        for xb, yb in self.loader:
            if not isinstance(xb, cr.Tensor):
                xb, yb = cr.tensor(np.asarray(xb, dtype=model_dtype(self.model))), cr.tensor(yb)
            if xb.device != device:
                xb, yb = xb.to(device), yb.to(device)
            objective, scores = self._step(xb, yb)
            self.step_count += 1
            if self.scheduler is not None and self.scheduler_interval == "step":
                self.scheduler.step()
            n = len(yb)
            batch_loss = objective.item()
            if not math.isfinite(batch_loss):
                raise self._divergence(batch_loss, epoch, lr)
            total_loss += batch_loss * n
            if classify:
                xp = backend.namespace(scores.data)
                correct += int(xp.count_nonzero(xp.argmax(scores.data, axis=1) == yb.data))
            seen += n
            for cb in self.callbacks:
                cb.on_batch_end(self, self.step_count, {"loss": batch_loss, "batch_size": n})
            if bar:
                bar.advance(task, total_loss / seen, correct / seen)
        if self.scheduler is not None and self.scheduler_interval == "epoch":
            self.scheduler.step()
        if self._parallel is not None:  # the whole epoch's numbers, the same model everywhere
            total_loss, correct, seen = self._parallel.sums(total_loss, correct, seen)
            self._parallel.sync_buffers(self.model)
        val_acc = math.nan
        if val_data is not None:
            val_acc = self._validation_score(*val_data)
        seconds = time.perf_counter() - start
        self.epoch = epoch
        train_acc = correct / max(seen, 1) if classify else math.nan
        self.history.append(train_loss=total_loss / max(seen, 1), train_acc=train_acc,
                            val_acc=val_acc, lr=lr, seconds=seconds)
        self._track_best(val_acc)
        logs = {"epoch": epoch, "train_loss": self.history.train_loss[-1],
                "train_acc": self.history.train_acc[-1], "val_acc": val_acc, "lr": lr,
                "seconds": seconds}
        if bar:
            bar.finish(task, logs, epochs, improved=self.best_epoch == epoch)
        for cb in self.callbacks:
            cb.on_epoch_end(self, epoch, logs)
        if self._parallel is not None:  # the ranks stop together
            self.stop_training = self._parallel.any(self.stop_training)

    def _validation_score(self, X: np.ndarray, y: np.ndarray) -> float:
        """Accuracy (classification) or R² (regression) of the model on validation data."""
        if self.task == "regression":
            return r2_score(y, predict_scores(self.model, X).reshape(np.shape(y)))
        return evaluate(self.model, X, y, distributed=self._parallel is not None).accuracy

    def _divergence(self, loss: float, epoch: int, lr: float) -> DivergenceError:
        """The loss became NaN or inf: say where, and which setting to lower."""
        cause = f"lower the learning rate (now {lr:g})"
        if self.reg >= 1:  # an L2 strength above 1 outweighs any data loss
            cause = f"lower the regularization (now {self.reg:g}) or the learning rate " \
                    f"(now {lr:g})"
        return DivergenceError(f"Trainer: training diverged: the loss became {loss} in epoch "
                               f"{epoch} (step {self.step_count}); {cause}")

    def _step(self, xb: Any, yb: Any) -> tuple:
        """One optimization step on a batch; returns the objective and the scores."""
        if self._compiled is None:
            hook = self._parallel.gradients if self._parallel is not None else None
            self._compiled = TrainStep(self._loss_and_scores, self.optimizer, model=self.model,
                                       compiled=self._compile, gradient_hook=hook)
        return self._compiled(xb, yb)

    def _loss_and_scores(self, xb: Any, yb: Any) -> tuple:
        scores = self.model(xb)
        return self._objective(scores, yb), scores

    def _track_best(self, val_acc: float) -> None:
        if math.isnan(val_acc):
            return
        if val_acc > self.best_val_acc:
            self.best_val_acc = val_acc
            self.best_epoch = self.epoch
            self.epochs_without_improvement = 0
            if self.keep_best:
                self.best_state = _weights(self.model)
        else:
            self.epochs_without_improvement += 1
            if self.early_stopping is not None and \
                    self.epochs_without_improvement >= self.early_stopping:
                self.stop_training = True


def _data_parallel(distributed: bool | None) -> Any:
    """The trainer's :class:`~chainrule.distributed.training.DataParallel`, or None."""
    if distributed is False:
        return None
    from chainrule.distributed import comm

    if distributed is None and comm.world_size() == 1:
        return None
    if not comm.is_initialized():
        raise comm.DistributedError("Trainer(distributed=True): call "
                                    "cr.distributed.init() first")
    from chainrule.distributed.training import DataParallel

    return DataParallel()


def _checkpoint_path(path: Any) -> Any:
    from chainrule.train.checkpoint import CHECKPOINT_NAME

    p = Path(path)
    return p / CHECKPOINT_NAME if p.is_dir() or p.suffix != ".safetensors" else p


def _same_data(a: Any, b: Any) -> bool:
    """Whether ``fit`` got the same training data again (then its loader keeps shuffling on)."""
    if isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b):
        return all(x is y for x, y in zip(a, b))
    return a is b
