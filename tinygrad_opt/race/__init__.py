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
    "Trajectory", "RaceResult", "race", "standard_racers", "format_table", "escape_box", "RACER_NAMES",
    "MORE_RACERS", "ALL_RACERS", "CANNOT_RACE", "SUGGESTED_LR", "MAX_STEPS", "suggested_lr", "racer_name",
    "racer_rates",
]

# A racer "blows up" when it leaves the view box grown by this many view widths
# (heights) on every side: far enough that overshooting and coming back is allowed.
ESCAPE_MARGIN = 5.0

# The most steps a race may take: a racer keeps every point it visits (the post races 200),
# so a larger count would only fill memory; a racer that needs more wants a larger lr.
MAX_STEPS = 100_000

# The four racers of the post, in its order.
RACER_NAMES = ("SGD", "Momentum", "RMSProp", "Adam")

# Racers the post did not race, raced when `standard_racers` is given their names: those that mean
# on two scalars what they mean on a network. Prodigy learns its step as it would on a network;
# the schedule-free optimizers are shown at the average x they hand back (see `race`); L-BFGS
# gets its closure from the race, one iteration a step. The others of `optim` are in `CANNOT_RACE`.
MORE_RACERS = (
    "Prodigy", "ScheduleFreeSGD", "ScheduleFreeAdamW",
    "Nesterov", "Adagrad", "AdamW", "NAdam", "RAdam", "Lion", "L-BFGS",
)

# Every racer, ordered as optim.md orders them: by increasing complexity.
ALL_RACERS = (
    "SGD", "Momentum", "Nesterov", "Adagrad", "RMSProp", "Adam", "AdamW", "NAdam", "RAdam", "Lion", "L-BFGS",
    "Prodigy", "ScheduleFreeSGD", "ScheduleFreeAdamW",
)

# Optimizers of `optim` that do not race on two scalars, and why (said before any step is taken).
CANNOT_RACE = {
    "Muon": "Muon orthogonalises the update of a matrix; on two scalars it takes AdamW steps at "
            "adamw_lr and never reads lr, so race AdamW instead",
    "LAMB": "LAMB scales each parameter's step by |p| / |update|: on a scalar every step is lr * |p|, "
            "so x and y shrink or grow geometrically, never change sign and collapse towards 0; "
            "it is meant for layers (tensors)",
    "LARS": "LARS scales each layer's step by its norm; on two scalars that is momentum SGD with "
            "a step proportional to |p|, so race Momentum instead",
    "Adafactor": "Adafactor factors the second moments of matrices; on scalars there is nothing to factor",
    "SOAP": "SOAP preconditions matrices in their eigenbasis; on two scalars it is AdamW that skips "
            "its first step, so race AdamW instead",
    "SophiaG": "SophiaG estimates curvature from labels it samples, and a landscape has no labels",
}

# A learning rate per landscape at which the race of the post's four is worth watching (they share it).
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

# Racers whose step is about lr whatever the gradient's size (they divide by its running scale, or
# take its sign): their rate is a distance, a fraction of the view, and not the SGD family's.
STEP_SIZE_RACERS = ("RMSProp", "Adam", "AdamW", "NAdam", "RAdam", "ScheduleFreeAdamW")


def suggested_lr(racer: str, landscape: Landscape | str) -> float:
    """A learning rate at which `racer` is worth watching on `landscape`.

    The SGD family takes `SUGGESTED_LR`; racers whose step is about lr (Adam and its kin) a
    hundredth of the view's smaller side, Lion (a step of exactly lr per coordinate) half that,
    Adagrad (whose steps shrink as 1/sqrt(t)) ten times that; Prodigy and L-BFGS 1, the rate they
    are meant to run at.
    """
    landscape = get(landscape) if isinstance(landscape, str) else landscape
    racer = racer_name(racer)
    xmin, xmax, ymin, ymax = landscape.view
    side = min(xmax - xmin, ymax - ymin)
    if racer in ("Prodigy", "L-BFGS"):
        return 1.0
    if racer == "Adagrad":
        return float(f"{side / 10:.2g}")
    if racer == "Lion":
        return float(f"{side / 200:.2g}")
    if racer in STEP_SIZE_RACERS:
        return float(f"{side / 100:.2g}")
    return SUGGESTED_LR[landscape.name]


def racer_rates(rates: Mapping[str, Any]) -> dict[str, float]:
    """`{racer: learning rate}` with each name as `racer_name` spells it and each rate a finite
    number > 0; a ValueError names the racer and the rate otherwise."""
    checked = {}
    for name, rate in rates.items():
        racer = racer_name(name)
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 < rate < math.inf:
            raise ValueError(f"learning rate for {racer} must be a finite number > 0, got {rate!r}")
        checked[racer] = float(rate)
    return checked


def racer_name(name: str) -> str:
    """The racer called `name` (any letter case: "adam" is Adam); a ValueError says why an
    optimizer cannot race (`CANNOT_RACE`) or lists the racers."""
    by_lower = {racer.lower(): racer for racer in (*ALL_RACERS, *CANNOT_RACE)}
    found = by_lower.get(str(name).lower().replace("lbfgs", "l-bfgs"))
    racers = ", ".join(RACER_NAMES + MORE_RACERS)
    if found in CANNOT_RACE:
        raise ValueError(f"{found} cannot race: {CANNOT_RACE[found]}; racers: {racers}")
    if found is None:
        raise ValueError(f"unknown racer {name!r}; racers: {racers}")
    return found


@dataclass(frozen=True, repr=False)
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

    def __repr__(self) -> str:  # one line, not the hundreds of rows of its arrays
        x, y = self.final_point
        ending = "diverged" if self.diverged else "final loss"
        steps = len(self.points) - 1
        return f"Trajectory({steps} steps, {ending} {self.final_loss:.6g} at ({x:.4g}, {y:.4g}))"


class RaceResult(dict):
    """What `race` returns: a dict racer name -> Trajectory that prints as the post's table
    and, in Jupyter, shows as a picture of the paths over the landscape (with matplotlib)."""

    def __init__(self, landscape: Landscape, trajectories: Mapping[str, Trajectory]) -> None:
        super().__init__(trajectories)
        self.landscape = landscape

    def __repr__(self) -> str:
        return f"race on {self.landscape.name}, {self.landscape.formula}\n{format_table(self)}"

    def _repr_png_(self) -> bytes | None:
        try:
            from tinygrad_opt.viz.plots import plot_landscape
        except ImportError:  # no matplotlib: the text is all there is
            return None
        return plot_landscape(self.landscape, self)._repr_png_()


def race(
    landscape: Landscape | str,
    optimizers: Mapping[str, Callable[[list[Value]], Any]],
    start: Sequence[float] | None = None,
    steps: int = 200,
    clip_value: float | None = None,
) -> RaceResult:
    """Race optimizers on a landscape from one start point; returns name -> Trajectory
    (a `RaceResult`: a dict that prints as the post's table).

    `optimizers` maps a racer's name to a factory: given the parameters [x, y] it
    returns an optimizer over them (`lambda params: SGD(params, lr=0.1)`). `start`
    defaults to the landscape's own and must lie in its `escape_box`; `steps` is at
    most `MAX_STEPS`. With `clip_value`,
    each gradient component is clipped to [-clip_value, clip_value] before the step (the
    post's `np.clip`).

    A schedule-free racer takes its gradients at y but is shown at x, the average it hands
    back (its `eval()` point), with the loss there: what it would return after that many steps.
    L-BFGS gets a closure (zero the gradients, the loss, backward, clip) and makes one step of
    its own a race step. An optimizer of `CANNOT_RACE` is refused, saying why, before any step.
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
    racers = {}
    for name, factory in optimizers.items():  # every racer checked before the first step
        x, y = Value(start[0], label="x"), Value(start[1], label="y")
        optimizer = factory([x, y])
        for kind, reason in CANNOT_RACE.items():
            if type(optimizer).__name__ == kind:
                raise ValueError(f"racer {name!r} cannot race: {reason}")
        racers[name] = (x, y, optimizer)
    return RaceResult(landscape, {
        name: _run(landscape, x, y, optimizer, start, int(steps), clip)
        for name, (x, y, optimizer) in racers.items()
    })


def _run(
    landscape: Landscape, x: Value, y: Value, optimizer: Any, start: tuple[float, float], steps: int,
    clip_value: float | None,
) -> Trajectory:
    """One racer: `steps` steps of its optimizer on x and y, stopping early if it blows up."""
    low_x, high_x, low_y, high_y = escape_box(landscape)
    shown_at_average = isinstance(optimizer, optim.schedulefree.ScheduleFree)
    points = [start]
    losses = []
    diverged = False

    def closure() -> Value:  # L-BFGS's line search calls it as often as it needs
        optimizer.zero_grad()
        loss = landscape(x, y)
        loss.backward()
        if clip_value is not None:
            optim.clip_grad_value([x, y], clip_value)
        return loss

    for _ in range(steps):
        if isinstance(optimizer, optim.LBFGS):
            losses.append(float(landscape(*points[-1])))
            optimizer.step(closure)
        else:
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
    setting to start from), ScheduleFreeSGD (momentum 0.9), ScheduleFreeAdamW, Adagrad, AdamW,
    NAdam, RAdam and Lion (their defaults), Nesterov (momentum 0.9) and L-BFGS (one iteration a
    step, strong Wolfe line search). Racers come in the order of `ALL_RACERS`; a name of
    `CANNOT_RACE` is a ValueError that says why.
    """
    rates = racer_rates({name: lr for name in RACER_NAMES} if not isinstance(lr, Mapping) else lr)
    makers = {
        "SGD": lambda params, rate: optim.SGD(params, lr=rate),
        "Momentum": lambda params, rate: optim.SGD(params, lr=rate, momentum=0.9),
        "RMSProp": lambda params, rate: optim.RMSProp(params, lr=rate, alpha=0.9),
        "Adam": lambda params, rate: optim.Adam(params, lr=rate),
        "Prodigy": lambda params, rate: optim.Prodigy(params, lr=rate),
        "ScheduleFreeSGD": lambda params, rate: optim.ScheduleFreeSGD(params, lr=rate),
        "ScheduleFreeAdamW": lambda params, rate: optim.ScheduleFreeAdamW(params, lr=rate),
        "Nesterov": lambda params, rate: optim.SGD(params, lr=rate, momentum=0.9, nesterov=True),
        "Adagrad": lambda params, rate: optim.Adagrad(params, lr=rate),
        "AdamW": lambda params, rate: optim.AdamW(params, lr=rate),
        "NAdam": lambda params, rate: optim.NAdam(params, lr=rate),
        "RAdam": lambda params, rate: optim.RAdam(params, lr=rate),
        "Lion": lambda params, rate: optim.Lion(params, lr=rate),
        # one iteration a step, with the line search's own budget (max_iter=1 alone would leave
        # it max_eval = 1 evaluation, already spent, as in PyTorch: the racer would never move)
        "L-BFGS": lambda params, rate: optim.LBFGS(
            params, lr=rate, max_iter=1, max_eval=26, line_search_fn="strong_wolfe"),
    }
    return {
        name: (lambda params, make=makers[name], rate=rates[name]: make(params, rate))
        for name in ALL_RACERS
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
