"""The race as one self-contained HTML page: pick a landscape and each racer's learning rate, press play.

All optimizer math happens here, in Python, through `race`: for every landscape the
page carries each racer's trajectories (every racer of `ALL_RACERS`) on a ladder of
learning rates of its own, and its JavaScript only replays them over a contour map.
Served by `tinygrad_opt.race.serve`, the same page asks the server for new races (any
start point, any learning rate).

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

from tinygrad_opt.race import (
    ALL_RACERS,
    RACER_NAMES,
    Trajectory,
    escape_box,
    race,
    racer_name,
    racer_rates,
    standard_racers,
    suggested_lr,
)
from tinygrad_opt.race.landscapes import Landscape, get, names

__all__ = ["build_page", "write_page", "landscape_data", "race_data", "learning_rates", "PAGE_RACERS"]

# Every racer: the page has a switch and a learning-rate slider for each; the post's four start on.
PAGE_RACERS = ALL_RACERS

GRID_SIZE = 100  # contour grid points per side
POSITION_SCALE = 4000  # int16 units per view width: the escape box (11 widths) fits in int16
LOSS_FLOOR = 1e-2  # contours are drawn on log10(loss + LOSS_FLOOR): every minimum here is 0
PAGE_STEPS = 200
LR_PER_DECADE = 2  # a racer's ladder of learning rates: 2 per decade ...
LR_SPAN = 3  # ... and 3 rungs on each side of its centre (from 1/31.6 to 31.6 times it)


def learning_rates(centre: float) -> list[float]:
    """A racer's ladder of learning rates: `centre` and 3 rungs each side, 2 per decade."""
    rungs = [float(f"{centre * 10 ** (k / LR_PER_DECADE):.3g}") for k in range(-LR_SPAN, LR_SPAN + 1)]
    rungs[LR_SPAN] = float(centre)  # exactly the rate asked for
    return rungs


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
    landscape: Landscape | str,
    lr: float | Mapping[str, float],
    start: Sequence[float] | None = None,
    steps: int = PAGE_STEPS,
    clip_value: float | None = None,
) -> dict[str, dict[str, Any]]:
    """Racers encoded for the page: racer name -> trajectory. `lr` is one rate for every
    racer of `PAGE_RACERS`, or a mapping racer -> rate (those racers only)."""
    landscape = get(landscape) if isinstance(landscape, str) else landscape
    rates = dict.fromkeys(PAGE_RACERS, lr) if not isinstance(lr, Mapping) else lr
    results = race(landscape, standard_racers(rates), start=start, steps=steps, clip_value=clip_value)
    return {name: encode_trajectory(trajectory, landscape.view) for name, trajectory in results.items()}


def landscape_data(
    landscape: Landscape,
    steps: int = PAGE_STEPS,
    start: Sequence[float] | None = None,
    clip_value: float | None = None,
    rates: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """Everything the page needs about one landscape: its surface, and every racer's races along
    its ladder of learning rates, centred on `rates[racer]` (by default `suggested_lr`)."""
    xmin, xmax, ymin, ymax = landscape.view
    xs = np.linspace(xmin, xmax, GRID_SIZE)
    ys = np.linspace(ymin, ymax, GRID_SIZE)
    grid_x, grid_y = np.meshgrid(xs, ys)  # row i is y = ys[i]
    log_loss = np.log10(landscape(grid_x, grid_y) + LOSS_FLOOR)
    low, high = float(log_loss.min()), float(log_loss.max())
    quantized = np.round((log_loss - low) / (high - low) * 65535).astype("<u2")
    centres = {name: suggested_lr(name, landscape) for name in PAGE_RACERS}
    centres.update({racer_name(name): rate for name, rate in (rates or {}).items()})
    ladders = {name: learning_rates(centre) for name, centre in centres.items()}
    start = landscape.start if start is None else start
    rungs = [race_data(landscape, {name: ladder[k] for name, ladder in ladders.items()}, start=start,
                       steps=steps, clip_value=clip_value) for k in range(2 * LR_SPAN + 1)]
    return {
        "name": landscape.name,
        "formula": landscape.formula,
        "about": landscape.about,
        "view": list(landscape.view),
        "minima": [list(m) for m in landscape.minima],
        "start": [float(v) for v in start],
        "grid": {"size": GRID_SIZE, "low": low, "high": high, "values": _b64(quantized)},
        "lrs": ladders,
        "lr_index": LR_SPAN,
        "races": {name: [rung[name] for rung in rungs] for name in PAGE_RACERS},
    }


def build_page(
    landscapes: Sequence[str] | None = None,
    steps: int = PAGE_STEPS,
    server: bool = False,
    first: str | None = None,
    start: Sequence[float] | None = None,
    clip_value: float | None = None,
    rates: Mapping[str, float] | None = None,
) -> str:
    """The page as a string: every landscape (or those named), `first` shown on opening.

    `start` and `rates` (racer -> learning rate, the centres of their ladders) are for the
    first landscape, whose racers named in `rates` are the ones switched on at opening (else
    the post's four); `steps` and `clip_value` for every race.
    """
    chosen = list(names() if landscapes is None else landscapes)
    for name in chosen:
        get(name)  # a clear error for an unknown name
    if first is not None and first not in chosen:
        raise ValueError(f"first landscape {first!r} is not among {chosen}")
    first = first or chosen[0]
    rates = racer_rates(rates or {})
    data = {
        "racers": list(PAGE_RACERS),
        "on": list(rates) or list(RACER_NAMES),
        "steps": steps,
        "clip": clip_value,
        "server": server,
        "position_scale": POSITION_SCALE,
        "loss_floor": LOSS_FLOOR,
        "first": first,
        "landscapes": [
            landscape_data(get(name), steps=steps, clip_value=clip_value,
                           start=start if name == first else None, rates=rates if name == first else None)
            for name in chosen
        ],
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
    """Check a server request's `landscape`, `x`, `y`, learning rates, `steps` and `clip`;
    ValueError names the bad one.

    `lr` is one rate for every page racer, `lr.NAME` one racer's (the request races those
    named); `x`, `y` must lie in the landscape's `escape_box`, `steps` from 1 to 5000 and
    `clip`, when given, be positive.
    """
    landscape = get(query.get("landscape", ""))
    values = {}
    for key in ("x", "y"):
        values[key] = _number(query, key)
    rates: dict[str, float] = {}
    for key in query:
        if key.startswith("lr."):
            rates[racer_name(key[3:])] = _positive(query, key)
    lr: float | dict[str, float] = rates
    if not rates:
        if "lr" not in query:
            raise ValueError("missing parameter 'lr' (or 'lr.NAME' for one racer)")
        lr = _positive(query, "lr")
    steps = query.get("steps", str(PAGE_STEPS))
    if not steps.isdigit() or not 1 <= int(steps) <= 5000:
        raise ValueError(f"steps must be a whole number from 1 to 5000, got {steps!r}")
    clip = _positive(query, "clip") if query.get("clip") else None
    low_x, high_x, low_y, high_y = escape_box(landscape)
    if not (low_x <= values["x"] <= high_x and low_y <= values["y"] <= high_y):
        raise ValueError(
            f"x, y = ({values['x']:g}, {values['y']:g}) is outside {landscape.name}'s escape box: "
            f"x from {low_x:g} to {high_x:g}, y from {low_y:g} to {high_y:g}"
        )
    start = (values["x"], values["y"])
    return {"landscape": landscape, "lr": lr, "start": start, "steps": int(steps), "clip_value": clip}


def _number(query: Mapping[str, str], key: str) -> float:
    try:
        value = float(query[key])
    except KeyError:
        raise ValueError(f"missing parameter {key!r}") from None
    except ValueError:
        raise ValueError(f"parameter {key} must be a number, got {query[key]!r}") from None
    if not np.isfinite(value):
        raise ValueError(f"parameter {key} must be finite, got {query[key]!r}")
    return value


def _positive(query: Mapping[str, str], key: str) -> float:
    value = _number(query, key)
    if not value > 0:
        raise ValueError(f"{key} must be positive, got {value}")
    return value
