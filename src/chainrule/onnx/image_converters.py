"""The ConvNet layers as ONNX nodes: ``Conv``, ``MaxPool``, ``AveragePool``,
``GlobalAveragePool`` (batch norm and channel dropout use the converters of
:mod:`chainrule.onnx.converters`).

ONNX writes padding as ``[top, left, bottom, right]`` and takes PyTorch's weight layout
``(out, in / groups, kh, kw)``, so each converter is the layer's settings, renamed.
"""

from __future__ import annotations

from typing import Any

from chainrule import nn
from chainrule.errors import ExportError
from chainrule.onnx.converters import register
from chainrule.onnx.graph import Graph, Value
from chainrule.ops._windows import Padding, output_size, symmetric
from chainrule.ops.conv import conv_padding

__all__: list[str] = []


def _image(x: Value, layer: str, name: str) -> tuple[Any, ...]:
    if x.rank != 4:
        raise ExportError(f"onnx export: layer {name!r} ({layer}) takes images (N, C, H, W), "
                          f"its input has shape {x.shape}")
    return x.shape


def _pads(padding: Padding) -> list[int]:
    (top, bottom), (left, right) = padding
    return [top, left, bottom, right]


def _out_shape(x: Value, channels: int, kernel: tuple, stride: tuple, padding: Padding,
               dilation: tuple, ceil_mode: bool, layer: str) -> tuple:
    n, _, h, w = x.shape
    ho, wo = output_size(layer, (1, 1, h, w), kernel, stride, padding, dilation, ceil_mode)
    return n, channels, ho, wo


@register(nn.Conv2d)
def _conv(m: Any, x: Value, graph: Graph, name: str) -> Value:
    _image(x, "Conv2d", name)
    padding = conv_padding(m.padding, m.kernel_size, m.dilation, m.stride)
    weight = graph.constant(m.weight.data, f"{name}.weight" if name else "weight")
    inputs = [x.name, weight]
    if m.bias is not None:
        inputs.append(graph.constant(m.bias.data, f"{name}.bias" if name else "bias"))
    shape = _out_shape(x, m.out_channels, m.kernel_size, m.stride, padding, m.dilation, False,
                       "conv2d")
    return graph.node("Conv", inputs, name or "conv", shape, kernel_shape=list(m.kernel_size),
                      strides=list(m.stride), pads=_pads(padding), dilations=list(m.dilation),
                      group=m.groups)


@register(nn.MaxPool2d)
def _max_pool(m: Any, x: Value, graph: Graph, name: str) -> Value:
    c = _image(x, "MaxPool2d", name)[1]
    padding = symmetric(m.padding)
    shape = _out_shape(x, c, m.kernel_size, m.stride, padding, m.dilation, m.ceil_mode,
                       "max_pool2d")
    return graph.node("MaxPool", [x.name], name or "maxpool", shape,
                      kernel_shape=list(m.kernel_size), strides=list(m.stride),
                      pads=_pads(padding), dilations=list(m.dilation),
                      ceil_mode=int(m.ceil_mode))


@register(nn.AvgPool2d)
def _avg_pool(m: Any, x: Value, graph: Graph, name: str) -> Value:
    c = _image(x, "AvgPool2d", name)[1]
    if m.ceil_mode:
        raise ExportError(f"onnx export: layer {name!r} (AvgPool2d with ceil_mode=True): "
                          "ONNX's AveragePool counts the windows past the edge differently; "
                          "only ceil_mode=False exports")
    padding = symmetric(m.padding)
    shape = _out_shape(x, c, m.kernel_size, m.stride, padding, (1, 1), False, "avg_pool2d")
    return graph.node("AveragePool", [x.name], name or "avgpool", shape,
                      kernel_shape=list(m.kernel_size), strides=list(m.stride),
                      pads=_pads(padding), count_include_pad=int(m.count_include_pad))


@register(nn.AdaptiveAvgPool2d)
def _adaptive_avg_pool(m: Any, x: Value, graph: Graph, name: str) -> Value:
    n, c, h, w = _image(x, "AdaptiveAvgPool2d", name)
    sizes = m.output_size if isinstance(m.output_size, (list, tuple)) else (m.output_size,) * 2
    ho, wo = (h if sizes[0] is None else sizes[0]), (w if sizes[1] is None else sizes[1])
    if (ho, wo) == (1, 1):
        return graph.node("GlobalAveragePool", [x.name], name or "gap", (n, c, 1, 1))
    if h % ho or w % wo:
        raise ExportError(f"onnx export: layer {name!r} (AdaptiveAvgPool2d to {ho}x{wo}) on "
                          f"{h}x{w} images has bins of different sizes, which ONNX's pooling "
                          "cannot express; only sizes that divide the image export")
    kernel = [h // ho, w // wo]
    return graph.node("AveragePool", [x.name], name or "avgpool", (n, c, ho, wo),
                      kernel_shape=kernel, strides=kernel)
