"""The post's experiments, run through `race`, beside the numbers the post printed.

"Optimizers from Scratch" prints the output of three experiments. Its bowl matches
what its code does; its ravine and its showdown do not. Here each experiment is run
for real, on the project's engine and optimizers (whose steps equal the post's NumPy
code: tests/test_race.py checks that), and shown next to the printed numbers.

The post's lesson is that adaptive methods win where one learning rate cannot serve
both directions. `tuned_race` gives every racer its best learning rate from one grid
so the lesson can be tested fairly: it holds on the ravine within the post's 30-step
budget (`honest_configuration`), not on the showdown surface.
"""

from __future__ import annotations

from collections.abc import Sequence

from tinygrad_opt.race import RACER_NAMES, Trajectory, race, standard_racers

__all__ = [
    "POST_BOWL", "POST_RAVINE", "POST_SHOWDOWN", "SHOWDOWN_RATES", "LR_GRID",
    "bowl", "ravine", "showdown", "tuned_race", "honest_configuration", "report",
]

# ------------------------------------------------ what the post printed (its comments)
# step -> ((x, y), loss)
POST_BOWL = {
    0: ((4.000, 3.000), 25.0000),
    1: ((3.200, 2.400), 16.0000),
    2: ((2.560, 1.920), 10.2400),
    14: ((0.176, 0.132), 0.0484),
}
POST_RAVINE = {
    "SGD": {
        0: ((1.0000, 8.0000), 114.0000),
        5: ((0.0000, 7.2384), 52.3944),
        10: ((-0.0000, 6.5434), 42.8159),
        15: ((0.0000, 5.9149), 34.9864),
        20: ((-0.0000, 5.3478), 28.5988),
        25: ((0.0000, 4.8357), 23.3838),
    },
    "Momentum": {
        0: ((1.0000, 8.0000), 114.0000),
        5: ((0.0035, 5.6498), 32.4208),
        10: ((-0.0001, 3.3082), 10.9445),
        15: ((0.0000, 1.7468), 3.0514),
        20: ((-0.0000, 0.8134), 0.6616),
        25: ((0.0000, 0.3237), 0.1048),
    },
}
# racer -> (final loss, (x, y)) after 200 steps
POST_SHOWDOWN = {
    "SGD": (12.690121, (0.6856, 2.9379)),
    "Momentum": (0.481937, (1.6862, 0.8754)),
    "RMSProp": (0.002648, (2.8614, 0.5138)),
    "Adam": (0.000001, (2.9998, 0.5001)),
}

# ------------------------------------------------------------ the post's configurations
BOWL_START, BOWL_LR, BOWL_STEPS = (4.0, 3.0), 0.1, 15
RAVINE_START, RAVINE_LR, RAVINE_STEPS = (1.0, 8.0), 0.01, 30
SHOWDOWN_START, SHOWDOWN_STEPS, SHOWDOWN_CLIP = (0.5, 3.5), 200, 10.0
SHOWDOWN_RATES = {"SGD": 0.0005, "Momentum": 0.0005, "RMSProp": 0.005, "Adam": 0.01}

# Learning rates tried by `tuned_race`: 4 per decade from 1e-4 to 1.
LR_GRID = tuple(float(f"{10 ** (k / 4):.3g}") for k in range(-16, 1))


def bowl() -> Trajectory:
    """SGD, lr 0.1, on x² + y² from (4, 3) for 15 steps."""
    return race("bowl", standard_racers({"SGD": BOWL_LR}), start=BOWL_START, steps=BOWL_STEPS)["SGD"]


def ravine() -> dict[str, Trajectory]:
    """SGD and Momentum (beta 0.9), both lr 0.01, on 50x² + y² from (1, 8) for 30 steps."""
    rates = {"SGD": RAVINE_LR, "Momentum": RAVINE_LR}
    return race("ravine", standard_racers(rates), start=RAVINE_START, steps=RAVINE_STEPS)


def showdown() -> dict[str, Trajectory]:
    """The four racers on the Beale-like surface from (0.5, 3.5), 200 steps, gradients clipped to 10."""
    return race("beale_like", standard_racers(SHOWDOWN_RATES), start=SHOWDOWN_START,
                steps=SHOWDOWN_STEPS, clip_value=SHOWDOWN_CLIP)


def tuned_race(
    landscape: str,
    start: Sequence[float],
    steps: int,
    clip_value: float | None = None,
    grid: Sequence[float] = LR_GRID,
) -> dict[str, tuple[float, Trajectory]]:
    """Each racer at its own best learning rate from `grid`: name -> (lr, trajectory).

    Best means the lowest final loss among runs that did not diverge; a racer that
    diverges at every rate is left out.
    """
    best: dict[str, tuple[float, Trajectory]] = {}
    for lr in grid:
        results = race(landscape, standard_racers(lr), start=start, steps=steps, clip_value=clip_value)
        for name, trajectory in results.items():
            if trajectory.diverged:
                continue
            if name not in best or trajectory.final_loss < best[name][1].final_loss:
                best[name] = (lr, trajectory)
    return {name: best[name] for name in RACER_NAMES if name in best}


def honest_configuration() -> dict[str, tuple[float, Trajectory]]:
    """Where the lesson holds: the ravine from (1, 8), 30 steps, each racer at its best learning rate."""
    return tuned_race("ravine", RAVINE_START, RAVINE_STEPS)


# --------------------------------------------------------------------------- report
def _position(x: float, y: float, width: int, decimals: int = 4) -> str:
    return f"({x:{width}.{decimals}f}, {y:{width}.{decimals}f})"


def _bowl_report() -> list[str]:
    trajectory = bowl()
    lines = ["The bowl: SGD, lr 0.1, from (4, 3)",
             f"{'step':>4}  {'post: position':<20} {'loss':>9}   {'real: position':<20} {'loss':>9}"]
    for step, ((px, py), post_loss) in POST_BOWL.items():
        x, y = trajectory.points[step]
        lines.append(f"{step:4d}  {_position(px, py, 6, 3):<20} {post_loss:9.4f}   "
                     f"{_position(x, y, 6, 3):<20} {trajectory.losses[step]:9.4f}")
    return lines


def _ravine_report() -> list[str]:
    results = ravine()
    lines = []
    for name, printed in POST_RAVINE.items():
        trajectory = results[name]
        lines += [f"The ravine: {name}, lr 0.01{', beta 0.9' if name == 'Momentum' else ''}, from (1, 8)",
                  f"{'step':>4}  {'post: position':<20} {'loss':>9}   {'real: position':<20} {'loss':>9}"]
        for step, ((px, py), post_loss) in printed.items():
            x, y = trajectory.points[step]
            lines.append(f"{step:4d}  {_position(px, py, 7):<20} {post_loss:9.4f}   "
                         f"{_position(x, y, 7):<20} {trajectory.losses[step]:9.4f}")
        lines.append("")
    return lines[:-1]


def _showdown_report() -> list[str]:
    results = showdown()
    lines = ["The showdown: Beale-like surface from (0.5, 3.5), 200 steps, gradients clipped to 10",
             f"{'Optimizer':<10} {'post: loss':>12} {'position':>18}   {'real: loss':>12} {'position':>18}"]
    for name, (post_loss, (px, py)) in POST_SHOWDOWN.items():
        trajectory = results[name]
        x, y = trajectory.final_point
        lines.append(f"{name:<10} {post_loss:12.6f} {_position(px, py, 7):>18}   "
                     f"{trajectory.final_loss:12.6f} {_position(x, y, 7):>18}")
    return lines


def _tuned_report(title: str, results: dict[str, tuple[float, Trajectory]]) -> list[str]:
    lines = [title, f"{'Optimizer':<10} {'best lr':>8} {'final loss':>12} {'position':>20}"]
    for name, (lr, trajectory) in sorted(results.items(), key=lambda item: item[1][1].final_loss):
        x, y = trajectory.final_point
        lines.append(f"{name:<10} {lr:8.3g} {trajectory.final_loss:12.6g} {_position(x, y, 8):>20}")
    return lines


def report(tuned: bool = True) -> str:
    """Each experiment of the post, its printed numbers beside the real ones: `tinygrad-opt post`."""
    sections = [_bowl_report(), _ravine_report(), _showdown_report()]
    if tuned:
        sections.append(_tuned_report(
            "Where the lesson holds: the ravine from (1, 8), 30 steps, each racer at its best lr "
            "(grid 1e-4..1, 4 per decade)", honest_configuration()))
        sections.append(_tuned_report(
            "Where it does not: the showdown (0.5, 3.5), 200 steps, clip 10, each racer at its best lr",
            tuned_race("beale_like", SHOWDOWN_START, SHOWDOWN_STEPS, clip_value=SHOWDOWN_CLIP)))
    return "\n\n".join("\n".join(section) for section in sections)
