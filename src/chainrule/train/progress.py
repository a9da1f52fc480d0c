"""The trainer's progress display: a rich progress bar per epoch, then one summary line.

:func:`progress_bar` gives a context manager whose value is the bar (``None`` when progress
is off); the trainer calls ``start``, ``advance`` and ``finish`` on it.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["progress_bar"]


def progress_bar(show: bool, console: Any = None, regression: bool = False) -> Any:
    """A :class:`_RichBar` on ``console`` when ``show``, else a context that yields ``None``.

    ``regression``: the validation score is R², and there is no training accuracy.
    """
    return _RichBar(console, regression) if show else _NoBar()


class _NoBar:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


class _RichBar:
    """One rich progress bar per epoch with the running loss and accuracy, then a summary line."""

    def __init__(self, console: Any = None, regression: bool = False) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.console = console or Console()
        self.regression = regression
        running = "loss {task.fields[loss]:.4f}" + ("" if regression else
                                                    "  acc {task.fields[acc]:.2%}")
        self.progress = Progress(
            TextColumn("epoch {task.fields[epoch]}"), BarColumn(), MofNCompleteColumn(),
            TextColumn(running), TimeElapsedColumn(), console=self.console, transient=True,
        )

    def __enter__(self) -> _RichBar:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(*exc)

    def start(self, epoch: int, epochs: int, batches: int) -> Any:
        return self.progress.add_task("train", total=batches, epoch=f"{epoch}/{epochs}",
                                      loss=0.0, acc=0.0)

    def advance(self, task: Any, loss: float, acc: float) -> None:
        self.progress.update(task, advance=1, loss=loss, acc=acc)

    def finish(self, task: Any, logs: dict, epochs: int, improved: bool) -> None:
        self.progress.remove_task(task)
        if math.isnan(logs["val_acc"]):
            val = ""
        elif self.regression:
            val = f"  val R² {logs['val_acc']:.4f}"
        else:
            val = f"  val acc {logs['val_acc']:.2%}"
        train = "" if self.regression else f"  train acc {logs['train_acc']:.2%}"
        mark = " *" if improved else ""
        width = len(str(epochs))
        self.console.print(
            f"epoch {logs['epoch']:>{width}}/{epochs}  loss {logs['train_loss']:.4f}"
            f"{train}{val}  lr {logs['lr']:.3g}  {logs['seconds']:.1f}s{mark}",
            highlight=False, soft_wrap=True,
        )
