"""How an image looks next to the training images (train/image_look.py)."""

from __future__ import annotations

import numpy as np

from chainrule.train.image_look import ImageLook, fit_to_drawing, look_warnings, training_look
from chainrule.train.preprocess import Preprocessor


def test_background_and_extent_of_a_drawing() -> None:
    light_on_dark = np.zeros((20, 20))
    light_on_dark[5:15, 8:12] = 1.0                 # 10 rows, 4 columns of ink
    look = ImageLook.of(light_on_dark)
    assert look.background == 0.0 and look.dark_background
    assert look.extent == 0.5
    look = ImageLook.of(1.0 - light_on_dark)
    assert look.background == 1.0 and not look.dark_background and look.extent == 0.5
    assert ImageLook.of(np.full((5, 5), 0.7)).extent == 0.0


def test_the_training_look_comes_from_the_mean_image_of_a_pixel_run() -> None:
    images = np.zeros((20, 8, 8, 1), dtype=np.uint8)
    images[:, 1:7, 2:6] = 200                       # light strokes, 6 of 8 rows
    pre = Preprocessor().fit(images)
    look = training_look(pre)
    assert look.dark_background and look.extent == 0.75
    assert training_look(Preprocessor("hog")) is None


def test_warnings_name_the_option_that_fixes_the_image() -> None:
    train = ImageLook(background=0.02, extent=0.9)
    (polarity,) = look_warnings("a.png", ImageLook(0.98, 0.9), train)
    assert "a.png: light background" in polarity and polarity.endswith("add --invert")
    (drop,) = look_warnings("a.png", ImageLook(0.98, 0.9), train, inverted=True)
    assert drop.endswith("drop --invert")
    (size,) = look_warnings("b.png", ImageLook(0.0, 0.2), train)
    assert "fills 20% of the image, the training images' 90%" in size
    assert size.endswith("add --fit to crop the image to the drawing")
    assert look_warnings("b.png", ImageLook(0.0, 0.2), train, fitted=True) == []
    assert look_warnings("c.png", ImageLook(0.01, 0.8), train) == []
    assert look_warnings("d.png", ImageLook(0.0, 0.0), train) == [
        "d.png: no drawing found (the image is one flat colour)"]


def test_fit_crops_to_the_drawing_with_the_training_margin() -> None:
    image = np.full((100, 100, 1), 255, dtype=np.uint8)   # white paper
    image[40:60, 45:55] = 0                                # a small dark stroke, 20 tall
    gray = image[..., 0] / 255.0
    fitted = fit_to_drawing(gray, image, ImageLook(background=0.0, extent=0.5))
    assert fitted.shape == (40, 40, 1)                     # the stroke fills half of it
    assert ImageLook.of(fitted[..., 0] / 255.0).extent == 0.5
    assert fitted[0, 0, 0] == 255                          # padded with the background
    near_edge = np.full((50, 50, 1), 255, dtype=np.uint8)
    near_edge[0:10, 0:10] = 0                              # a square in the corner
    out = fit_to_drawing(near_edge[..., 0] / 255.0, near_edge, ImageLook(0.0, 0.5))
    assert out.shape == (20, 20, 1) and (out == 0).sum() == 100
