"""The optimizer race: several optimizers start at one point of a landscape and descend.

Each racer owns two scalar `Value`s, x and y, and an optimizer made for them. A step is
the training loop of any model, only smaller:

    optimizer.zero_grad()
    loss = landscape(x, y)      # forward: build the graph
    loss.backward()             # autograd fills x.grad and y.grad
    optimizer.step()            # the optimizer moves x and y

>>> from tinygrad_opt.race import race
>>> from tinygrad_opt.optim import SGD
>>> result = race("bowl", {"SGD": lambda params: SGD(params, lr=0.1)}, steps=15)
>>> result["SGD"].points[1].tolist(), round(float(result["SGD"].losses[-1]), 4)
([3.2, 2.4], 0.0309)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tinygrad_opt import optim
from tinygrad_opt.engine import Value
from tinygrad_opt.race.landscapes import Landscape, get

__all__ = [
    "Trajectory", "race", "standard_racers", "format_table", "escape_box", "RACER_NAMES", "MORE_RACERS",
    "SUGGESTED_LR", "MAX_STEPS",
]

# A racer "blows up" when it leaves the view box grown by this many view widths
# (heights) on every side: far enough that overshooting and coming back is allowed.
ESCAPE_MARGIN = 5.0

# The most steps a race may take: a racer keeps every point it visits (the post races 200),
# so a larger count would only fill memory; a racer that needs more wants a larger lr.
MAX_STEPS = 100_000

# The four racers of the post, in its order.
RACER_NAMES = ("SGD", "Momentum", "RMSProp", "Adam")

# Racers from after the post, raced when `standard_racers` is given their names: those that mean
# on two scalars what they mean on a network. Prodigy learns its step as it would on a network;
# the schedule-free optimizers are shown at the average x they hand back (see `race`). Left out:
# LARS (on scalars it is plain momentum SGD), Adafactor and SOAP (their point is factoring
# matrices) and SophiaG (its curvature estimate needs labels to sample, which a landscape lacks).
MORE_RACERS = ("Prodigy", "ScheduleFreeSGD", "ScheduleFreeAdamW")

# A learning rate per landscape at which the race is worth watching (all racers share it).
SUGGESTED_LR = {
    "bowl": 0.1,
    "ravine": 0.01,
    "beale_like": 0.001,
    "beale": 0.003,
    "rosenbrock": 0.001,
    "saddle": 0.01,
    "himmelblau": 0.005,
    "rastrigin": 0.01,
}


@dataclass(frozen=True)
class Trajectory:
    """Where one racer went: `points[i]` is (x, y) after i steps and `losses[i]` the loss there.

    A racer that blew up stopped early: its arrays end at the last finite point inside
    the escape box, and `diverged` is True.
    """

    points: np.ndarray  # (steps + 1, 2), fewer rows if diverged
    losses: np.ndarray  # (steps + 1,), fewer if diverged
    diverged: bool

    @property
    def final_loss(self) -> float:
        return float(self.losses[-1])

    @property
    def final_point(self) -> tuple[float, float]:
        return float(self.points[-1, 0]), float(self.points[-1, 1])


def race(
    landscape: Landscape | str,
    optimizers: Mapping[str, Callable[[list[Value]], Any]],
    start: Sequence[float] | None = None,
    steps: int = 200,
    clip_value: float | None = None,
) -> dict[str, Trajectory]:
    """Race optimizers on a landscape from one start point; returns name -> Trajectory.

    `optimizers` maps a racer's name to a factory: given the parameters [x, y] it
    returns an optimizer over them (`lambda params: SGD(params, lr=0.1)`). `start`
    defaults to the landscape's own and must lie in its `escape_box`; `steps` is at
    most `MAX_STEPS`. With `clip_value`,
    each gradient component is clipped to [-clip_value, clip_value] before the step (the
    post's `np.clip`).

    A schedule-free racer takes its gradients at y but is shown at x, the average it hands
    back (its `eval()` point), with the loss there: what it would return after that many steps.
    """
    if isinstance(landscape, str):
        landscape = get(landscape)
    if not isinstance(landscape, Landscape):
        raise TypeError(f"landscape must be a Landscape or a name, got {type(landscape).__name__}")
    if not isinstance(optimizers, Mapping) or not optimizers:
        raise ValueError(f"optimizers must be a non-empty mapping name -> factory, got {optimizers!r:.60}")
    for name, factory in optimizers.items():
        if not callable(factory):
            raise TypeError(f"optimizer {name!r} must be a factory params -> optimizer, got {factory!r:.60}")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or not 0 <= steps <= MAX_STEPS:
        raise ValueError(f"steps must be a whole number from 0 to MAX_STEPS = {MAX_STEPS:,}, got {steps!r}")
    start = _check_start(landscape.start if start is None else start, landscape)
    if clip_value is not None and not (isinstance(clip_value, (int, float)) and clip_value > 0):
        raise ValueError(f"clip_value must be a positive number or None, got {clip_value!r}")
    clip = None if clip_value is None else float(clip_value)
    return {name: _run(landscape, factory, start, int(steps), clip) for name, factory in optimizers.items()}


def _run(
    landscape: Landscape, factory: Callable, start: tuple[float, float], steps: int, clip_value: float | None
) -> Trajectory:
    """One racer: `steps` steps of its optimizer, stopping early if it blows up."""
    x, y = Value(start[0], label="x"), Value(start[1], label="y")
    optimizer = factory([x, y])
    low_x, high_x, low_y, high_y = escape_box(landscape)
    shown_at_average = isinstance(optimizer, optim.schedulefree.ScheduleFree)
    points = [start]
    losses = []
    diverged = False
    for _ in range(steps):
        optimizer.zero_grad()
        loss = landscape(x, y)
        losses.append(float(landscape(*points[-1])) if shown_at_average else loss.data)
        loss.backward()
        if clip_value is not None:
            optim.clip_grad_value([x, y], clip_value)  # the post's np.clip(grad, -c, c)
        optimizer.step()
        if shown_at_average:
            optimizer.eval()  # the parameters hold x ...
            px, py = float(x.data), float(y.data)
            optimizer.train()  # ... and y again, exactly, for the next step
        else:
            px, py = float(x.data), float(y.data)
        if not (low_x <= px <= high_x and low_y <= py <= high_y):  # also False for nan
            diverged = True
            break
        points.append((px, py))
    if len(losses) < len(points):  # the loss where the racer ended (no step, no graph)
        losses.append(float(landscape(*points[-1])))
    return Trajectory(np.array(points, dtype=np.float64), np.array(losses, dtype=np.float64), diverged)


def escape_box(landscape: Landscape) -> tuple[float, float, float, float]:
    """(xmin, xmax, ymin, ymax) of the area a racer may be in: the view grown by
    `ESCAPE_MARGIN` view widths (heights) on every side. Leaving it is blowing up."""
    xmin, xmax, ymin, ymax = landscape.view
    width, height = xmax - xmin, ymax - ymin
    return (xmin - ESCAPE_MARGIN * width, xmax + ESCAPE_MARGIN * width,
            ymin - ESCAPE_MARGIN * height, ymax + ESCAPE_MARGIN * height)


def _check_start(start: Any, landscape: Landscape) -> tuple[float, float]:
    try:
        x, y = (float(v) for v in start)
    except (TypeError, ValueError):
        raise ValueError(f"start must be two numbers (x, y), got {start!r}") from None
    if not (math.isfinite(x) and math.isfinite(y)):
        raise ValueError(f"start must be finite, got ({x}, {y})")
    low_x, high_x, low_y, high_y = escape_box(landscape)
    if not (low_x <= x <= high_x and low_y <= y <= high_y):  # there, a racer has blown up already
        raise ValueError(
            f"start ({x:g}, {y:g}) is outside {landscape.name}'s escape box: x from {low_x:g} to "
            f"{high_x:g}, y from {low_y:g} to {high_y:g}"
        )
    return x, y


def standard_racers(lr: float | Mapping[str, float]) -> dict[str, Callable[[list[Value]], Any]]:
    """The post's four racers: SGD, Momentum (beta 0.9), RMSProp (alpha 0.9), Adam (defaults).

    `lr` is one learning rate for all, or a mapping racer name -> learning rate
    (racers left out of the mapping do not race). A mapping may also name the racers of
    `MORE_RACERS`: Prodigy (defaults; its lr multiplies the step size it learns, so 1 is the
    setting to start from), ScheduleFreeSGD (momentum 0.9) and ScheduleFreeAdamW (defaults).
    """
    rates = {name: lr for name in RACER_NAMES} if not isinstance(lr, Mapping) else dict(lr)
    known = RACER_NAMES + MORE_RACERS
    unknown = sorted(set(rates) - set(known))
    if unknown:
        raise ValueError(f"unknown racer {unknown[0]!r}; racers: {', '.join(known)}")
    for name, rate in rates.items():
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not rate > 0:
            raise ValueError(f"learning rate for {name} must be a positive number, got {rate!r}")
    makers = {
        "SGD": lambda params, rate: optim.SGD(params, lr=rate),
        "Momentum": lambda params, rate: optim.SGD(params, lr=rate, momentum=0.9),
        "RMSProp": lambda params, rate: optim.RMSProp(params, lr=rate, alpha=0.9),
        "Adam": lambda params, rate: optim.Adam(params, lr=rate),
        "Prodigy": lambda params, rate: optim.Prodigy(params, lr=rate),
        "ScheduleFreeSGD": lambda params, rate: optim.ScheduleFreeSGD(params, lr=rate),
        "ScheduleFreeAdamW": lambda params, rate: optim.ScheduleFreeAdamW(params, lr=rate),
    }
    return {
        name: (lambda params, make=makers[name], rate=rates[name]: make(params, rate))
        for name in known
        if name in rates
    }


def format_table(results: Mapping[str, Trajectory]) -> str:
    """The post's table: optimizer, final loss, final position, and whether it diverged."""
    width = max(12, *(len(name) for name in results))  # the post's 12, wider for a longer name
    header = f"{'Optimizer':<{width}} {'Final Loss':>12} {'Final Position':>20}  Diverged"
    lines = [header, "-" * (width + 46)]  # 58 dashes in the post
    for name, trajectory in results.items():
        x, y = trajectory.final_point
        position = f"({x:.4f}, {y:.4f})"
        lines.append(f"{name:<{width}} {trajectory.final_loss:12.6f} {position:>20}  {trajectory.diverged}")
    return "\n".join(lines)
