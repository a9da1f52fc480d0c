"""``export``: a chainrule network (and the standardization in front of it) as an ONNX file.

The network is converted layer by layer (:mod:`chainrule.onnx.converters`) in its
evaluation form, with a batch axis of any size. With ``preprocess`` (a run's
:class:`~chainrule.train.Preprocessor` or a :class:`~chainrule.data.Standardizer`,
converted by :mod:`chainrule.onnx.preprocessing`) the graph starts with that step, so it
takes what the run took before any preprocessing: images ``(N, H, W, C)`` with pixels in
``[0, 1]``, flattened and standardized inside::

    input (N, H, W, C) -> Reshape (N, H*W*C) -> Sub mean -> Div std -> network -> scores

The file is checked with ``onnx.checker.check_model(full_check=True)`` before it is
written (atomically, :mod:`chainrule.atomic`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from chainrule.atomic import atomic_open
from chainrule.errors import ExportError
from chainrule.onnx import image_converters, preprocessing  # noqa: F401  (register converters)
from chainrule.onnx.converters import convert
from chainrule.onnx.graph import Graph

__all__ = ["export"]


def export(model: Any, example_input: Any, path: str | Path, *, preprocess: Any = None,
           probabilities: bool = False, input_name: str = "input",
           metadata: dict[str, Any] | None = None) -> Path:
    """Write ``model`` as an ONNX graph to ``path``; returns the path.

    ``example_input`` is one batch of what the exported graph takes (its shape and dtype,
    any batch size): the model's input, or the raw input before ``preprocess``.
    ``probabilities`` appends a softmax over the last axis (output ``probabilities``
    instead of ``scores``). ``metadata`` is stored as the model's metadata properties
    (values that are not strings as JSON). An unsupported layer raises
    :class:`~chainrule.errors.ExportError` naming it.

    >>> model = cr.nn.MLP(64, [100], 10).eval()
    >>> cr.onnx.export(model, np.zeros((1, 64), np.float32), "mlp.onnx")   # doctest: +SKIP
    """
    import chainrule as cr
    from chainrule.train.metrics import model_dtype

    dtype = model_dtype(model)
    example = np.asarray(getattr(example_input, "data", example_input), dtype=dtype)
    if example.ndim < 2 or len(example) == 0:
        raise ExportError(f"onnx export: example_input must be a batch (N, ...) of N >= 1 "
                          f"examples, got shape {example.shape}")
    was_training = getattr(model, "training", False)
    model.eval()
    try:
        graph = Graph(dtype)
        x = graph.input(input_name, example.shape)
        if preprocess is not None:
            x = convert(preprocess, x, graph, "", what="preprocessing")
        with cr.no_grad():  # the network takes what the graph gives it so far
            out = model(cr.zeros((1, *x.shape[1:]), dtype=dtype))
        y = convert(model, x, graph, "")
        name = "probabilities" if probabilities else "scores"
        if probabilities:
            y = graph.node("Softmax", [y.name], "softmax", y.shape, axis=-1)
        if tuple(y.shape[1:]) != tuple(out.shape[1:]):
            raise ExportError(f"onnx export: the graph gives {y.shape[1:]} per example, the "
                              f"model {tuple(out.shape[1:])}")
        graph.output(y, name)
        doc = (f"chainrule {type(model).__name__}: {input_name} "
               f"(N, {', '.join(str(d) for d in example.shape[1:])}) -> {name} "
               f"(N, {', '.join(str(d) for d in out.shape[1:])})")
        text = {k: v if isinstance(v, str) else json.dumps(v) for k, v in
                (metadata or {}).items()}
        proto = graph.model(doc, text)
    finally:
        model.train(was_training)
    graph.onnx.checker.check_model(proto, full_check=True)
    path = Path(path)
    with atomic_open(path) as f:
        f.write(proto.SerializeToString())
    return path
