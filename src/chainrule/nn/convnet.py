"""ConvNet: a small VGG-style convolutional network, the features learned end to end.

The lecture sets hand-made image features (colour histograms, HOG) against features that
a network learns jointly with its classifier. ``ConvNet`` is that network, described by a
short spec of blocks::

    "32 32 pool 64 64 pool 128 128 pool"

Each number is a 3x3 convolution with that many filters (padding 1, so the image keeps
its size) followed by batch norm and ReLU; ``pool`` halves the image with a 2x2 max pool.
After the blocks come global average pooling (one number per channel) and a linear
classifier. ``ConvNet`` is an ``nn.Sequential`` numbered in that order, so its state dict
loads into the ``torch.nn.Sequential`` of the same layers (and back), as ``MLP``'s does.

>>> model = nn.ConvNet(3, 10, "32 pool 64 pool")
>>> model(cr.randn(8, 3, 32, 32)).shape
(8, 10)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chainrule.errors import ConfigError
from chainrule.nn.activations import ReLU
from chainrule.nn.conv import Conv2d
from chainrule.nn.layers import Dropout, Flatten, Linear, Sequential
from chainrule.nn.module import Module
from chainrule.nn.normalization import BatchNorm2d
from chainrule.nn.pooling import AdaptiveAvgPool2d, MaxPool2d

__all__ = ["ConvNet", "convnet_state_shapes", "default_conv_spec", "parse_conv_spec"]

#: The word for a 2x2 max pool in a spec (``M`` is VGG's own notation).
POOL_WORDS = ("pool", "p", "m", "max")


def parse_conv_spec(spec: str | Sequence[Any]) -> list[int | str]:
    """``"32 32 pool 64"`` (or a list of ints and ``'pool'``) as ``[32, 32, 'pool', 64]``.

    Numbers are the filters of a 3x3 convolution; ``pool`` (also ``p``, ``M``) is a 2x2
    max pool. Commas work as spaces.

    >>> parse_conv_spec("32,32,M,64")
    [32, 32, 'pool', 64]
    """
    tokens = spec.replace(",", " ").split() if isinstance(spec, str) else list(spec)
    blocks: list[int | str] = []
    for t in tokens:
        word = str(t).strip().lower()
        if word in POOL_WORDS:
            blocks.append("pool")
        elif word.isdigit() and int(word) >= 1:
            blocks.append(int(word))
        else:
            raise ConfigError(f"conv spec: {t!r} is neither a number of filters nor 'pool' "
                              f"(e.g. '32 32 pool 64 64 pool')")
    if not any(isinstance(b, int) for b in blocks):
        raise ConfigError(f"conv spec: {spec!r} has no convolution (e.g. '32 32 pool 64 64 pool')")
    return blocks


def default_conv_spec(image_size: int) -> list[int | str]:
    """A spec sized for the images: 8x8 digits, 28x28 MNIST, 32x32 CIFAR-10.

    Each pool halves the image; the blocks stop while a few pixels are left, and the
    channels double at each pool (VGG's rule). For 32x32 colour images the first block
    has one convolution, not two: at full size a layer costs 4x as much as at 16x16, and
    the time is better spent on more epochs (the CIFAR-10 net trains in under 30 minutes
    on two CPU cores).
    """
    if image_size <= 8:
        return [32, "pool", 64, 64]
    if image_size <= 28:
        return [32, 32, "pool", 64, 64, "pool"]
    return [32, "pool", 64, "pool", 128, 128, "pool"]


class ConvNet(Sequential):
    """Conv blocks, global average pooling and a linear classifier (see the module doc).

    ``blocks`` is a spec (:func:`parse_conv_spec`); ``batchnorm=False`` leaves out the
    batch norm layers (the convolutions then get a bias); ``dropout`` > 0 adds a dropout
    layer before the classifier. ``dtype`` and ``device`` go to every layer.

    >>> net = nn.ConvNet(1, 10, [8, "pool", 16])
    >>> [type(m).__name__ for m in net]
    ['Conv2d', 'BatchNorm2d', 'ReLU', 'MaxPool2d', 'Conv2d', 'BatchNorm2d', 'ReLU', \
'AdaptiveAvgPool2d', 'Flatten', 'Linear']
    >>> nn.build_model(net.config())           # the same architecture, new weights
    """

    def __init__(self, in_channels: int, num_classes: int,
                 blocks: str | Sequence[Any] = "32 pool 64 pool 128 128 pool",
                 batchnorm: bool = True, dropout: float = 0.0, dtype: Any = None,
                 device: Any = None) -> None:
        if in_channels < 1 or num_classes < 1:
            raise ValueError(f"ConvNet: in_channels and num_classes must be >= 1, got "
                             f"{in_channels} and {num_classes}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"ConvNet: dropout must be in [0, 1), got {dropout}")
        spec = parse_conv_spec(blocks)
        layers: list[Module] = []
        channels = int(in_channels)
        for block in spec:
            if block == "pool":
                layers.append(MaxPool2d(2))
                continue
            layers.append(Conv2d(channels, int(block), 3, padding=1, bias=not batchnorm,
                                 dtype=dtype, device=device))
            if batchnorm:
                layers.append(BatchNorm2d(int(block), dtype=dtype, device=device))
            layers.append(ReLU())
            channels = int(block)
        layers += [AdaptiveAvgPool2d(1), Flatten()]
        if dropout > 0:
            layers.append(Dropout(dropout))
        layers.append(Linear(channels, int(num_classes), dtype=dtype, device=device))
        super().__init__(*layers)
        self.in_channels = int(in_channels)
        self.num_classes = int(num_classes)
        self.blocks = spec
        self.batchnorm = bool(batchnorm)
        self.dropout = float(dropout)

    def config(self) -> dict[str, Any]:
        """The constructor's arguments as a JSON-able dict (``nn.build_model`` inverts it)."""
        return {"type": "ConvNet", "in_channels": self.in_channels,
                "num_classes": self.num_classes, "blocks": list(self.blocks),
                "batchnorm": self.batchnorm, "dropout": self.dropout}

    @property
    def spec(self) -> str:
        """The blocks as a spec string, ``'32 32 pool 64'``."""
        return " ".join(str(b) for b in self.blocks)


def _count(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"ConvNet config: {name} must be a whole number >= 1, got {value!r}")
    return value


def convnet_state_shapes(args: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    """The state dict's names and shapes of ``ConvNet(**args)``, allocating nothing (a
    checkpoint's architecture is checked against its tensors with this).

    >>> convnet_state_shapes({"in_channels": 1, "num_classes": 2, "blocks": [4]})["0.weight"]
    (4, 1, 3, 3)
    """
    channels = _count("in_channels", args["in_channels"])
    classes = _count("num_classes", args["num_classes"])
    batchnorm = args.get("batchnorm", True)
    dropout = args.get("dropout", 0.0)
    if not isinstance(batchnorm, bool):
        raise ValueError(f"ConvNet config: batchnorm must be true or false, got {batchnorm!r}")
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) \
            or not 0.0 <= dropout < 1.0:
        raise ValueError(f"ConvNet config: dropout must be a number in [0, 1), got {dropout!r}")
    shapes: dict[str, tuple[int, ...]] = {}
    i = 0
    for block in parse_conv_spec(args["blocks"]):
        if block == "pool":
            i += 1
            continue
        shapes[f"{i}.weight"] = (int(block), channels, 3, 3)
        if not batchnorm:
            shapes[f"{i}.bias"] = (int(block),)
        i += 1
        if batchnorm:
            for key in ("weight", "bias", "running_mean", "running_var"):
                shapes[f"{i}.{key}"] = (int(block),)
            shapes[f"{i}.num_batches_tracked"] = ()
            i += 1
        i += 1  # ReLU
        channels = int(block)
    i += 2 + (dropout > 0)  # global average pooling, Flatten, Dropout
    shapes[f"{i}.weight"], shapes[f"{i}.bias"] = (classes, channels), (classes,)
    return shapes

