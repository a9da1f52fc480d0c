"""``chainrule.onnx``: export networks (and a run's preprocessing) as ONNX graphs.

>>> import chainrule as cr
>>> model = cr.nn.MLP(64, [100], 10)
>>> cr.onnx.export(model, np.zeros((1, 64), np.float32), "mlp.onnx")   # doctest: +SKIP
>>> cr.onnx.export_run("runs/demo", "digits.onnx")                  # doctest: +SKIP

The graph has a batch axis of any size and is checked with
``onnx.checker.check_model(full_check=True)``; onnxruntime gives chainrule's outputs to
1e-5. Layers export through a per-layer registry (:data:`CONVERTERS`,
:func:`register`); a layer without a converter is an
:class:`~chainrule.errors.ExportError` naming it. Needs the ``onnx`` package
(``pip install 'chainrule[onnx]'``).
"""

from chainrule.onnx.converters import CONVERTERS, convert, register
from chainrule.onnx.exporter import export
from chainrule.onnx.graph import Graph, Value
from chainrule.onnx.run import export_run

__all__ = ["CONVERTERS", "Graph", "Value", "convert", "export", "export_run", "register"]
