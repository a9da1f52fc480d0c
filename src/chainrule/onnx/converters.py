"""One converter per layer: how each ``nn`` module becomes ONNX nodes.

A converter is ``convert(module, x, graph, name) -> Value``: it reads the layer's
settings and weights, adds nodes to ``graph`` for the input ``x`` and returns the output.
:data:`CONVERTERS` maps a layer class to its converter; :func:`register` adds one, for a
layer of your own too::

    @register(ScaleShift)
    def _scale_shift(m, x, graph, name):
        scaled = graph.node("Mul", [x.name, graph.constant(m.scale.data, f"{name}.scale")],
                            f"{name}.mul", x.shape)
        return graph.node("Add", [scaled.name, graph.constant(m.shift.data, f"{name}.shift")],
                          name, x.shape)

Layers export in their evaluation form (dropout passes its input through, batch norm
uses its running statistics). A subclass uses its base class's converter unless it
overrides ``forward``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule import nn
from chainrule.errors import ExportError
from chainrule.onnx.graph import Graph, Value

__all__ = ["CONVERTERS", "Converter", "convert", "register"]

Converter = Callable[[Any, Value, Graph, str], Value]

#: Layer class -> converter (see the module docstring).
CONVERTERS: dict[type, Converter] = {}


def register(*layers: type) -> Callable[[Converter], Converter]:
    """Decorator: ``fn`` converts the given layer classes."""
    def decorate(fn: Converter) -> Converter:
        for layer in layers:
            CONVERTERS[layer] = fn
        return fn

    return decorate


def converter_for(module: Any) -> Converter | None:
    """The converter of ``module``'s class or of the nearest registered base class whose
    ``forward`` it still uses."""
    cls = type(module)
    for base in cls.__mro__:
        if base in CONVERTERS:
            same = getattr(cls, "forward", None) is getattr(base, "forward", None)
            return CONVERTERS[base] if same else None
    return None


def convert(module: Any, x: Value, graph: Graph, name: str, what: str = "layer") -> Value:
    """Add ``module`` applied to ``x``; without a converter, an :class:`ExportError` names
    it (``what``: ``layer``, or ``preprocessing`` for the step in front)."""
    fn = converter_for(module)
    if fn is None:
        where = f" {name!r}" if name else ""
        known = ", ".join(sorted({c.__name__ for c in CONVERTERS}))
        raise ExportError(
            f"onnx export: {what}{where} ({type(module).__name__}) has no ONNX converter; "
            f"supported: {known}; add one with chainrule.onnx.register"
        )
    return fn(module, x, graph, name)


def _child(name: str, child: str) -> str:
    return f"{name}.{child}" if name else child


@register(nn.Sequential)
def _sequential(m: Any, x: Value, graph: Graph, name: str) -> Value:
    for child_name, child in m.named_children():
        x = convert(child, x, graph, _child(name, child_name))
    return x


@register(nn.Identity, nn.Dropout, nn.Dropout2d)
def _pass_through(m: Any, x: Value, graph: Graph, name: str) -> Value:
    return x  # evaluation form: the input unchanged


@register(nn.Linear)
def _linear(m: Any, x: Value, graph: Graph, name: str) -> Value:
    shape = (*x.shape[:-1], m.out_features)
    weight = graph.constant(m.weight.data, _child(name, "weight"))
    bias = [] if m.bias is None else [graph.constant(m.bias.data, _child(name, "bias"))]
    if x.rank == 2:  # y = x W^T + b, one Gemm
        return graph.node("Gemm", [x.name, weight, *bias], name or "linear", shape, transB=1)
    weight_t = graph.constant(m.weight.data.T, _child(name, "weight_t"))
    y = graph.node("MatMul", [x.name, weight_t], _child(name, "matmul"), shape)
    return graph.node("Add", [y.name, *bias], name or "linear", shape) if bias else y


def _elementwise(op: str, **attrs: Callable[[Any], Any]) -> Converter:
    def fn(m: Any, x: Value, graph: Graph, name: str) -> Value:
        values = {key: get(m) for key, get in attrs.items()}
        return graph.node(op, [x.name], name or op.lower(), x.shape, **values)

    return fn


register(nn.ReLU)(_elementwise("Relu"))
register(nn.Sigmoid)(_elementwise("Sigmoid"))
register(nn.Tanh)(_elementwise("Tanh"))
register(nn.LeakyReLU)(_elementwise("LeakyRelu", alpha=lambda m: m.negative_slope))
register(nn.ELU)(_elementwise("Elu", alpha=lambda m: m.alpha))
register(nn.Softmax)(_elementwise("Softmax", axis=lambda m: m.dim))


@register(nn.PReLU)
def _prelu(m: Any, x: Value, graph: Graph, name: str) -> Value:
    slope = m.weight.data
    if slope.size > 1:  # one slope per channel (axis 1), broadcast over the axes after it
        slope = slope.reshape((slope.size,) + (1,) * max(x.rank - 2, 0))
    return graph.node("PRelu", [x.name, graph.constant(slope, _child(name, "weight"))],
                      name or "prelu", x.shape)


@register(nn.MaxoutPool)
def _maxout(m: Any, x: Value, graph: Graph, name: str) -> Value:
    """max over groups of ``pieces`` features: reshape (..., F, pieces), reduce the last."""
    features = x.shape[-1] // m.pieces
    grouped_shape = (*x.shape[:-1], features, m.pieces)
    target = graph.shape_constant([0] * (x.rank - 1) + [features, m.pieces],
                                  _child(name, "groups"))
    grouped = graph.node("Reshape", [x.name, target], _child(name, "reshape"), grouped_shape)
    return graph.node("ReduceMax", [grouped.name], name or "maxout",
                      (*x.shape[:-1], features), axes=[-1], keepdims=0)


@register(nn.Flatten)
def _flatten(m: Any, x: Value, graph: Graph, name: str) -> Value:
    start, end = m.start_dim % x.rank, m.end_dim % x.rank
    merged = x.shape[start:end + 1]
    size = None if None in merged else math.prod(merged)
    shape = (*x.shape[:start], size, *x.shape[end + 1:])
    if start == 1 and end == x.rank - 1:
        return graph.node("Flatten", [x.name], name or "flatten", shape, axis=1)
    # Reshape: 0 copies a leading axis (the batch stays dynamic), -1 is the merged one.
    dims = [0] * start + [-1 if size is None else size] + [int(d) for d in x.shape[end + 1:]]
    return graph.node("Reshape", [x.name, graph.shape_constant(dims, _child(name, "shape"))],
                      name or "flatten", shape)


@register(nn.BatchNorm1d, nn.BatchNorm2d)
def _batch_norm(m: Any, x: Value, graph: Graph, name: str) -> Value:
    """``gamma (x - running_mean) / sqrt(running_var + eps) + beta`` over axis 1."""
    if m.running_mean is None:
        raise ExportError(f"onnx export: layer {name!r} ({type(m).__name__}) normalizes with "
                          "batch statistics (track_running_stats=False), which depend on the "
                          "batch; only running statistics export")
    features = m.num_features
    scale = m.weight.data if m.weight is not None else np.ones(features)
    shift = m.bias.data if m.bias is not None else np.zeros(features)
    inputs = [x.name] + [graph.constant(a, _child(name, key)) for key, a in (
        ("weight", scale), ("bias", shift), ("running_mean", m.running_mean),
        ("running_var", m.running_var))]
    return graph.node("BatchNormalization", inputs, name or "batchnorm", x.shape,
                      epsilon=float(m.eps))
