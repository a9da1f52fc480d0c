"""A hyperparameter sweep with Ray Tune's function API: ``tune.report`` from a Trainer callback.

Each trial trains a small MLP on the embedded digits with its own learning rate and hidden
width; a callback reports the validation accuracy after every epoch, so Tune's schedulers
(ASHA, median stopping) can stop bad trials early.

    pip install "ray[tune]"
    python examples/ray_tune_sweep.py
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import chainrule as cr
from chainrule.train import Trainer


def report_to(report: Callable[[dict], Any]) -> Callable[[Trainer, int, dict], None]:
    """A Trainer callback that passes each epoch's row to ``report`` (``tune.report``)."""
    def on_epoch_end(trainer: Trainer, epoch: int, logs: dict) -> None:
        report({"val_acc": logs["val_acc"], "train_loss": logs["train_loss"],
                "epoch": epoch})
    return on_epoch_end


def train_digits(config: dict, report: Callable[[dict], Any], epochs: int = 10) -> float:
    """One trial: an MLP with ``config['hidden']`` units and Adam at ``config['lr']``."""
    ds = cr.data.load("digits")
    X = ds.train_images.reshape(len(ds.train_images), -1).astype("float32") / 16.0
    X_train, X_val, y_train, y_val = cr.data.train_val_split(X, ds.train_labels, 0.2, seed=0)
    cr.manual_seed(0)
    model = cr.nn.MLP(X.shape[1], [config["hidden"]], 10)
    trainer = Trainer(model, cr.nn.CrossEntropyLoss(),
                      cr.optim.Adam(model.parameters(), lr=config["lr"]), batch_size=64,
                      progress=False, callbacks=[report_to(report)])
    history = trainer.fit((X_train, y_train), (X_val, y_val), epochs=epochs)
    return max(history.val_acc)


def main() -> None:
    from ray import tune

    def trainable(config: dict) -> None:
        train_digits(config, tune.report)

    tuner = tune.Tuner(trainable, param_space={"lr": tune.loguniform(1e-4, 1e-1),
                                               "hidden": tune.choice([32, 64, 128])},
                       tune_config=tune.TuneConfig(metric="val_acc", mode="max",
                                                   num_samples=8))
    best = tuner.fit().get_best_result()
    print(best.config, best.metrics["val_acc"])


if __name__ == "__main__":
    main()
