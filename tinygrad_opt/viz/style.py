"""Line styles that stay apart on a projector: 13 and more curves, each its own colour and dash.

Colours from matplotlib's tab10 without its grey (which vanishes on a contour map) plus four
strong ones; none white or pale, so a path stays visible on the light end of a colour map.
Dashes cycle through four patterns beside the colours, so no two of the first 52 curves look alike.
"""

from __future__ import annotations

COLORS = (
    "#d62728", "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#bcbd22",
    "#17becf", "#000000", "#ff00ff", "#00a86b", "#7f0000",
)
DASHES = ("-", "--", "-.", ":")


def line_style(i: int) -> dict[str, str]:
    """The colour and line style of curve `i` (0, 1, ...): `ax.plot(x, y, **line_style(i))`."""
    return {"color": COLORS[i % len(COLORS)], "linestyle": DASHES[i % len(DASHES)]}
