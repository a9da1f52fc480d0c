"""Hand-made image features, the lecture's alternative to features learned end to end.

All extractors work on a batch of images ``(N, H, W, C)`` (``C`` 1 or 3; uint8 or floats in
[0, 1]) at once, in NumPy:

- :func:`color_histogram`: fraction of pixels per hue (or saturation/value/joint) bin;
- :func:`hog`: Histogram of Oriented Gradients, equal to ``skimage.feature.hog``;
- :func:`gabor_bank`, :func:`gabor_features`: pooled Gabor filter responses;
- :class:`BagOfWords`: k-means codebook of patches, histogram of visual words;
- :func:`polar`: the ``(x, y) -> (r, theta)`` transform that makes circles separable;
- :class:`FeaturePipeline`: concatenation + standardization, saved with checkpoints.

>>> import numpy as np, chainrule as cr
>>> images = np.zeros((2, 240, 320, 3), np.uint8)
>>> cr.features.hog(images, cell_size=8).shape      # the lecture's 40 x 30 x 9
(2, 10800)
"""

from chainrule.features.bow import BagOfWords
from chainrule.features.color import color_histogram
from chainrule.features.gabor import GaborBank, gabor_bank, gabor_features, gabor_kernel
from chainrule.features.oriented_gradients import hog, hog_output_shape
from chainrule.features.pipeline import (
    EXTRACTORS,
    HOG,
    ColorHistogram,
    FeaturePipeline,
    GaborFeatures,
)
from chainrule.features.transforms import polar

__all__ = [
    "EXTRACTORS", "HOG", "BagOfWords", "ColorHistogram", "FeaturePipeline", "GaborBank",
    "GaborFeatures", "color_histogram", "gabor_bank", "gabor_features", "gabor_kernel", "hog",
    "hog_output_shape", "polar",
]
