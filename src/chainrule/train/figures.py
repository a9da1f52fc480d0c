"""Figures for the self-contained HTML reports: matplotlib (Agg) figures as base64 PNGs.

>>> plt = pyplot()                                        # doctest: +SKIP
>>> fig, ax = plt.subplots()                              # doctest: +SKIP
>>> img_tag(png_base64(fig), "a plot")                    # doctest: +SKIP
'<img alt="a plot" src="data:image/png;base64,iVBORw0...">'
"""

from __future__ import annotations

import base64
import html
import io
from typing import Any

__all__ = ["img_tag", "png_base64", "pyplot"]


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def png_base64(fig: Any, dpi: int = 96) -> str:
    """The figure as a base64 PNG (tight bounding box); the figure is closed."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    pyplot().close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def img_tag(png: str, alt: str) -> str:
    """An ``<img>`` element that embeds the base64 PNG ``png``."""
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{png}">'
