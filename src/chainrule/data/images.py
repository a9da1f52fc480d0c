"""One image file, opened safely: a bound on its pixels, and one error type for every failure.

An image is untrusted input: a 50 KB PNG can declare 50,000 x 50,000 pixels and inflate to
gigabytes when decoded (a "decompression bomb"). :func:`open_image` reads only the header,
refuses images of more than :data:`MAX_PIXELS` pixels before anything is decoded, and turns
every way Pillow can fail (unknown format, truncated data, a bomb) into a
:class:`~chainrule.errors.DataError` naming the file. :func:`check_member_size` does the same
for a file inside an archive before it is inflated.

>>> img = open_image(Path("cat.png").read_bytes(), "cat.png")       # doctest: +SKIP
>>> img.size                                                        # doctest: +SKIP
(640, 480)
"""

from __future__ import annotations

import io
import re
import struct
import warnings
from collections.abc import Sequence
from typing import Any

from chainrule.errors import DataError

__all__ = ["DECODE_ERRORS", "MAX_FILE_BYTES", "MAX_PIXELS", "check_member_size", "open_image",
           "pillow"]

#: The most pixels an image may have: Pillow's own limit (89,478,485, about 9,500 x 9,500).
#: Pillow only warns up to twice that; chainrule refuses.
MAX_PIXELS = 89_478_485
#: The largest image file read from an archive (inflated size).
MAX_FILE_BYTES = 256 * 1024 * 1024
#: What Pillow raises on malformed data (its decoders are fuzzed against all of these).
DECODE_ERRORS = (OSError, ValueError, SyntaxError, EOFError, IndexError, KeyError, TypeError,
                 ZeroDivisionError, struct.error)


def pillow() -> Any:
    """``PIL.Image``, or a :class:`DataError` saying how to install it."""
    try:
        from PIL import Image
    except ImportError:
        raise DataError("reading images needs Pillow: pip install 'chainrule[data]'") from None
    return Image


def open_image(data: bytes, where: str, formats: Sequence[str] | None = None,
               unreadable: str = "unreadable image") -> Any:
    """The image in ``data`` opened (header read, pixels not yet decoded), size checked.

    ``formats`` are tried first (e.g. ``["PNG"]`` for a ``.png``); ``where`` names the file in
    errors, ``unreadable`` says what a file Pillow cannot read is. Call ``.load()`` or
    ``.convert()`` on the result to decode it.
    """
    Image = pillow()
    try:
        with warnings.catch_warnings():  # a bomb is refused below, not warned about
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = None
            if formats:
                try:
                    img = Image.open(io.BytesIO(data), formats=list(formats))
                except Image.UnidentifiedImageError:
                    img = None  # e.g. a PNG saved as .jpg: let Pillow probe every format
            if img is None:
                img = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as e:  # over twice Pillow's limit: it says how many
        found = re.search(r"\((\d+) pixels\)", str(e))
        size = f"{int(found.group(1)):,} pixels" if found else "too many pixels"
        raise DataError(f"{where}: refused: {size}, more than the {MAX_PIXELS:,} an image may "
                        "have (a decompression bomb, or not a picture to classify)") from None
    except DECODE_ERRORS as e:  # UnidentifiedImageError is an OSError
        raise DataError(f"{where}: {unreadable} ({e})") from None
    width, height = img.size
    if width * height > MAX_PIXELS:
        img.close()
        raise DataError(f"{where}: refused: {width} x {height} = {width * height:,} pixels, "
                        f"more than the {MAX_PIXELS:,} an image may have (a decompression "
                        "bomb, or not a picture to classify)")
    return img


def check_member_size(where: str, size: int) -> None:
    """Refuse an image file (on disk, or in an archive once inflated) of more than
    :data:`MAX_FILE_BYTES`, before reading it."""
    if size > MAX_FILE_BYTES:
        raise DataError(f"{where}: refused: {size:,} bytes, more than the {MAX_FILE_BYTES:,} "
                        "an image file may have (a decompression bomb, or not an image)")
