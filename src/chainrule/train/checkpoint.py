"""Checkpoints: one ``checkpoint.safetensors`` file that holds a whole run.

The file is a plain `safetensors <https://huggingface.co/docs/safetensors>`_ file:

- **tensors**: the model's weights under ``model.<name>`` (PyTorch's parameter names), the
  optimizer's and the scheduler's arrays (``optimizer.state.0.exp_avg``, ...), the
  normalization statistics and the feature pipeline's arrays, and, while a run can still be
  resumed with other weights than the ones it predicts with (keep-best), those under
  ``resume.model.<name>``;
- **metadata** (``__metadata__``, strings): ``format`` = ``chainrule-checkpoint``,
  ``format_version``, ``chainrule_version`` and ``chainrule``: one JSON document with the
  architecture, the training configuration, class names, image shape, the feature pipeline's
  configuration, RNG states, the epoch, the history, and the non-array parts of the optimizer
  and scheduler states (arrays inside them are replaced by ``{"__tensor__": key}``).

Files are written atomically (:mod:`chainrule.atomic`): to a temporary file in the same
folder, flushed to disk, then renamed over the old file with :func:`os.replace`, so a crash
mid-write leaves the previous checkpoint intact. :func:`load_checkpoint` reads the header
itself before trusting the file and says exactly what is wrong with a corrupt, truncated or
incompatible one.

>>> import chainrule as cr
>>> model = cr.nn.MLP(4, [8], 3)
>>> path = save_checkpoint("/tmp/run/checkpoint.safetensors", model, class_names=["a", "b", "c"])
>>> ckpt = load_checkpoint("/tmp/run")
>>> ckpt.class_names
['a', 'b', 'c']
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule.atomic import write_bytes
from chainrule.train.checkpoint_file import DTYPES, CheckpointError, read_file, short_repr

if TYPE_CHECKING:
    from chainrule.train.preprocess import ImagePreprocessor, Preprocessor

__all__ = [
    "CHECKPOINT_NAME",
    "FORMAT_VERSION",
    "Checkpoint",
    "CheckpointError",
    "load_checkpoint",
    "save_checkpoint",
]

#: File name of the checkpoint inside a run folder.
CHECKPOINT_NAME = "checkpoint.safetensors"
#: Version of the layout described above; bumped when an older reader could misread a file.
FORMAT_VERSION = 1
_FORMAT = "chainrule-checkpoint"
@dataclass
class Checkpoint:
    """Everything :func:`load_checkpoint` found in a checkpoint file.

    ``model`` is the rebuilt network with its weights loaded (``None`` when the file holds no
    architecture, e.g. a custom :class:`~chainrule.nn.Module`; its weights are then in
    ``state_dict``). ``resume_state_dict`` holds the weights to continue training from when they
    differ from ``model``'s (keep-best restores the best epoch's weights for prediction).
    """

    path: Path
    model: Any
    state_dict: dict[str, np.ndarray]
    architecture: dict | None = None
    config: dict = field(default_factory=dict)
    class_names: list[str] | None = None
    normalization: dict | None = None
    features: dict | None = None
    image_shape: tuple[int, ...] | None = None
    optimizer_state: dict | None = None
    scheduler_state: dict | None = None
    rng_state: dict | None = None
    loader_state: dict | None = None
    trainer_state: dict | None = None
    resume_state_dict: dict[str, np.ndarray] | None = None
    epoch: int | None = None
    history: dict | None = None
    version: str = ""
    format_version: int = FORMAT_VERSION

    def preprocessor(self) -> Preprocessor | ImagePreprocessor:
        """The run's fitted preprocessing (features, standardization), rebuilt from the file.

        >>> pre = load_checkpoint("runs/demo").preprocessor()     # doctest: +SKIP
        >>> pre.transform(images).shape                           # doctest: +SKIP
        """
        from chainrule.train.preprocess import ImagePreprocessor, Preprocessor

        if self.normalization is None:
            raise CheckpointError(f"{self.path}: the checkpoint has no normalization statistics")
        pre: Preprocessor | ImagePreprocessor = (
            ImagePreprocessor() if self.config.get("model") == "cnn"  # images in, per channel
            else Preprocessor(self.config.get("features", "pixels")))
        pre.load_state_dict({"image_shape": self.image_shape, "normalization": self.normalization,
                             "features": self.features})
        return pre


# --------------------------------------------------------------------------- encoding
class _Encoder:
    """Split a nested structure into JSON and named arrays (``{"__tensor__": key}`` refs)."""

    def __init__(self) -> None:
        self.tensors: dict[str, np.ndarray] = {}

    def encode(self, obj: Any, key: str) -> Any:
        if isinstance(obj, np.ndarray):
            if obj.dtype.type not in DTYPES.values():
                raise CheckpointError(
                    f"save_checkpoint: {key} has dtype {obj.dtype}, which a checkpoint cannot hold"
                )
            # not np.ascontiguousarray: it turns 0-d arrays (BatchNorm's counter) into 1-d
            self.tensors[key] = obj if obj.flags.c_contiguous else obj.copy(order="C")
            return {"__tensor__": key}
        if hasattr(obj, "data") and isinstance(getattr(obj, "data", None), np.ndarray):
            return self.encode(obj.data, key)  # a Tensor or Parameter
        if isinstance(obj, dict):
            if all(isinstance(k, str) for k in obj):
                return {k: self.encode(v, f"{key}.{k}") for k, v in obj.items()}
            return {"__items__": [[self.encode(k, f"{key}.k{i}"), self.encode(v, f"{key}.{k}")]
                                  for i, (k, v) in enumerate(obj.items())]}
        if isinstance(obj, tuple):
            return {"__tuple__": [self.encode(v, f"{key}.{i}") for i, v in enumerate(obj)]}
        if isinstance(obj, list):
            return [self.encode(v, f"{key}.{i}") for i, v in enumerate(obj)]
        if isinstance(obj, np.generic):
            return obj.item()
        if obj is None or isinstance(obj, (bool, int, float, str)):
            return obj
        raise CheckpointError(
            f"save_checkpoint: cannot store {key} of type {type(obj).__name__}; a checkpoint "
            "holds arrays, numbers, strings, lists and dicts"
        )


def _decode(obj: Any, tensors: dict[str, np.ndarray], where: str) -> Any:
    if isinstance(obj, dict):
        if "__tensor__" in obj:
            key = obj["__tensor__"]
            if key not in tensors:
                raise CheckpointError(f"{where}: the metadata refers to tensor {key!r}, "
                                      "which the file does not contain")
            return tensors[key]
        if "__tuple__" in obj:
            return tuple(_decode(v, tensors, where) for v in obj["__tuple__"])
        if "__items__" in obj:
            return {_decode(k, tensors, where): _decode(v, tensors, where)
                    for k, v in obj["__items__"]}
        return {k: _decode(v, tensors, where) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_decode(v, tensors, where) for v in obj]
    return obj


def _state_dict_of(model: Any) -> dict[str, np.ndarray]:
    state = model.state_dict() if hasattr(model, "state_dict") else model
    return {name: np.asarray(getattr(v, "data", v)) for name, v in state.items()}


# --------------------------------------------------------------------------- save
def save_checkpoint(
    path: str | os.PathLike,
    model: Any,
    *,
    optimizer: Any = None,
    scheduler: Any = None,
    config: dict | None = None,
    normalization: Any = None,
    class_names: list[str] | None = None,
    features: Any = None,
    image_shape: tuple[int, ...] | None = None,
    history: Any = None,
    epoch: int | None = None,
    loader_state: dict | None = None,
    trainer_state: dict | None = None,
    weights: dict[str, np.ndarray] | None = None,
    resume_weights: dict[str, np.ndarray] | None = None,
    rng_state: dict | None = None,
) -> Path:
    """Write ``model`` and everything needed to resume or reuse it to one file, atomically.

    ``path`` is a file or a run folder (then ``<folder>/checkpoint.safetensors``).
    ``model`` is a Module (its ``config()`` is stored as the architecture when it has one) or
    a state dict. ``optimizer`` and ``scheduler`` are objects with ``state_dict()`` or their
    state dicts. ``normalization`` is a Standardizer (or its state dict), ``features`` a
    FeaturePipeline or its ``{'config': pipeline.config(), 'arrays': pipeline.state_dict()}``;
    ``**preprocessor.state_dict()`` of a :class:`~chainrule.train.Preprocessor` gives
    ``normalization``, ``features`` and ``image_shape``. ``history`` is a History or its dict.
    ``rng_state`` defaults to the state of chainrule's global generator (dropout, init).
    ``weights`` replaces ``model.state_dict()`` as the stored weights (keep-best stores the best
    epoch's weights there) and ``resume_weights`` are the weights to continue training from
    when they differ; ``trainer_state`` and ``loader_state`` come from
    :meth:`Trainer.state_dict` and the DataLoader's ``state_dict()``.

    Returns the path written.

    >>> save_checkpoint("runs/demo", cr.nn.MLP(64, [100], 10), epoch=3)   # doctest: +SKIP
    PosixPath('runs/demo/checkpoint.safetensors')
    """
    from chainrule import __version__
    from chainrule.random import get_rng_state

    target = _resolve(path, for_writing=True)
    enc = _Encoder()
    weights = _state_dict_of(weights if weights is not None else model)
    for name, value in weights.items():
        enc.encode(value, f"model.{name}")
    if resume_weights is not None:
        for name, value in _state_dict_of(resume_weights).items():
            enc.encode(value, f"resume.model.{name}")
    architecture = model.config() if hasattr(model, "config") and callable(model.config) else None

    def state(obj: Any) -> Any:
        return obj.state_dict() if hasattr(obj, "state_dict") else obj

    feature_doc = None
    if features is not None:
        if not isinstance(features, dict):
            features = {"config": features.config(), "arrays": features.state_dict()}
        feature_doc = {"config": features["config"],
                       "arrays": enc.encode(dict(features["arrays"]), "features")}
    doc = {
        "architecture": architecture,
        "weights": sorted(weights),
        "config": enc.encode(config or {}, "config"),
        "class_names": list(class_names) if class_names is not None else None,
        "image_shape": list(image_shape) if image_shape is not None else None,
        "normalization": enc.encode(state(normalization), "normalization"),
        "features": feature_doc,
        "optimizer": enc.encode(state(optimizer), "optimizer"),
        "scheduler": enc.encode(state(scheduler), "scheduler"),
        "loader": enc.encode(loader_state, "loader"),
        "trainer": enc.encode(trainer_state, "trainer"),
        "rng": enc.encode(rng_state if rng_state is not None else get_rng_state(), "rng"),
        "epoch": epoch,
        "history": enc.encode(history.to_dict() if hasattr(history, "to_dict") else history,
                              "history"),
        "resume_weights": resume_weights is not None,
    }
    metadata = {
        "format": _FORMAT,
        "format_version": str(FORMAT_VERSION),
        "chainrule_version": __version__,
        "chainrule": json.dumps(doc, allow_nan=True),
    }
    from safetensors.numpy import save

    write_bytes(target, save(enc.tensors, metadata=metadata))
    return target


# --------------------------------------------------------------------------- load
def _resolve(path: str | os.PathLike, *, for_writing: bool = False) -> Path:
    p = Path(path)
    if p.is_dir() or (for_writing and p.suffix != ".safetensors"):
        return p / CHECKPOINT_NAME
    return p


def _sub(tensors: dict[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    n = len(prefix)
    return {k[n:]: v for k, v in tensors.items() if k.startswith(prefix)}


def load_checkpoint(path_or_run_dir: str | os.PathLike, *, build_model: bool = True) -> Checkpoint:
    """Read and check a checkpoint file (or a run folder's ``checkpoint.safetensors``).

    The model is rebuilt from the stored architecture with
    :func:`chainrule.nn.build_model` and its weights loaded strictly; every problem is
    reported as a :class:`CheckpointError` that names the file and what is wrong: missing
    file, bad or truncated header, a file not written by chainrule, a newer format, missing
    keys, or weights whose names or shapes do not fit the architecture.

    >>> ckpt = load_checkpoint("runs/demo")              # doctest: +SKIP
    >>> ckpt.model(cr.tensor(x)).argmax(axis=1)          # doctest: +SKIP
    """
    path = _resolve(path_or_run_dir)
    metadata, tensors = read_file(path)
    if metadata.get("format") != _FORMAT:
        raise CheckpointError(f"{path}: not a chainrule checkpoint (a safetensors file without "
                              "chainrule's metadata; format tag missing)")
    try:
        fmt = int(metadata.get("format_version", ""))
    except ValueError:
        raise CheckpointError(f"{path}: bad metadata: format_version "
                              f"{metadata.get('format_version')!r} is not a number") from None
    version = metadata.get("chainrule_version", "unknown")
    if fmt > FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: incompatible version: written by chainrule {version} in checkpoint format "
            f"{fmt}; this chainrule reads format {FORMAT_VERSION} and older: upgrade chainrule"
        )
    try:
        doc = json.loads(metadata["chainrule"])
    except KeyError:
        raise CheckpointError(f"{path}: missing keys: the metadata has no 'chainrule' "
                              "document") from None
    except (json.JSONDecodeError, RecursionError) as e:
        raise CheckpointError(f"{path}: bad metadata: the 'chainrule' JSON does not "
                              f"parse ({type(e).__name__}: {str(e)[:80]})") from None
    if not isinstance(doc, dict):
        raise CheckpointError(f"{path}: bad metadata: the 'chainrule' document is not an object")
    required = ("architecture", "weights", "config", "epoch")
    missing = [k for k in required if k not in doc]
    if missing:
        raise CheckpointError(f"{path}: missing keys in the metadata: {', '.join(missing)}")
    _check_doc(path, doc)
    weights = _sub(tensors, "model.")
    absent = sorted(set(doc["weights"]) - set(weights))
    if absent:
        raise CheckpointError(f"{path}: missing keys: weights {', '.join(absent)} are listed "
                              "but not in the file")
    where = str(path)
    resume = _sub(tensors, "resume.model.") if doc.get("resume_weights") else None
    image_shape = doc.get("image_shape")
    try:
        ckpt = Checkpoint(
            path=path,
            model=None,
            state_dict=weights,
            architecture=doc["architecture"],
            config=_decode(doc["config"], tensors, where) or {},
            class_names=doc.get("class_names"),
            normalization=_decode(doc.get("normalization"), tensors, where),
            features=_decode(doc.get("features"), tensors, where),
            image_shape=tuple(image_shape) if image_shape is not None else None,
            optimizer_state=_decode(doc.get("optimizer"), tensors, where),
            scheduler_state=_decode(doc.get("scheduler"), tensors, where),
            rng_state=_decode(doc.get("rng"), tensors, where),
            loader_state=_decode(doc.get("loader"), tensors, where),
            trainer_state=_decode(doc.get("trainer"), tensors, where),
            resume_state_dict=resume,
            epoch=doc["epoch"],
            history=_decode(doc.get("history"), tensors, where),
            version=version,
            format_version=fmt,
        )
    except (TypeError, ValueError, AttributeError, RecursionError) as e:
        raise CheckpointError(f"{path}: bad metadata: the 'chainrule' document's structure "
                              f"is not a checkpoint's ({type(e).__name__}: {str(e)[:80]})"
                              ) from None
    if not isinstance(ckpt.config, dict):
        raise CheckpointError(f"{path}: bad metadata: config must be an object")
    if build_model and ckpt.architecture is not None:
        ckpt.model = _build(ckpt)
    return ckpt


def _check_doc(path: Path, doc: dict) -> None:
    """The types of the metadata's fields (any of them may have been edited by hand)."""
    problems = []
    if not isinstance(doc["weights"], list) or not all(isinstance(w, str)
                                                       for w in doc["weights"]):
        problems.append("weights must be a list of names")
    if doc["architecture"] is not None and not isinstance(doc["architecture"], dict):
        problems.append("architecture must be an object")
    names = doc.get("class_names")
    if names is not None and (not isinstance(names, list) or not names
                              or not all(isinstance(n, str) for n in names)):
        problems.append(f"class_names must be a list of strings, got {short_repr(names, 80)}")
    shape = doc.get("image_shape")
    if shape is not None and (not isinstance(shape, list) or len(shape) != 3 or not all(
            isinstance(d, int) and not isinstance(d, bool) and 1 <= d <= 65536 for d in shape)
            or shape[2] not in (1, 3)):
        problems.append(f"image_shape must be [height, width, 1 or 3], got "
                        f"{short_repr(shape, 80)}")
    epoch = doc["epoch"]
    if epoch is not None and (isinstance(epoch, bool) or not isinstance(epoch, int)
                              or epoch < 0):
        problems.append(f"epoch must be a whole number >= 0, got {short_repr(epoch, 40)}")
    if problems:
        raise CheckpointError(f"{path}: bad metadata: {'; '.join(problems)} (tampered or "
                              "corrupt)")


def _build(ckpt: Checkpoint) -> Any:
    """The model of the stored architecture, once the stored weights are known to fit it.

    The architecture is metadata anyone can edit: it is checked against the tensors in the
    file (names and shapes, :func:`chainrule.nn.mlp.state_shapes`) before anything of its
    size is allocated, so a file claiming a huge net is refused at once.
    """
    from chainrule import nn
    from chainrule.nn.mlp import state_shapes

    try:
        expected = state_shapes(ckpt.architecture)
    except (ValueError, TypeError, KeyError, OverflowError) as e:
        raise CheckpointError(f"{ckpt.path}: incompatible architecture "
                              f"{short_repr(ckpt.architecture)}: {e}") from None
    missing = sorted(set(expected) - set(ckpt.state_dict))
    unexpected = sorted(set(ckpt.state_dict) - set(expected))
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing keys {', '.join(missing)}")
        if unexpected:
            parts.append(f"unexpected keys {', '.join(unexpected)}")
        raise CheckpointError(f"{ckpt.path}: weights do not fit the architecture: "
                              + "; ".join(parts))
    for name, shape in expected.items():
        got = ckpt.state_dict[name].shape
        if got != shape:
            raise CheckpointError(f"{ckpt.path}: shape mismatch: {name} is {got} in the file, "
                                  f"the architecture needs {shape}")
    for name, value in ckpt.state_dict.items():
        if value.dtype.kind == "f" and not np.isfinite(value).all():
            raise CheckpointError(f"{ckpt.path}: {name} holds NaN or infinite values: the run "
                                  "diverged, or the file is corrupt; its predictions would mean "
                                  "nothing")
    try:
        model = nn.build_model(ckpt.architecture)
    except (ValueError, TypeError, KeyError) as e:
        raise CheckpointError(f"{ckpt.path}: incompatible architecture "
                              f"{short_repr(ckpt.architecture)}: {e}") from None
    model.load_state_dict(ckpt.state_dict)
    _check_metadata_fits(ckpt, expected)
    model.eval()
    return model


def _check_metadata_fits(ckpt: Checkpoint, shapes: dict[str, tuple[int, ...]]) -> None:
    """Class names and image shape must fit the network they describe."""
    arch = ckpt.architecture or {}
    convnet = arch.get("type") == "ConvNet"  # takes images: its inputs are their channels
    outputs, inputs = (arch.get("num_classes"), arch.get("in_channels")) if convnet \
        else (arch.get("out_features"), arch.get("in_features"))
    if ckpt.class_names is not None and len(ckpt.class_names) != outputs:
        raise CheckpointError(f"{ckpt.path}: {len(ckpt.class_names)} class names for a network "
                              f"with {outputs} outputs (tampered or corrupt metadata)")
    features = ckpt.config.get("features", "pixels") if isinstance(ckpt.config, dict) else None
    if convnet and ckpt.image_shape is not None:
        channels = ckpt.image_shape[2] if len(ckpt.image_shape) == 3 else 1
        if channels != inputs:
            raise CheckpointError(f"{ckpt.path}: images of shape {ckpt.image_shape} have "
                                  f"{channels} channels, but the network takes {inputs} "
                                  "(tampered or corrupt metadata)")
    elif ckpt.image_shape is not None and features == "pixels" and \
            math.prod(ckpt.image_shape) != inputs:
        raise CheckpointError(f"{ckpt.path}: images of shape {ckpt.image_shape} are "
                              f"{math.prod(ckpt.image_shape)} pixels, but the network takes "
                              f"{inputs} inputs (tampered or corrupt metadata)")
    norm = ckpt.normalization
    if isinstance(norm, dict):
        for key in ("mean", "std"):
            value = norm.get(key)
            if value is not None and np.shape(value) != (inputs,):
                raise CheckpointError(f"{ckpt.path}: normalization {key} has shape "
                                      f"{np.shape(value)}, the network takes {inputs} inputs")
            if value is not None and not np.isfinite(value).all():
                raise CheckpointError(f"{ckpt.path}: normalization {key} holds NaN or "
                                      "infinite values")
