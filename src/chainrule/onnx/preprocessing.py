"""The preprocessing in front of an exported network, one converter per kind of step.

A run feeds its network standardized inputs; exported with its preprocessing, the graph
takes what the run took before any of it (pixels in ``[0, 1]``) and standardizes inside:
``Reshape (N, D) -> Sub mean -> Div std``, the arithmetic of
:class:`~chainrule.data.Standardizer`, so the numbers are the same. Converters share the
layers' signature (:mod:`chainrule.onnx.converters`) and registry; a step without one is
an :class:`~chainrule.errors.ExportError`.
"""

from __future__ import annotations

import math
from typing import Any

from chainrule.data import Standardizer
from chainrule.errors import ExportError
from chainrule.onnx.converters import register
from chainrule.onnx.graph import Graph, Value
from chainrule.train.preprocess import ImagePreprocessor, Preprocessor

__all__: list[str] = []


@register(Standardizer)
def _standardize(s: Any, x: Value, graph: Graph, name: str) -> Value:
    """``(x - mean) / std`` on the flattened input."""
    if s.mean is None:
        raise ExportError("onnx export: the Standardizer is not fitted (no mean and std)")
    width = int(s.mean.shape[0])
    values = math.prod(x.shape[1:])
    if values != width:
        raise ExportError(f"onnx export: the standardization is for {width} values per "
                          f"example, the input {x.shape[1:]} has {values}")
    if x.rank != 2:
        target = graph.shape_constant([0, width], "flatten_shape")
        x = graph.node("Reshape", [x.name, target], "flat", (None, width))
    centred = graph.node("Sub", [x.name, graph.constant(s.mean, "mean")], "centred", x.shape)
    return graph.node("Div", [centred.name, graph.constant(s.std, "std")], "standardized",
                      x.shape)


@register(Preprocessor)
def _preprocessor(p: Any, x: Value, graph: Graph, name: str) -> Value:
    """A run's pixels (or table of features), flattened and standardized."""
    if p.pipeline is not None:
        raise ExportError(
            f"onnx export: the inputs are image features ({p.features}) computed in NumPy "
            "before the network; only runs on pixels (--features pixels) export with their "
            "preprocessing")
    if p.standardizer is None:
        raise ExportError("onnx export: the Preprocessor is not fitted")
    return _standardize(p.standardizer, x, graph, name)


@register(ImagePreprocessor)
def _image_preprocessor(p: Any, x: Value, graph: Graph, name: str) -> Value:
    """A ConvNet run's images ``(N, H, W, C)`` in ``[0, 1]``: to ``(N, C, H, W)``, then
    ``(x - mean_c) / std_c`` per colour channel."""
    if p.mean is None:
        raise ExportError("onnx export: the ImagePreprocessor is not fitted")
    if x.rank != 4 or tuple(x.shape[1:]) != tuple(p.image_shape):
        raise ExportError(f"onnx export: the run takes images of shape {p.image_shape}, the "
                          f"input has {x.shape[1:]}")
    n, h, w, c = x.shape
    images = graph.node("Transpose", [x.name], "nchw", (n, c, h, w), perm=[0, 3, 1, 2])
    channel = (1, c, 1, 1)
    centred = graph.node("Sub", [images.name, graph.constant(p.mean.reshape(channel), "mean")],
                         "centred", images.shape)
    return graph.node("Div", [centred.name, graph.constant(p.std.reshape(channel), "std")],
                      "standardized", images.shape)
