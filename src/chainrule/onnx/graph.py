"""The ONNX graph being written: named values with their shapes, nodes and constants.

A converter (:mod:`chainrule.onnx.converters`) receives the :class:`Value` its layer
takes, adds nodes through :class:`Graph` and returns the :class:`Value` the layer gives.
Shapes are tracked as tuples whose first entry, the batch, is ``None`` (the exported
graph takes any batch size).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from chainrule.errors import ExportError

__all__ = ["OPSET", "Graph", "Value", "require_onnx"]

#: The ONNX operator set the exporter writes (supported by onnxruntime >= 1.12).
OPSET = 17
#: The IR version that goes with it.
IR_VERSION = 8


def require_onnx() -> Any:
    """The ``onnx`` package, or an :class:`ExportError` saying how to install it."""
    try:
        import onnx
    except ImportError:
        raise ExportError("ONNX export needs the onnx package: pip install 'chainrule[onnx]'"
                          ) from None
    return onnx


@dataclass(frozen=True)
class Value:
    """A value of the graph: its name and its shape (``None`` for the batch axis)."""

    name: str
    shape: tuple[int | None, ...]

    @property
    def rank(self) -> int:
        return len(self.shape)


class Graph:
    """Nodes, constants (initializers), one input and one output of an ONNX graph.

    ``dtype`` is the floating type of the network (float32 or float64); constants are
    stored in it.
    """

    def __init__(self, dtype: Any) -> None:
        self.onnx = require_onnx()
        self.dtype = np.dtype(dtype)
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.inputs: list[Any] = []
        self.outputs: list[Any] = []
        self._used: set[str] = set()

    @property
    def elem_type(self) -> int:
        return self.onnx.helper.np_dtype_to_tensor_dtype(self.dtype)

    def fresh(self, hint: str) -> str:
        """A name not used yet, made from ``hint`` (``fc.weight``, ``fc.weight_1``, ...)."""
        name, i = hint or "value", 0
        while name in self._used:
            i += 1
            name = f"{hint}_{i}"
        self._used.add(name)
        return name

    def _info(self, name: str, shape: tuple, elem_type: int | None = None) -> Any:
        dims = ["batch" if d is None else int(d) for d in shape]
        return self.onnx.helper.make_tensor_value_info(name, elem_type or self.elem_type, dims)

    def input(self, name: str, shape: tuple) -> Value:
        """The graph's input, batch axis first and of any size."""
        value = Value(self.fresh(name), (None, *shape[1:]))
        self.inputs.append(self._info(value.name, value.shape))
        return value

    def output(self, value: Value, name: str) -> None:
        """Make ``value`` the graph's output, called ``name``."""
        if value.name != name:
            value = Value(self.node("Identity", [value.name], name, value.shape).name,
                          value.shape)
        self.outputs.append(self._info(value.name, value.shape))

    def constant(self, array: Any, hint: str, dtype: Any = None) -> str:
        """A constant (an initializer) holding ``array`` in the graph's dtype (or ``dtype``)."""
        data = np.asarray(array, dtype=dtype or self.dtype)
        name = self.fresh(hint)
        self.initializers.append(self.onnx.numpy_helper.from_array(data, name))
        return name

    def shape_constant(self, dims: list[int], hint: str) -> str:
        """An int64 constant, as Reshape's target shape."""
        return self.constant(np.asarray(dims, dtype=np.int64), hint, dtype=np.int64)

    def node(self, op: str, inputs: list[str], hint: str, shape: tuple, **attrs: Any) -> Value:
        """Add one node of type ``op``; returns its (single) output, of shape ``shape``."""
        out = self.fresh(hint)
        self.nodes.append(self.onnx.helper.make_node(op, inputs, [out], name=out, **attrs))
        return Value(out, tuple(shape))

    def model(self, doc: str = "", metadata: dict[str, str] | None = None) -> Any:
        """The finished ``ModelProto`` (producer ``chainrule``, opset :data:`OPSET`)."""
        from chainrule import __version__

        helper = self.onnx.helper
        graph = helper.make_graph(self.nodes, "chainrule", self.inputs, self.outputs,
                                  initializer=self.initializers, doc_string=doc)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                  ir_version=IR_VERSION, producer_name="chainrule",
                                  producer_version=__version__, doc_string=doc)
        for key, text in (metadata or {}).items():
            model.metadata_props.add(key=key, value=text)
        return model
