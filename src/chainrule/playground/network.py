"""The network definition a user types, as in ConvNetJS: one line per layer.

Two ways to write a layer are understood, and may be mixed:

- short lines: ``input 2``, ``fc 8 relu``, ``fc 4 maxout``, ``softmax 2`` (``svm 2``,
  ``regression 1``);
- ConvNetJS's own definitions, pasted from its demo:
  ``layer_defs.push({type:'fc', num_neurons:6, activation:'tanh'});``.

``input`` must match the input features switched on and the output line the problem
(``softmax``/``svm`` set the classification loss); both are optional. Every ``fc`` line is
a hidden layer of 1 to 8 neurons with one of the activations the page offers (an ``fc``
without one is linear, as in ConvNetJS); at most 6 of them. Blank lines, ``#`` and ``//``
comments and ConvNetJS's ``layer_defs = [];`` are ignored. Every mistake is one line that
names the line it is on.

>>> spec = parse_network("input 2\\nfc 8 relu\\nfc 4 prelu\\nsoftmax 2", features=2,
...                      problem="classification", num_classes=2,
...                      activations=("relu", "prelu"))
>>> spec.hidden, spec.activation, spec.loss
([8, 4], ['relu', 'prelu'], 'softmax')
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from chainrule.playground import limits
from chainrule.playground.limits import LimitError

__all__ = ["MAX_TEXT", "NetworkSpec", "parse_network"]

#: The longest definition accepted, in characters.
MAX_TEXT = 4000
_OBJECT = re.compile(r"\{(.*)\}")
_FIELD = re.compile(r"""(\w+)\s*:\s*(?:'([^']*)'|"([^"]*)"|([-\w.]+))""")
_OUTPUTS = {"softmax": "classification", "svm": "classification", "regression": "regression"}


@dataclass
class NetworkSpec:
    """What a definition says: hidden sizes, their activations, and the loss if it names one."""

    hidden: list[int]
    activation: list[str]
    loss: str | None = None


def _fields(line: str, where: str) -> dict[str, str]:
    """A layer as ``{"type": ..., ...}`` from either way of writing it."""
    obj = _OBJECT.search(line)
    if obj:
        fields = {k: a or b or c for k, a, b, c in _FIELD.findall(obj.group(1))}
        if "type" not in fields:
            raise LimitError(f"{where}: a layer needs a type ('input', 'fc', 'softmax', ...)")
        return fields
    words = line.replace(",", " ").split()
    kind = words[0].lower()
    keys = {"input": ("out_depth",), "fc": ("num_neurons", "activation"),
            "softmax": ("num_classes",), "svm": ("num_classes",),
            "regression": ("num_neurons",)}.get(kind)
    if keys is None:
        raise LimitError(f"{where}: unknown layer {words[0]!r}; write input N, fc N ACTIVATION, "
                         "softmax N, svm N or regression 1")
    if len(words) - 1 > len(keys):
        raise LimitError(f"{where}: too many words; write {kind} "
                         + " ".join(k.upper() for k in keys))
    return {"type": kind, **dict(zip(keys, words[1:]))}


def _count(fields: dict[str, str], key: str, where: str, low: int, high: int) -> int:
    value = fields.get(key)
    if value is None:
        raise LimitError(f"{where}: {fields['type']} needs {key}")
    if not re.fullmatch(r"\d+", value):
        raise LimitError(f"{where}: {key} must be a whole number, got {value!r}")
    number = int(value)
    if not low <= number <= high:
        raise LimitError(f"{where}: {key} {number} is outside [{low}, {high}]")
    return number


def parse_network(text: str, *, features: int, problem: str, num_classes: int,
                  activations: Sequence[str]) -> NetworkSpec:
    """The hidden layers (and the loss, if named) of a definition; a ``LimitError`` names
    the first mistake and its line. ``activations`` are the names offered."""
    if not isinstance(text, str):
        raise LimitError("network: expected the definition as text")
    if len(text) > MAX_TEXT:
        raise LimitError(f"network: the definition is longer than {MAX_TEXT} characters")
    hidden: list[int] = []
    names: list[str] = []
    loss: str | None = None
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = re.split(r"#|//", raw, maxsplit=1)[0].strip().rstrip(";")
        if not line or re.fullmatch(r"(var\s+)?layer_defs\s*=\s*\[\s*\]", line):
            continue
        where = f"network line {lineno}"
        if loss is not None:
            raise LimitError(f"{where}: nothing may follow the output layer")
        fields = _fields(line, where)
        kind = fields["type"].lower()
        if kind == "input":
            n = _count(fields, "out_depth", where, 1, 64)
            if hidden or n != features:
                raise LimitError(f"{where}: input {n}, but {features} input feature"
                                 f"{'s are' if features != 1 else ' is'} switched on"
                                 + ("" if not hidden else "; input must come first"))
        elif kind == "fc":
            if len(hidden) == limits.MAX_LAYERS:
                raise LimitError(f"{where}: at most {limits.MAX_LAYERS} hidden layers")
            hidden.append(_count(fields, "num_neurons", where, 1, limits.MAX_NEURONS))
            act = fields.get("activation", "linear").lower().replace("-", "_")
            if fields.get("group_size", "2") != "2":
                raise LimitError(f"{where}: maxout comes with group_size 2 here")
            if act not in activations:
                raise LimitError(f"{where}: unknown activation {act!r}; choose one of "
                                 + ", ".join(activations))
            names.append(act)
        elif kind in _OUTPUTS:
            if _OUTPUTS[kind] != problem:
                raise LimitError(f"{where}: {kind} is an output for {_OUTPUTS[kind]}, but the "
                                 f"problem is {problem}")
            expected = num_classes if problem == "classification" else 1
            key = "num_classes" if problem == "classification" else "num_neurons"
            if key in fields and _count(fields, key, where, 1, 64) != expected:
                raise LimitError(f"{where}: {kind} {fields[key]}, but the data have "
                                 f"{expected} {'classes' if expected != 1 else 'output'}")
            loss = kind if problem == "classification" else "regression"
        else:
            raise LimitError(f"{where}: unknown layer type {kind!r}; use input, fc, softmax, "
                             "svm or regression")
    return NetworkSpec(hidden, names, loss if loss != "regression" else None)

