"""What the plots return: a matplotlib Figure that Jupyter shows as a picture by itself.

A Figure made without pyplot (as `tinygrad_opt.viz.plots` makes them, so that no window opens and
no backend changes) has no display hook in a fresh Jupyter kernel: it prints as
`<Figure size 640x400 with 1 Axes>`. `shown_in_jupyter(fig)` gives the figure the
`_repr_png_` that Jupyter asks for, so `plot_losses(...)` as a cell's last line shows the plot,
with no `%matplotlib` and no pyplot import. The figure stays matplotlib's own Figure.
"""

from __future__ import annotations

import functools
import io
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["shown_in_jupyter", "png_bytes", "DISPLAY_DPI"]

DISPLAY_DPI = 100  # pixels per inch of the picture Jupyter shows (a 6.4 x 4 inch plot: 640 x 400)


def png_bytes(fig: Figure, dpi: int = DISPLAY_DPI) -> bytes:
    """The figure as a PNG file's bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def shown_in_jupyter(fig: Figure) -> Figure:
    """`fig`, given the `_repr_png_` Jupyter displays (IPython looks it up on the object)."""
    fig._repr_png_ = functools.partial(png_bytes, fig)
    return fig
