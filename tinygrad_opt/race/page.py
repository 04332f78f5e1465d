"""The race as one self-contained HTML page: pick a landscape and a learning rate, press play.

All optimizer math happens here, in Python, through `race`: for every landscape the
page carries the racers' trajectories (the post's four and schedule-free SGD) at a
ladder of learning rates, and its
JavaScript only replays them over a contour map. Served by `tinygrad_opt.race.serve`, the
same page asks the server for new races (any start point, any learning rate).

Data layout (compact, so the file stays small): a landscape's loss surface is a grid
of log-losses quantized to uint16; a trajectory is little-endian int16 coordinates
(`POSITION_SCALE` units per view width, from the view's lower-left corner) and float32
losses, each base64-encoded.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from tinygrad_opt.race import RACER_NAMES, SUGGESTED_LR, Trajectory, escape_box, race, standard_racers
from tinygrad_opt.race.landscapes import Landscape, get, names

__all__ = ["build_page", "write_page", "landscape_data", "race_data", "learning_rates", "PAGE_RACERS"]

# The post's four, and schedule-free SGD (drawn at its average x). ScheduleFreeAdamW races
# when named (`standard_racers({"ScheduleFreeAdamW": lr})`): a sixth path at every rate would
# take the page past its budget of about a megabyte for the eight landscapes.
PAGE_RACERS = (*RACER_NAMES, "ScheduleFreeSGD")

GRID_SIZE = 100  # contour grid points per side
POSITION_SCALE = 4000  # int16 units per view width: the escape box (11 widths) fits in int16
LOSS_FLOOR = 1e-2  # contours are drawn on log10(loss + LOSS_FLOOR): every minimum here is 0
PAGE_STEPS = 200
LR_PER_DECADE = 3
LR_BELOW, LR_ABOVE = 2, 1  # decades of learning rate below and above the landscape's suggested one


def learning_rates(landscape: str) -> list[float]:
    """The ladder of learning rates the page carries for a landscape: 3 per decade, around its suggestion."""
    suggested = SUGGESTED_LR[landscape]
    exponents = range(-LR_BELOW * LR_PER_DECADE, LR_ABOVE * LR_PER_DECADE + 1)
    return [float(f"{suggested * 10 ** (k / LR_PER_DECADE):.3g}") for k in exponents]


def _b64(array: np.ndarray) -> str:
    return base64.b64encode(array.tobytes()).decode("ascii")


def encode_trajectory(trajectory: Trajectory, view: Sequence[float]) -> dict[str, Any]:
    """One racer's path as base64 int16 positions and float32 losses."""
    xmin, xmax, ymin, ymax = view
    scaled = (trajectory.points - [xmin, ymin]) / [xmax - xmin, ymax - ymin] * POSITION_SCALE
    positions = np.clip(np.round(scaled), -32768, 32767).astype("<i2")
    losses = trajectory.losses.astype("<f4")
    return {"p": _b64(positions), "l": _b64(losses), "d": trajectory.diverged}


def race_data(
    landscape: Landscape | str, lr: float, start: Sequence[float] | None = None, steps: int = PAGE_STEPS
) -> dict[str, dict[str, Any]]:
    """The page's racers at one learning rate, encoded for the page: racer name -> trajectory."""
    landscape = get(landscape) if isinstance(landscape, str) else landscape
    results = race(landscape, standard_racers(dict.fromkeys(PAGE_RACERS, lr)), start=start, steps=steps)
    return {name: encode_trajectory(trajectory, landscape.view) for name, trajectory in results.items()}


def landscape_data(landscape: Landscape, steps: int = PAGE_STEPS) -> dict[str, Any]:
    """Everything the page needs about one landscape: its surface and races at every learning rate."""
    xmin, xmax, ymin, ymax = landscape.view
    xs = np.linspace(xmin, xmax, GRID_SIZE)
    ys = np.linspace(ymin, ymax, GRID_SIZE)
    grid_x, grid_y = np.meshgrid(xs, ys)  # row i is y = ys[i]
    log_loss = np.log10(landscape(grid_x, grid_y) + LOSS_FLOOR)
    low, high = float(log_loss.min()), float(log_loss.max())
    quantized = np.round((log_loss - low) / (high - low) * 65535).astype("<u2")
    lrs = learning_rates(landscape.name)
    return {
        "name": landscape.name,
        "formula": landscape.formula,
        "about": landscape.about,
        "view": list(landscape.view),
        "minima": [list(m) for m in landscape.minima],
        "start": list(landscape.start),
        "grid": {"size": GRID_SIZE, "low": low, "high": high, "values": _b64(quantized)},
        "lrs": lrs,
        "lr_index": lrs.index(SUGGESTED_LR[landscape.name]),
        "races": [race_data(landscape, lr, steps=steps) for lr in lrs],
    }


def build_page(
    landscapes: Sequence[str] | None = None,
    steps: int = PAGE_STEPS,
    server: bool = False,
    first: str | None = None,
) -> str:
    """The page as a string: every landscape (or those named), `first` shown on opening."""
    chosen = list(names() if landscapes is None else landscapes)
    for name in chosen:
        get(name)  # a clear error for an unknown name
    if first is not None and first not in chosen:
        raise ValueError(f"first landscape {first!r} is not among {chosen}")
    data = {
        "racers": list(PAGE_RACERS),
        "steps": steps,
        "server": server,
        "position_scale": POSITION_SCALE,
        "loss_floor": LOSS_FLOOR,
        "first": first or chosen[0],
        "landscapes": [landscape_data(get(name), steps=steps) for name in chosen],
    }
    template = resources.files("tinygrad_opt.race").joinpath("page.html").read_text(encoding="utf-8")
    payload = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")  # never close the <script>
    return template.replace("/*__RACE_DATA__*/null", payload)


def write_page(path: str | Path, **options: Any) -> Path:
    """Write `build_page(**options)` to `path`; returns the path."""
    path = Path(path)
    path.write_text(build_page(**options), encoding="utf-8")
    return path


def parse_race_query(query: Mapping[str, str]) -> dict[str, Any]:
    """Check a server request's `landscape`, `lr`, `x`, `y` and `steps`; ValueError names the bad one.

    `x`, `y` must lie in the landscape's `escape_box` and `steps` from 1 to 5000.
    """
    landscape = get(query.get("landscape", ""))
    values = {}
    for key in ("lr", "x", "y"):
        try:
            values[key] = float(query[key])
        except KeyError:
            raise ValueError(f"missing parameter {key!r}") from None
        except ValueError:
            raise ValueError(f"parameter {key} must be a number, got {query[key]!r}") from None
        if not np.isfinite(values[key]):
            raise ValueError(f"parameter {key} must be finite, got {query[key]!r}")
    steps = query.get("steps", str(PAGE_STEPS))
    if not steps.isdigit() or not 1 <= int(steps) <= 5000:
        raise ValueError(f"steps must be a whole number from 1 to 5000, got {steps!r}")
    if not values["lr"] > 0:
        raise ValueError(f"lr must be positive, got {values['lr']}")
    low_x, high_x, low_y, high_y = escape_box(landscape)
    if not (low_x <= values["x"] <= high_x and low_y <= values["y"] <= high_y):
        raise ValueError(
            f"x, y = ({values['x']:g}, {values['y']:g}) is outside {landscape.name}'s escape box: "
            f"x from {low_x:g} to {high_x:g}, y from {low_y:g} to {high_y:g}"
        )
    start = (values["x"], values["y"])
    return {"landscape": landscape, "lr": values["lr"], "start": start, "steps": int(steps)}
