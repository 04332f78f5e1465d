"""Learning-rate schedules: plain functions `step -> lr`, to pass as an optimizer's `lr`.

    opt = optim.AdamW(params, lr=schedules.warmup_cosine(3e-4, warmup_steps=100, total_steps=5000))

Step 0 is the first update: the optimizer calls `schedule(group["step"])` before
each update. Where PyTorch has an equivalent scheduler the values are the same
(PyTorch's scheduler `.step()` count is our step), except where a docstring says
otherwise. Schedules compose: `join` runs one after another, and any function of
the step is a schedule, e.g. `lambda step: 0.5 * cosine(1e-3, 1000)(step)`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from tinygrad_opt.optim.optimizer import check_number

Schedule = Callable[[int], float]


def _check_steps(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"Invalid {name}: {value!r} (expected a whole number of steps >= 1)")
    return value


def constant(value: float) -> Schedule:
    """lr(step) = value."""
    value = check_number("learning rate", value)
    return lambda step: value


def step_decay(initial: float, step_size: int, gamma: float = 0.1) -> Schedule:
    """lr(step) = initial * gamma ** (step // step_size): drop by gamma every step_size steps.

    PyTorch: StepLR(step_size, gamma).
    """
    initial = check_number("initial learning rate", initial)
    step_size = _check_steps("step_size", step_size)
    gamma = check_number("gamma", gamma)
    return lambda step: initial * gamma ** (step // step_size)


def exponential(initial: float, gamma: float) -> Schedule:
    """lr(step) = initial * gamma ** step.  PyTorch: ExponentialLR(gamma)."""
    initial = check_number("initial learning rate", initial)
    gamma = check_number("gamma", gamma)
    return lambda step: initial * gamma**step


def cosine(initial: float, total_steps: int, floor: float = 0.0) -> Schedule:
    """Half a cosine from `initial` down to `floor` over `total_steps`, then `floor`.

        lr(step) = floor + (initial - floor) * (1 + cos(pi * min(step, T) / T)) / 2,   T = total_steps

    Loshchilov & Hutter (2017), "SGDR: Stochastic Gradient Descent with Warm
    Restarts" (one cycle, no restart). PyTorch: CosineAnnealingLR(T_max=T,
    eta_min=floor) for step <= T; after T PyTorch's curve rises again (a cosine
    continued), this one stays at the floor, as optax's cosine_decay_schedule does.
    """
    initial = check_number("initial learning rate", initial)
    total_steps = _check_steps("total_steps", total_steps)
    floor = check_number("floor", floor)

    def schedule(step: int) -> float:
        progress = min(step, total_steps) / total_steps
        return floor + (initial - floor) * (1 + math.cos(math.pi * progress)) / 2

    return schedule


def linear_warmup(peak: float, warmup_steps: int, start: float = 0.0) -> Schedule:
    """A straight line from `start` to `peak` over `warmup_steps`, then `peak`.

        lr(step) = start + (peak - start) * min(step, W) / W,   W = warmup_steps

    PyTorch: LinearLR(start_factor=start/peak, end_factor=1, total_iters=W) on an
    optimizer with lr=peak; optax: linear_schedule. With start=0 the first update
    (step 0) uses lr 0 and changes nothing; pass a small `start` to make it count.
    """
    peak = check_number("peak learning rate", peak)
    warmup_steps = _check_steps("warmup_steps", warmup_steps)
    start = check_number("start", start)
    return lambda step: start + (peak - start) * min(step, warmup_steps) / warmup_steps


def join(schedules: Sequence[Schedule], boundaries: Sequence[int]) -> Schedule:
    """Run `schedules[0]` until step `boundaries[0]`, then `schedules[1]`, and so on.

    Each schedule sees its own step count, starting at 0 at its boundary (as optax's
    join_schedules): `join([warmup, decay], [100])(130)` is `decay(30)`. PyTorch's
    SequentialLR is the same idea for scheduler objects.
    """
    schedules, boundaries = list(schedules), list(boundaries)
    if len(boundaries) != len(schedules) - 1:
        raise ValueError(f"join needs one boundary fewer than schedules: got {len(schedules)} schedules "
                         f"and boundaries {boundaries}")
    if any(not isinstance(b, int) or b < 0 for b in boundaries) or boundaries != sorted(boundaries):
        raise ValueError(f"Invalid boundaries: {boundaries} (expected increasing whole numbers >= 0)")

    def schedule(step: int) -> float:
        start = 0
        for boundary, part in zip(boundaries, schedules, strict=False):
            if step < boundary:
                return part(step - start)
            start = boundary
        return schedules[-1](step - start)

    return schedule


def warmup_cosine(peak: float, warmup_steps: int, total_steps: int, floor: float = 0.0,
                  start: float = 0.0) -> Schedule:
    """Linear warmup from `start` to `peak` over `warmup_steps`, then cosine decay to `floor`
    at `total_steps` (counted from step 0), then `floor`: the transformer recipe (nanoGPT).

    Composed as join([linear_warmup, cosine], [warmup_steps]). optax:
    warmup_cosine_decay_schedule(start, peak, warmup_steps, decay_steps=total_steps, end_value=floor).
    """
    total_steps = _check_steps("total_steps", total_steps)
    if not isinstance(warmup_steps, int) or not 0 < warmup_steps < total_steps:
        raise ValueError(f"Invalid warmup_steps: {warmup_steps!r} (expected 0 < warmup_steps < total_steps)")
    return join([linear_warmup(peak, warmup_steps, start), cosine(peak, total_steps - warmup_steps, floor)],
                [warmup_steps])


def one_cycle(max_lr: float, total_steps: int, pct_start: float = 0.3, div_factor: float = 25.0,
              final_div_factor: float = 1e4) -> Schedule:
    """Smith's one-cycle policy: cosine up from max_lr/div_factor to max_lr over the first
    `pct_start` of the steps, then cosine down to max_lr/(div_factor*final_div_factor)
    at the last step.

    Smith & Topin (2017), "Super-Convergence". PyTorch: OneCycleLR(max_lr, total_steps,
    pct_start, anneal_strategy="cos", div_factor, final_div_factor), the same values
    for steps 0 .. total_steps - 1. PyTorch also cycles the momentum (inversely);
    this schedule is only the learning rate. After the last step it stays at the end.
    """
    max_lr = check_number("max_lr", max_lr)
    total_steps = _check_steps("total_steps", total_steps)
    pct_start = check_number("pct_start", pct_start, 0.0, 1.0, high_inclusive=True)
    div_factor = check_number("div_factor", div_factor)
    final_div_factor = check_number("final_div_factor", final_div_factor)
    initial = max_lr / div_factor
    final = initial / final_div_factor
    peak_step = pct_start * total_steps - 1  # PyTorch's phase boundary (may be fractional)
    last_step = total_steps - 1
    if not 0 < peak_step < last_step:
        raise ValueError(f"one_cycle with total_steps={total_steps} and pct_start={pct_start} has no room "
                         "for both phases")

    def anneal(start: float, end: float, fraction: float) -> float:
        return end + (start - end) / 2 * (1 + math.cos(math.pi * fraction))

    def schedule(step: int) -> float:
        if step <= peak_step:
            return anneal(initial, max_lr, step / peak_step)
        return anneal(max_lr, final, min(step - peak_step, last_step - peak_step) / (last_step - peak_step))

    return schedule


def cyclical(base_lr: float, max_lr: float, step_size_up: int, step_size_down: int | None = None) -> Schedule:
    """The triangular cyclical schedule: up from base_lr to max_lr in `step_size_up` steps,
    back down in `step_size_down` (default the same), and again.

    Smith (2017), "Cyclical Learning Rates for Training Neural Networks".
    PyTorch: CyclicLR(base_lr, max_lr, step_size_up, step_size_down, mode="triangular")
    (which also cycles momentum by default; this is only the learning rate).
    """
    base_lr = check_number("base_lr", base_lr)
    max_lr = check_number("max_lr", max_lr)
    step_size_up = _check_steps("step_size_up", step_size_up)
    if step_size_down is None:
        step_size_down = step_size_up
    step_size_down = _check_steps("step_size_down", step_size_down)
    cycle = step_size_up + step_size_down

    def schedule(step: int) -> float:
        position = step % cycle
        if position <= step_size_up:
            height = position / step_size_up
        else:
            height = 1 - (position - step_size_up) / step_size_down
        return base_lr + (max_lr - base_lr) * height

    return schedule


class ReduceOnPlateau:
    """A learning rate that drops by `factor` when a metric stops improving.

    Feed it the metric (e.g. the validation loss once an epoch) with `update(metric)`;
    the optimizer reads it like any schedule (`lr=plateau`; the step is ignored):

        plateau = schedules.ReduceOnPlateau(0.1, patience=5)
        opt = optim.SGD(params, lr=plateau)
        ... each epoch: plateau.update(validation_loss)

    A metric is an improvement if it beats the best so far by `threshold` (relative:
    below best * (1 - threshold) in "min" mode; absolute: below best - threshold).
    After more than `patience` updates without improvement the rate becomes
    max(lr * factor, min_lr) (if that changes it by more than `eps`), and the next
    `cooldown` updates do not count.

    PyTorch: ReduceLROnPlateau with the same arguments and the same decisions.
    """

    def __init__(self, initial: float, factor: float = 0.1, patience: int = 10, threshold: float = 1e-4,
                 threshold_mode: str = "rel", cooldown: int = 0, min_lr: float = 0.0, mode: str = "min",
                 eps: float = 1e-8) -> None:
        self.lr = check_number("initial learning rate", initial)
        self.factor = check_number("factor", factor, 0.0, 1.0)
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0:
            raise ValueError(f"Invalid patience: {patience!r} (expected a whole number >= 0)")
        if isinstance(cooldown, bool) or not isinstance(cooldown, int) or cooldown < 0:
            raise ValueError(f"Invalid cooldown: {cooldown!r} (expected a whole number >= 0)")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"Invalid threshold_mode: {threshold_mode!r} (expected 'rel' or 'abs')")
        if mode not in ("min", "max"):
            raise ValueError(f"Invalid mode: {mode!r} (expected 'min' or 'max')")
        self.patience, self.cooldown = patience, cooldown
        self.mode, self.threshold_mode = mode, threshold_mode
        self.eps = check_number("eps", eps)
        self.threshold = check_number("threshold", threshold)
        self.min_lr = check_number("min_lr", min_lr)
        self.best = math.inf if mode == "min" else -math.inf
        self.bad_updates = 0  # updates since the last improvement
        self.cooldown_left = 0

    def __call__(self, step: int) -> float:
        return self.lr

    def _improves(self, metric: float) -> bool:
        if self.threshold_mode == "rel":  # PyTorch's comparisons, exactly (also for negative metrics)
            if self.mode == "min":
                return metric < self.best * (1 - self.threshold)
            return metric > self.best * (1 + self.threshold)
        if self.mode == "min":
            return metric < self.best - self.threshold
        return metric > self.best + self.threshold

    def update(self, metric: float) -> float:
        """Record one value of the metric; return the learning rate from now on."""
        metric = float(metric)
        if self._improves(metric):
            self.best, self.bad_updates = metric, 0
        else:
            self.bad_updates += 1
        if self.cooldown_left > 0:
            self.cooldown_left -= 1
            self.bad_updates = 0  # updates during cooldown do not count
        if self.bad_updates > self.patience:
            reduced = max(self.lr * self.factor, self.min_lr)
            if self.lr - reduced > self.eps:  # already at min_lr: nothing changes
                self.lr = reduced
            self.cooldown_left, self.bad_updates = self.cooldown, 0
        return self.lr

    def state_dict(self) -> dict[str, Any]:
        return dict(vars(self))

    def load_state_dict(self, state: dict[str, Any]) -> None:
        vars(self).update(state)
