"""The race as an animation for slides: the racers move over the contour map, frame by frame.

`animate_race(landscape, trajectories, "race.gif")` writes an animated GIF (with Pillow);
`.mp4` uses matplotlib's FFMpegWriter, which needs the `ffmpeg` program. A missing piece is a
`MissingPiece` error whose one line names it and the command that installs it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from typing import Any

import numpy as np

from tinygrad_opt.viz.style import line_style

__all__ = ["animate_race", "MissingPiece", "MIN_FRAMES", "MAX_FRAMES"]

MIN_FRAMES = 20  # even a short race gets enough frames to be seen moving
MAX_FRAMES = 60  # a longer one is sampled: 60 frames at 12 per second is five seconds
FPS = 12


class MissingPiece(RuntimeError):
    """An optional program or package an output needs is not installed (the message says how)."""


def animate_race(
    landscape: Any, trajectories: Mapping[str, Any], path: str | os.PathLike, *, fps: int = FPS, dpi: int = 80
) -> int:
    """Write the race as an animation to `path` (.gif or .mp4); returns the number of frames.

    Every frame draws each racer's path so far and a dot where it is, over the landscape's
    contours, with a legend naming the racers and the step shown in the title.
    """
    suffix = os.path.splitext(os.fspath(path))[1].lower()
    if suffix not in (".gif", ".mp4"):
        raise ValueError(f"an animation is written as .gif or .mp4, got {os.fspath(path)!r}")
    writer = _writer(suffix, fps)
    from tinygrad_opt.viz.plots import plot_landscape

    fig = plot_landscape(landscape, {})
    ax = fig.axes[0]
    lines, heads, paths = [], [], []
    for i, (name, trajectory) in enumerate(trajectories.items()):
        points = np.asarray(trajectory.points, dtype=np.float64)
        style = line_style(i)
        (line,) = ax.plot([], [], linewidth=2, label=name, **style)
        (head,) = ax.plot([], [], marker="o", markersize=7, color=style["color"], markeredgecolor="black")
        lines.append(line)
        heads.append(head)
        paths.append(points)
    ax.legend(loc="upper right", fontsize="small", framealpha=0.85)
    longest = max((len(points) for points in paths), default=1)
    frames = max(MIN_FRAMES, min(MAX_FRAMES, longest))
    title = ax.get_title()
    with writer.saving(fig, os.fspath(path), dpi):
        for frame in range(frames):
            at = frame * (longest - 1) / (frames - 1)  # between two steps when frames outnumber steps
            for line, head, points in zip(lines, heads, paths, strict=True):
                shown = _path_until(points, at)
                line.set_data(shown[:, 0], shown[:, 1])
                head.set_data(shown[-1:, 0], shown[-1:, 1])
            ax.set_title(f"{title}: step {int(at)}")
            writer.grab_frame()
    return frames


def _path_until(points: np.ndarray, at: float) -> np.ndarray:
    """The path up to step `at`, a fraction of the way along the segment to the next step
    (the straight line the drawn path shows there); a path that ended stays at its end."""
    whole = min(int(at), len(points) - 1)
    shown = points[: whole + 1]
    if whole + 1 < len(points) and at > whole:
        between = points[whole] + (at - whole) * (points[whole + 1] - points[whole])
        shown = np.vstack([shown, between])
    return shown


def _writer(suffix: str, fps: int) -> Any:
    """matplotlib's writer for the suffix, or MissingPiece naming what to install."""
    from matplotlib import animation

    if suffix == ".gif":
        try:
            import PIL  # noqa: F401
        except ImportError:
            raise MissingPiece("writing a .gif needs Pillow, which is missing: pip install pillow") from None
        return animation.PillowWriter(fps=fps)
    if shutil.which("ffmpeg") is None:
        raise MissingPiece("writing an .mp4 needs the ffmpeg program, which is missing: install it with "
                           "'sudo apt-get install ffmpeg' (or 'brew install ffmpeg'), or write a .gif")
    return animation.FFMpegWriter(fps=fps)
