"""``chainrule.train``: the training loop, evaluation, checkpoints, reports and whole runs.

>>> import chainrule as cr
>>> from chainrule.train import Trainer, evaluate, save_checkpoint, load_checkpoint
>>> model = cr.nn.MLP(64, [256], 10)
>>> opt = cr.optim.Adam(model.parameters(), lr=1e-3)
>>> history = Trainer(model, cr.nn.CrossEntropyLoss(), opt).fit((X, y), (Xv, yv), epochs=10)
>>> evaluate(model, X_test, y_test).accuracy                           # doctest: +SKIP
>>> save_checkpoint("runs/mine", model, optimizer=opt, history=history)  # doctest: +SKIP
"""

from chainrule.train.checkpoint import (
    CHECKPOINT_NAME,
    Checkpoint,
    CheckpointError,
    load_checkpoint,
    save_checkpoint,
)
from chainrule.train.metrics import Evaluation, confusion_matrix, evaluate, predict_scores
from chainrule.train.report import write_metrics, write_report
from chainrule.train.run import (
    Preprocessor,
    RunResult,
    TrainConfig,
    evaluate_run,
    predict_images,
    train_run,
)
from chainrule.train.trainer import Callback, History, Trainer

__all__ = [
    "CHECKPOINT_NAME",
    "Callback",
    "Checkpoint",
    "CheckpointError",
    "Evaluation",
    "History",
    "Preprocessor",
    "RunResult",
    "TrainConfig",
    "Trainer",
    "confusion_matrix",
    "evaluate",
    "evaluate_run",
    "load_checkpoint",
    "predict_images",
    "predict_scores",
    "save_checkpoint",
    "train_run",
    "write_metrics",
    "write_report",
]
