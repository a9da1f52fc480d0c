"""``chainrule.train``: the training loop, evaluation, checkpoints, reports and whole runs.

=====================  ===============================================================
module                 what it holds
=====================  ===============================================================
``config``             :class:`TrainConfig`: the settings of a run, checked
``preprocess``         :class:`Preprocessor`: images -> standardized model inputs;
                       :class:`ImagePreprocessor`: a ConvNet's (N, C, H, W) inputs
``factories``          model, loss, optimizer and schedule of a config
``trainer``            :class:`Trainer`: epochs of minibatch steps, callbacks, keep-best
``history``            :class:`History`: one row per epoch
``progress``           the trainer's progress bar
``metrics``            :func:`evaluate`: accuracy, precision, recall, confusion matrix
``checkpoint``         one ``checkpoint.safetensors`` per run: save, load, check
``report``             ``metrics.json`` and ``report.html`` of a run
``figures``            matplotlib figures as base64 PNGs for the reports
``inputs``             data set splits, random subsets, image files
``image_look``         an image's background and drawing size next to the training images'
``run``                :func:`train_run`: a whole run, as ``chainrule train`` does it
``inference``          :func:`evaluate_run`, :func:`predict_images` on a saved run
``compare``            :func:`compare_features`: image features vs learned features
``compare_report``     the comparison's ``metrics.json`` and ``report.html``
``feature_file``       image features of a data set into one ``.npz`` file
=====================  ===============================================================

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
from chainrule.train.compare import CompareConfig, compare_features
from chainrule.train.compare_report import write_comparison_report
from chainrule.train.config import TrainConfig
from chainrule.train.feature_file import write_feature_file
from chainrule.train.history import History
from chainrule.train.inference import (
    FilePrediction,
    ImageWarning,
    evaluate_run,
    load_run,
    predict_files,
    predict_images,
)
from chainrule.train.inputs import load_image_files, load_image_splits, load_splits
from chainrule.train.metrics import Evaluation, confusion_matrix, evaluate, predict_scores
from chainrule.train.preprocess import ImagePreprocessor, Preprocessor, shift_augment
from chainrule.train.report import write_metrics, write_report
from chainrule.train.run import RunResult, default_run_dir, train_run
from chainrule.train.trainer import Callback, Trainer

__all__ = [
    "CHECKPOINT_NAME",
    "Callback",
    "Checkpoint",
    "CheckpointError",
    "CompareConfig",
    "Evaluation",
    "FilePrediction",
    "History",
    "ImagePreprocessor",
    "ImageWarning",
    "Preprocessor",
    "RunResult",
    "TrainConfig",
    "Trainer",
    "compare_features",
    "confusion_matrix",
    "default_run_dir",
    "evaluate",
    "evaluate_run",
    "load_checkpoint",
    "load_image_files",
    "load_image_splits",
    "load_run",
    "load_splits",
    "predict_files",
    "predict_images",
    "predict_scores",
    "save_checkpoint",
    "shift_augment",
    "train_run",
    "write_comparison_report",
    "write_feature_file",
    "write_metrics",
    "write_report",
]
